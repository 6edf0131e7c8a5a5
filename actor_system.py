"""krwfeed's composition root: ``python actor_system.py --conf conf/prod.yaml``.

Order matters here: settings are validated first (exit 2 with one clear message); Thespian is
patched (``prepare_thespian``: loopback binding, timer rounding) and its processes are tied to this
one (exit 2 if the installed Thespian is not the code that was checked); this instance claims its admin port and checks its web port before it
touches anything (a second instance is refused with exit 2 and leaves the first alone); the
Prometheus multiprocess directory is exported before prometheus_client is imported anywhere; an
actor system left on the admin port by a krwfeed that died is shut down; the actor system is
started before any thread exists (it forks); then the supervisor, then the web server thread.
SIGTERM/SIGINT stop the service gracefully (connectors, buffer drain, producer flush) and exit 0;
a fatal error (Kafka failing N times in a row) exits 1 so the platform restarts the service.
"""
from __future__ import annotations

import contextlib
import gc
import json
import logging
import logging.config
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from typing import Any

from actors.process_guard import guard_actor_processes, reap_children
from actors.thespian_pins import ThespianMismatch
from actors.thespian_setup import CAPABILITIES, prepare_thespian
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
from settings.secrets import kafka_secret_values, secret_values
from settings.single_instance import InstanceClaim, InstanceRefused, claim_instance

EXIT_OK, EXIT_FATAL, EXIT_CONFIG = 0, 1, 2
log = logging.getLogger("krwfeed.main")  # the main process is not an actor: a module logger is fine


def web_bind(cli: CommandLine, settings: Any) -> tuple[str, int]:
    """$PORT (Heroku, containers) or --port picks the port; the address is always web.host
    (or --web-host), so nothing listens beyond loopback unless a deployment says so."""
    env_port = os.environ.get("PORT")
    if cli.port is None and env_port and not (env_port.isdigit() and 0 < int(env_port) < 65536):
        raise SettingsError.single(settings.source, "$PORT", env_port, "a TCP port from 1 to 65535")
    return settings.web.host, cli.port or int(env_port or settings.web.port)


class Service:
    def __init__(self, cli: CommandLine, settings: Any, claim: InstanceClaim) -> None:
        self.cli, self.settings, self.claim = cli, settings, claim
        self.stop_requested = threading.Event()
        self.fatal = ""
        self.asys: Any = None
        self.supervisor: Any = None
        self.server: Any = None
        self._web_lock = threading.Lock()
        self._web_endpoint: Any = None  # the web's own endpoint to the actor system, kept open
        self._endpoints = contextlib.ExitStack()
        self.metrics_dir = prepare_metrics_dir(settings.admin_port)
        # The record channel's socket lives here; mkdtemp makes it private (0700) to this user.
        self.runtime_dir = tempfile.mkdtemp(prefix="krwfeed-")
        route_thespian_log(settings.admin_port)

    def run(self) -> int:
        from thespian.actors import ActorSystem

        from actors.buffer import BufferActor
        from actors.connector import ConnectorActor
        from actors.events_producer import EventsProducerActor
        from actors.producer import ProducerActor
        from actors.supervisor import GLOBAL_NAME, Supervisor
        from messages import ServiceStarted, StartService
        from publishers.factory import preload_client

        kafka, web = self.settings.kafka, self.settings.web
        secrets = secret_values([*kafka_secret_values(kafka), web.token.value if web.token else None])
        log_defs = build_log_defs(self.settings.log, secrets)
        if self.claim.leftover:
            shutdown_leftover_system(self.settings.admin_port, CAPABILITIES)
            print(f"krwfeed: shut down the actor system a previous krwfeed left on admin port "
                  f"{self.settings.admin_port}", file=sys.stderr)
        # Every actor process is forked from this one. What is loaded now is shared with all of them
        # (copy-on-write), and frozen out of the garbage collector, whose passes would otherwise
        # write to every object's header and so copy the pages of all of it into each process.
        preload_client(kafka.client)
        gc.freeze()
        self.asys = ActorSystem("multiprocTCPBase", {**CAPABILITIES, "Admin Port": self.settings.admin_port},
                                logDefs=log_defs)
        try:
            logging.config.dictConfig(main_process_log_defs(log_defs))
            self._install_signals()
            self.supervisor = self.asys.createActor(Supervisor, globalName=GLOBAL_NAME)
            started = self.asys.ask(self.supervisor, StartService(
                self.settings, self.runtime_dir,
                {"connector": ConnectorActor, "buffer": BufferActor, "producer": ProducerActor,
                 "events": EventsProducerActor}), 10)
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
        from messages import StatusQuery, StatusSnapshot

        with self.asys.private() as endpoint:
            reply = endpoint.ask(self.supervisor, StatusQuery(), timeout_s)
        return reply if isinstance(reply, StatusSnapshot) else None

    def web_status(self, timeout_s: float = 2.0) -> Any:
        """The web's status query, through one endpoint kept open: opening one per query (as
        ``status`` does) costs a new listening socket here and a new connection from the
        supervisor each time. A reply older than the question (one that came after an earlier
        ask timed out) is skipped."""
        from messages import StatusQuery, StatusSnapshot

        with self._web_lock:
            if self._web_endpoint is None:
                self._web_endpoint = self._endpoints.enter_context(self.asys.private())
            asked_us = time.time_ns() // 1000
            reply = self._web_endpoint.ask(self.supervisor, StatusQuery(), timeout_s)
            while isinstance(reply, StatusSnapshot) and reply.now_us < asked_us:
                reply = self._web_endpoint.listen(timeout_s)
        return reply if isinstance(reply, StatusSnapshot) else None

    def _start_web(self) -> None:
        try:
            from web.app import create_app
        except ImportError as exc:
            log.warning("web interface unavailable (%s); running without it", exc)
            return
        from web.server import WebServer

        app = create_app(self.web_status, settings=self.settings, metrics_dir=self.metrics_dir,
                         kafka_probe=lambda: kafka_reachable(self.settings.kafka.bootstrap_servers))
        host, port = web_bind(self.cli, self.settings)
        self.server = WebServer(app, host, port)
        self.server.start()
        web = self.settings.web
        guarded = {"dashboard": "the dashboard and /api/status", "all": "every endpoint"}[web.auth_scope]
        log.info("web interface on http://%s:%d/ (health /health, metrics /metrics; %s)", host, port,
                 f"token required for {guarded}" if web.token else "no token required")
        if web.token is None and host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("the dashboard and /api/status are open to anyone who reaches %s:%d; set "
                        "KRWFEED_WEB_TOKEN to require a token", host, port)

    def _wait(self) -> None:
        from messages import FatalError

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
        from messages import FatalError, ServiceStopped, StopService

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
            self.server.stop()
        with self._web_lock:
            self._endpoints.close()
        if self.asys is not None:
            self.asys.shutdown()
        reap_children()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
        log.info("krwfeed exited")


def main(argv: list[str] | None = None) -> int:
    cli = parse_args(argv)
    try:
        settings = load_settings(cli.conf, cli.overrides)
    except SettingsError as exc:
        print(f"krwfeed: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        prepare_thespian()
        guard_actor_processes()
        claim = claim_instance(settings.admin_port, web_bind(cli, settings))
    except (SettingsError, ThespianMismatch, InstanceRefused) as exc:
        print(f"krwfeed: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return Service(cli, settings, claim).run()
    finally:
        claim.release()


if __name__ == "__main__":
    sys.exit(main())
