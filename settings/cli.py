"""Command-line arguments of ``actor_system.py``. A bad value exits 2 with one line naming the option:
argparse reports what it checks itself (types, choices, unreadable files); every other value is an
override of a setting and is validated with the settings (``settings.overrides.option_of`` names the
option in that error)."""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from settings.overrides import Overrides


@dataclass(frozen=True, slots=True)
class CommandLine:
    conf: str
    overrides: Overrides
    port: int | None
    status_file: str | None
    stop_deadline_s: float


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the whole usage block first; one line that names the option is clearer.
        self.exit(2, f"krwfeed: {message} (see {self.prog} --help)\n")


def _csv(example: str) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        parts = tuple(part.strip() for part in text.split(",") if part.strip())
        if not parts:  # an empty list would otherwise be taken as "not given" and silently ignored
            raise argparse.ArgumentTypeError(f"a comma-separated list such as {example}, got {text!r}")
        return parts
    return parse


def _readable_file(text: str) -> str:
    if not os.path.isfile(text) or not os.access(text, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not a readable file")
    return text


def parse_args(argv: list[str] | None = None) -> CommandLine:
    parser = _OneLineParser(
        prog="actor_system.py",
        description="krwfeed: stream Upbit and Bithumb trades and orderbooks into Kafka as Protobuf.")
    parser.add_argument("--conf", required=True, type=_readable_file,
                        help="YAML settings file, e.g. conf/prod.yaml")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                        type=str.upper, help="overrides log.level")
    parser.add_argument("--markets", type=_csv("KRW-BTC,KRW-ETH"), default=(),
                        help="comma-separated codes for every exchange (KRW-BTC,KRW-ETH) or one "
                             "exchange (upbit:KRW-BTC); replaces the configured lists")
    parser.add_argument("--kafka-bootstrap", type=_csv("kafka1:9092,kafka2:9092"), default=(),
                        help="comma-separated host:port list; overrides kafka.bootstrap_servers")
    parser.add_argument("--port", type=int, help="web port (default: $PORT, then web.port)")
    parser.add_argument("--web-host", help="web interface address; overrides web.host (default 127.0.0.1)")
    parser.add_argument("--admin-port", type=int, help="Thespian admin port; overrides admin_port")
    parser.add_argument("--status-file", help="write the status snapshot as JSON to this file twice a second")
    parser.add_argument("--stop-deadline", type=float, default=6.0,
                        help="seconds the graceful stop may take before the actor system is shut down")
    args = parser.parse_args(argv)
    return CommandLine(
        conf=args.conf,
        overrides=Overrides(markets=args.markets, kafka_bootstrap=args.kafka_bootstrap, log_level=args.log_level,
                            web_port=args.port, admin_port=args.admin_port, web_host=args.web_host),
        port=args.port,
        status_file=args.status_file,
        stop_deadline_s=args.stop_deadline,
    )
