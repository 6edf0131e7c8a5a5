"""Fault suite fixtures: a broker of the suite's own (it is killed and paused), one krwfeed + simulator
rig per scenario, and the per-scenario accounting table: printed and written to a temporary directory,
and to bench/results/faults.txt only under ``pytest --update-results`` (``make results``).

Environment:
    KRWFEED_FAULTS_KAFKA_PORT  the suite's broker port (default 39094); started and stopped by the
                               suite unless already running
    KRWFEED_FAULTS_FULL=1      full-length faults (30 s simulator outage, longer streams) instead
                               of the CI lengths
"""
from __future__ import annotations

import contextlib
import itertools
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.accounting import Account, format_table, table_rows
from tests.faults.rig import Rig
from tests.support.kafka_broker import LocalBroker, missing_prerequisite, unavailable
from tests.support.results import artefact_path

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = REPO_ROOT / "bench" / "results" / "faults.txt"
FULL = os.environ.get("KRWFEED_FAULTS_FULL") == "1"
ADMIN_PORTS = range(20010, 20099)
_ports = itertools.count()


def seconds(ci: float, full: float) -> float:
    """A fault's length: short in CI, the issue's full length under KRWFEED_FAULTS_FULL=1."""
    return full if FULL else ci


def start_broker(broker: LocalBroker, attempts: int = 5) -> None:
    """Start (again) after a kill. The suite's ports lie in Linux's ephemeral range, so a client that
    keeps reconnecting to the dead broker's port can briefly hold it as its own local port (a TCP
    self-connection) and the broker fails to bind: try again a few times."""
    for attempt in range(attempts):
        try:
            broker.start()
            return
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            time.sleep(1.0 + attempt)


@pytest.fixture(scope="session")
def faults_broker() -> Iterator[LocalBroker]:
    problem = missing_prerequisite()
    if problem:
        unavailable(f"no Kafka broker: {problem}")
    broker = LocalBroker(int(os.environ.get("KRWFEED_FAULTS_KAFKA_PORT", "39094")))
    started = not broker.is_running()
    if started:
        start_broker(broker)
    yield broker
    if started:
        with contextlib.suppress(Exception):
            broker.run("resume")
        broker.stop()


@pytest.fixture(autouse=True)
def _broker_back_in_shape(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a scenario did to the broker, the next one finds it running and resumed."""
    yield
    if "faults_broker" in request.fixturenames:
        broker: LocalBroker = request.getfixturevalue("faults_broker")
        broker.run("resume")
        if not broker.is_running():
            start_broker(broker)


class ResultTable:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, scenario: str, accounts: list[Account]) -> str:
        rows = table_rows(scenario, accounts)
        self.rows += rows
        return format_table(rows)


@pytest.fixture(scope="session")
def fault_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResultTable]:
    table = ResultTable()
    yield table
    if table.rows:
        text = format_table(table.rows)
        out = artefact_path(request.config, RESULTS, tmp_path_factory.mktemp("fault-results"))
        mode = "full" if FULL else "CI"
        out.write_text(f"python -m pytest -m faults tests/faults ({mode} lengths)\n\n{text}")
        print(f"\n{text}\n(table written to {out})")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def rig_factory(faults_broker: LocalBroker, tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(**options: Any) -> Rig:
        for _ in ADMIN_PORTS:
            port = ADMIN_PORTS[next(_ports) % len(ADMIN_PORTS)]
            if _free(port):
                break
        rig = Rig(faults_broker.bootstrap, tmp_path / f"rig{len(rigs)}", port, **options)
        rigs.append(rig)
        return rig

    yield make
    leftovers = {}
    for rig in rigs:
        killed = rig.close()
        if killed:
            leftovers[rig.prefix] = killed
    assert not leftovers, f"krwfeed processes left behind: {leftovers}"
