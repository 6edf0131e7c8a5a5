"""Command-line arguments of ``actor_system.py``."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from settings.overrides import Overrides


@dataclass(frozen=True, slots=True)
class CommandLine:
    conf: str
    overrides: Overrides
    port: int | None
    status_file: str | None
    stop_deadline_s: float


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_args(argv: list[str] | None = None) -> CommandLine:
    parser = argparse.ArgumentParser(
        prog="actor_system.py",
        description="krwfeed: stream Upbit and Bithumb trades and orderbooks into Kafka as Protobuf.")
    parser.add_argument("--conf", required=True, help="YAML settings file, e.g. conf/prod.yaml")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                        type=str.upper, help="overrides log.level")
    parser.add_argument("--markets", type=_csv, default=(),
                        help="comma-separated codes for every exchange (KRW-BTC,KRW-ETH) or one "
                             "exchange (upbit:KRW-BTC); replaces the configured lists")
    parser.add_argument("--kafka-bootstrap", type=_csv, default=(),
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
                            admin_port=args.admin_port, web_host=args.web_host),
        port=args.port,
        status_file=args.status_file,
        stop_deadline_s=args.stop_deadline,
    )
