"""krwfeed's composition root: ``python actor_system.py --conf conf/prod.yaml``.

Order matters here (see the Thespian notes): settings are validated first (exit 2 with one clear
message); the Prometheus multiprocess directory is exported before prometheus_client is imported
anywhere; a leftover actor system on the admin port is shut down; the actor system is started
before any thread exists (it forks); then the supervisor, then the web server thread.
SIGTERM/SIGINT stop the service gracefully (connectors, buffer drain, producer flush) and exit 0;
a fatal error (Kafka failing N times in a row) exits 1 so the platform restarts the service.
"""
from __future__ import annotations

import json
import logging
import logging.config
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from typing import Any

from settings.cli import CommandLine, parse_args
from settings.errors import SettingsError
from settings.loader import load_settings
from settings.logging_setup import build_log_defs, main_process_log_defs
from settings.process_env import (
    kafka_reachable,
    prepare_metrics_dir,
    route_thespian_log,
    shutdown_leftover_system,
)
from settings.secrets import kafka_secret_values

EXIT_OK, EXIT_FATAL, EXIT_CONFIG = 0, 1, 2
log = logging.getLogger("krwfeed.main")  # the main process is not an actor: a module logger is fine


class Service:
    def __init__(self, cli: CommandLine, settings: Any) -> None:
        self.cli, self.settings = cli, settings
        self.stop_requested = threading.Event()
        self.fatal = ""
        self.asys: Any = None
        self.supervisor: Any = None
        self.server: Any = None
        self.metrics_dir = prepare_metrics_dir(settings.admin_port)
        route_thespian_log(settings.admin_port)

    def run(self) -> int:
        from thespian.actors import ActorSystem

        from actors.supervisor import GLOBAL_NAME, Supervisor
        from messages.protocol import ServiceStarted, StartService

        secrets = kafka_secret_values(self.settings.kafka)
        log_defs = build_log_defs(self.settings.log, secrets)
        if shutdown_leftover_system(self.settings.admin_port):
            print(f"krwfeed: shut down a leftover actor system on admin port {self.settings.admin_port}",
                  file=sys.stderr)
        self.asys = ActorSystem("multiprocTCPBase", {"Admin Port": self.settings.admin_port}, logDefs=log_defs)
        try:
            logging.config.dictConfig(main_process_log_defs(log_defs))
            self._install_signals()
            self.supervisor = self.asys.createActor(Supervisor, globalName=GLOBAL_NAME)
            started = self.asys.ask(self.supervisor, StartService(self.settings), 10)
            if not isinstance(started, ServiceStarted):
                log.error("the supervisor did not start the service: %r", started)
                return EXIT_FATAL
            log.info("krwfeed started: %d connections, admin port %d, metrics in %s",
                     len(started.connections), self.settings.admin_port, self.metrics_dir)
            self._start_web()
            self._wait()
            return self._stop()
        finally:
            self._close()

    def _install_signals(self) -> None:
        def on_signal(signum: int, _frame: Any) -> None:
            self.stop_requested.set()  # a second signal changes nothing

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def status(self, timeout_s: float = 2.0) -> Any:
        """Thread-safe: each call asks through a private endpoint (the shared one is not)."""
        from messages.protocol import StatusQuery, StatusSnapshot

        with self.asys.private() as endpoint:
            reply = endpoint.ask(self.supervisor, StatusQuery(), timeout_s)
        return reply if isinstance(reply, StatusSnapshot) else None

    def _start_web(self) -> None:
        try:
            from web.app import create_app
        except ImportError as exc:
            log.warning("web interface unavailable (%s); running without it", exc)
            return
        from werkzeug.serving import make_server

        app = create_app(self.status, settings=self.settings, metrics_dir=self.metrics_dir,
                         kafka_probe=lambda: kafka_reachable(self.settings.kafka.bootstrap_servers))
        port = self.cli.port or int(os.environ.get("PORT") or self.settings.web.port)
        host = self.settings.web.host if not os.environ.get("PORT") else "0.0.0.0"
        self.server = make_server(host, port, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, name="web", daemon=True).start()
        log.info("web interface on http://%s:%d/ (health /health, metrics /metrics)", host, port)

    def _wait(self) -> None:
        from messages.protocol import FatalError

        next_status = 0.0
        while not self.stop_requested.is_set():
            reply = self.asys.listen(0.25)
            if isinstance(reply, FatalError):
                self.fatal = reply.reason
                return
            if self.cli.status_file and time.monotonic() >= next_status:
                next_status = time.monotonic() + 0.5
                self._write_status()

    def _write_status(self) -> None:
        snapshot = self.status(1.0)
        if snapshot is None or not self.cli.status_file:
            return
        tmp = self.cli.status_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump({**asdict(snapshot), "fatal": self.fatal}, out, default=str)
        os.replace(tmp, self.cli.status_file)

    def _stop(self) -> int:
        from messages.protocol import FatalError, ServiceStopped, StopService

        began = time.monotonic()
        log.info("stopping (%s)", f"fatal: {self.fatal}" if self.fatal else "signal")
        deadline = self.cli.stop_deadline_s
        self.asys.tell(self.supervisor, StopService(deadline_s=deadline))
        reply: Any = None
        while time.monotonic() - began < deadline + 1.0:
            reply = self.asys.listen(max(0.05, deadline + 1.0 - (time.monotonic() - began)))
            if isinstance(reply, FatalError):
                self.fatal = self.fatal or reply.reason
            elif isinstance(reply, ServiceStopped) or reply is None:
                break
        if self.cli.status_file:
            self._write_status()
        if isinstance(reply, ServiceStopped):
            log.info("graceful stop done in %.2f s: %d published, %d left in the buffer",
                     time.monotonic() - began, reply.flushed, reply.left_in_buffer)
        else:
            log.warning("graceful stop did not finish within %.1f s; shutting down anyway", deadline + 1.0)
        return EXIT_FATAL if self.fatal else EXIT_OK

    def _close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
        if self.asys is not None:
            self.asys.shutdown()
        log.info("krwfeed exited")


def main(argv: list[str] | None = None) -> int:
    cli = parse_args(argv)
    try:
        settings = load_settings(cli.conf, cli.overrides)
    except SettingsError as exc:
        print(f"krwfeed: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return Service(cli, settings).run()


if __name__ == "__main__":
    sys.exit(main())
