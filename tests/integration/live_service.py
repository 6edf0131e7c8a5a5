"""krwfeed running for real, for the observability tests: ``python actor_system.py`` (through
tests/e2e/service_process.py) fed by the exchange simulator over WebSockets and publishing to the
real broker, with its web interface (dashboard, /health, /metrics) on a port of 18900-18999 and its
Thespian admin on 19900-19999.

``live_service(...)`` is a context manager; it stops the service (and every process it forked) and
the simulator on exit.
"""
from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.kafka_readback import create_topics
from tests.e2e.service_process import ServiceProcess, service_config
from tests.integration.tooling import free_port
from tests.support.simulator_process import SimulatorProcess, start_simulator

WEB_PORTS = (18900, 18999)
ADMIN_PORTS = (19900, 19999)
EXCHANGES = ("upbit", "bithumb")


@dataclass
class LiveService:
    simulator: SimulatorProcess
    service: ServiceProcess
    base: str  # http://127.0.0.1:<web port>
    codes: list[str]
    topic_prefix: str

    def get(self, path: str, timeout_s: float = 5.0) -> tuple[int, dict[str, str], bytes]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout_s) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def get_json(self, path: str) -> tuple[int, Any]:
        status, _, body = self.get(path)
        return status, json.loads(body)

    def wait_json(self, path: str, predicate: Any, timeout_s: float, what: str) -> tuple[int, Any]:
        """Polls ``path`` until ``predicate(status, body)`` holds."""
        deadline = time.monotonic() + timeout_s
        last: tuple[int, Any] = (0, None)
        while time.monotonic() < deadline:
            assert self.service.proc.poll() is None, f"krwfeed exited:\n{self.service.logs()[-3000:]}"
            with contextlib.suppress(OSError, ValueError):
                last = self.get_json(path)
                if predicate(*last):
                    return last
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last {path}: "
                             f"{json.dumps(last)[:2500]}\nlog tail:\n{self.service.logs()[-2000:]}")

    def published(self) -> int:
        status = self.service.status()
        return int(status["total_published"]) if status else 0


def _free_pair() -> tuple[int, int]:
    return free_port(*WEB_PORTS), free_port(*ADMIN_PORTS)


@contextlib.contextmanager
def live_service(workdir: Path, bootstrap: str, *, markets: int = 8, rate: float = 200.0,
                 per_connection: int = 4, env: dict[str, str] | None = None, wait_healthy: bool = True,
                 **config: Any) -> Iterator[LiveService]:
    """Simulator with ``markets`` markets at ``rate`` events/s per exchange, krwfeed subscribed to all
    of them on both exchanges, every connection CONNECTED (and /health 200 unless ``wait_healthy`` is
    false: a service that cannot publish is never healthy) before it yields."""
    simulator = start_simulator(market_count=markets, rate=rate, control_port=None)
    service: ServiceProcess | None = None
    try:
        _, body = simulator.get_json(f"{simulator.rest('upbit')}/v1/market/all")
        codes = [m["market"] for m in body][:markets]
        prefix = "obs-" + uuid.uuid4().hex[:10]
        create_topics(bootstrap, [f"{prefix}.{e}.{t}" for e in EXCHANGES for t in ("trade", "orderbook", "events")])
        web_port, admin_port = _free_pair()
        cfg = service_config(upbit_url=simulator.url("upbit"), bithumb_url=simulator.url("bithumb"),
                             markets=codes, bootstrap=bootstrap, admin_port=admin_port, topic_prefix=prefix,
                             markets_per_connection=per_connection, **config)
        service = ServiceProcess(cfg, workdir, web_port=web_port, env=env)
        service.wait_connected(45)
        live = LiveService(simulator, service, f"http://127.0.0.1:{web_port}", codes, prefix)
        if wait_healthy:
            live.wait_json("/health", lambda status, _: status == 200, 30, "/health 200")
        yield live
    finally:
        if service is not None:
            # Exit behaviour is asserted by the end-to-end suite; here leftovers are only removed and named.
            killed = service.cleanup()
            if killed:
                print(f"krwfeed left processes behind (killed): {killed}")
        simulator.stop()
