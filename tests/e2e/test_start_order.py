"""Start order (seed S3.1-a) on the service as it runs: the connectors initialise first, and the
publishing side (the Kafka producers) starts only after every one of them has. Read from the
service's own log lines, each stamped with its UTC time by the process that wrote it.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from tests.e2e.test_service_e2e import start_streaming

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (\w+) (\S+) pid=(\d+) (.*)$")


def _events(logs: str) -> list[tuple[datetime, str, str]]:
    found = []
    for line in logs.splitlines():
        match = LINE.match(line)
        if match:
            found.append((datetime.fromisoformat(match.group(1)), match.group(3), match.group(5)))
    return found


def _times(events: list[tuple[datetime, str, str]], logger: str, pattern: str) -> dict[str, datetime]:
    """Name (the pattern's first group) -> time of the first matching line of ``logger``."""
    out: dict[str, datetime] = {}
    for at, name, message in events:
        match = re.match(pattern, message)
        if name == logger and match:
            out.setdefault(match.group(1), at)
    return out


def test_S3_1_a_connectors_initialise_before_the_publishing_side_starts(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    _, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                    markets=4, rate=50, per_connection=2)
    service.wait_for(lambda s: all(p["succeeded"] > 0 for p in s["producers"].values()), 30, "both producers publishing")
    assert service.terminate()[0] == 0
    events = _events(service.logs())
    began = _times(events, "krwfeed.supervisor", r"(starting connectors): ")
    connectors = _times(events, "krwfeed.connector", r"(\w+-\d+): \w+ \d+ codes via ")
    publishing = _times(events, "krwfeed.supervisor", r"(starting the publishing side) .*: every connector initialised")
    clients = _times(events, "krwfeed.publisher", r"kafka producer (?:\([^)]*\) )?for (\w+): ")
    producers = _times(events, "krwfeed.producer", r"producer (\w+) started")
    assert set(connectors) == {"upbit-0", "upbit-1", "bithumb-0", "bithumb-1"}, connectors
    # the events producer's client ("event") is built with the publishing side too
    assert set(clients) == {"trade", "orderbook", "event"} and set(producers) == {"trade", "orderbook"}, (
        clients, producers)
    assert began and publishing, "the supervisor logs both start phases"
    start, publish = began["starting connectors"], publishing["starting the publishing side"]
    # Connectors, then the publishing side: every connector's start line comes before the phase
    # change, and every Kafka client is built after it.
    assert all(start <= at <= publish for at in connectors.values()), (start, connectors, publish)
    assert all(publish <= at for at in (*clients.values(), *producers.values())), (publish, clients, producers)
    assert max(connectors.values()) < min(clients.values()), (connectors, clients)
