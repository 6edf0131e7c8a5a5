"""End-to-end fixtures: distinct Thespian admin and web ports per test, and a factory that starts
krwfeed as a process and cleans up after it. The broker is the shared one (``kafka_bootstrap``,
``kafka_control`` from tests/support/kafka_broker.py, on $KAFKA_PORT).

``KRWFEED_E2E_ADMIN_PORT`` moves both port ranges (admin ports from it, web ports 1000 below), so
several developers' suites on one machine do not take each other's ports: a service that finds an
actor system on its admin port shuts it down as a leftover."""
from __future__ import annotations

import itertools
import os
import random
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.service_process import ServiceProcess

_ADMIN_BASE = int(os.environ.get("KRWFEED_E2E_ADMIN_PORT", "19800"))
ADMIN_PORTS = range(_ADMIN_BASE, _ADMIN_BASE + 100)
WEB_PORTS = range(_ADMIN_BASE - 1000, _ADMIN_BASE - 900)
# Several test sessions may share a machine: each starts at a random place in the ranges, so they
# do not all probe, and race for, the same first ports.
_next = itertools.count(random.randrange(len(ADMIN_PORTS)))


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def ports() -> tuple[int, int]:
    for _ in range(len(ADMIN_PORTS)):
        i = next(_next) % len(ADMIN_PORTS)
        if _free(ADMIN_PORTS[i]) and _free(WEB_PORTS[i]):
            return ADMIN_PORTS[i], WEB_PORTS[i]
    raise RuntimeError("no free admin/web port pair")


@pytest.fixture
def topic_prefix() -> str:
    return "e2e-" + uuid.uuid4().hex[:10]


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    started: list[ServiceProcess] = []

    def start(config: dict[str, Any] | str | bytes, **kw: Any) -> ServiceProcess:
        proc = ServiceProcess(config, tmp_path / f"run{len(started)}", **kw)
        started.append(proc)
        return proc

    yield start
    leftovers = {}
    for proc in started:
        killed = proc.cleanup()
        if killed:
            leftovers[str(proc.workdir)] = killed
    assert not leftovers, f"processes left behind after the service exited: {leftovers}"
