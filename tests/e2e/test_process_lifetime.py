"""No process of krwfeed outlives its main process, and a second instance leaves the first alone.

Every process of a run is found by the run mark in its environment (``ServiceProcess.leftovers``), so
the detached Thespian admin, its logger, the supervisor and the actors are all counted, whoever
their parent is.
"""
from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.service_process import ServiceProcess, service_config
from tests.e2e.test_service_e2e import start_streaming
from tests.integration.tooling import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_gone(service: ServiceProcess, timeout_s: float) -> tuple[list[psutil.Process], float]:
    started = time.monotonic()
    left = service.leftovers()
    while left and time.monotonic() - started < timeout_s:
        time.sleep(0.05)
        left = service.leftovers()
    return left, time.monotonic() - started


def test_actor_processes_are_children_of_the_main_process(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    """The detached admin is adopted by the main process (a child subreaper), so the service is one tree."""
    _, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                    markets=4, rate=50, per_connection=2)
    tree = {p.pid for p in psutil.Process(service.proc.pid).children(recursive=True)
            if p.status() != psutil.STATUS_ZOMBIE}
    marked = {p.pid for p in service.leftovers()}
    # admin, logger, supervisor, 4 connectors, buffer, 2 producers
    assert len(marked) >= 10, marked
    assert marked == tree, (marked, tree)
    assert service.terminate()[0] == 0


def test_sigkill_of_the_main_process_takes_every_actor_process_with_it(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                      markets=10, rate=300, per_connection=5)
    service.wait_for(lambda s: s["total_received"] > 200, 45, "streaming")
    before = service.leftovers()
    assert len(before) >= 10, before
    service.terminate(5.0, sig=signal.SIGKILL)
    left, took = wait_gone(service, 10.0)
    assert not left, f"still running {took:.1f} s after SIGKILL of the main process: {left}"
    assert took < 5.0, took
    print(f"FIGURES sigkill: {len(before)} actor processes gone {took:.2f} s after the main process")


def test_clean_stop_leaves_no_process(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    for round_ in range(2):  # the second run also proves the first left its admin port reusable
        _, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports,
                                        f"{topic_prefix}-{round_}", markets=4, rate=100, per_connection=2)
        service.wait_for(lambda s: s["total_received"] > 20, 45, "streaming")
        rc, _ = service.terminate(15.0)
        assert rc == 0, service.logs()[-2000:]
        left, _ = wait_gone(service, 1.0)
        assert not left, f"left running after a clean stop: {left}"
        assert "shut down the actor system a previous krwfeed left" not in service.logs()


def _second(service_factory: Any, config: dict[str, Any], web_port: int) -> ServiceProcess:
    second: ServiceProcess = service_factory(config, web_port=web_port)
    rc = second.wait_exit(20)
    assert rc == 2, (rc, second.logs()[-2000:])
    return second


def test_second_instance_is_refused_and_the_first_keeps_streaming(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim, first, codes = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                        markets=4, rate=100, per_connection=2)
    admin, web = ports
    first_procs = {p.pid for p in first.leftovers()}
    cfg = service_config(upbit_url=sim.url("upbit"), bithumb_url=sim.url("bithumb"), markets=codes,
                         bootstrap=kafka_bootstrap, admin_port=admin, topic_prefix=topic_prefix,
                         markets_per_connection=2)
    # same admin port, another web port
    second = _second(service_factory, cfg, free_port(18700, 18799))
    lines = [line for line in second.logs().splitlines() if line.strip()]
    assert len(lines) == 1 and "another krwfeed" in lines[0] and str(first.proc.pid) in lines[0], lines
    assert not second.leftovers()
    # same web port, another admin port
    third = _second(service_factory, {**cfg, "admin_port": free_port(19700, 19799)}, web)
    lines = [line for line in third.logs().splitlines() if line.strip()]
    assert len(lines) == 1 and f"web port 127.0.0.1:{web}" in lines[0], lines
    # the first is untouched: same processes, still streaming and publishing
    assert first.proc.poll() is None
    assert {p.pid for p in first.leftovers()} == first_procs
    before = first.status()
    assert before is not None
    first.wait_for(lambda s: s["total_received"] > before["total_received"] + 50
                   and s["total_published"] > before["total_published"] and all(
                       c["state"] == "CONNECTED" for c in s["connections"].values()), 45, "the first still streaming")
    assert first.http("/health")[0] == 200
    rc, _ = first.terminate()
    assert rc == 0


def test_an_actor_system_left_by_a_dead_krwfeed_is_shut_down_at_start(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    """Only a leftover whose owner is dead (its pid still in var/) is shut down; the new run then streams."""
    from thespian.actors import ActorSystem

    from actors.thespian_setup import CAPABILITIES, prepare_thespian

    admin, _ = ports
    prepare_thespian()
    ActorSystem("multiprocTCPBase", {**CAPABILITIES, "Admin Port": admin})  # stands in for the leftover
    leftover = [c.pid for c in psutil.net_connections("inet")
                if c.status == psutil.CONN_LISTEN and c.laddr.port == admin and c.pid]
    assert leftover
    pid_file = REPO_ROOT / "var" / f"krwfeed-{admin}.pid"
    pid_file.parent.mkdir(exist_ok=True)
    pid_file.write_text("999999999\n")  # the krwfeed that started it died without a clean exit
    try:
        _, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                        markets=2, rate=50, per_connection=2)
        assert f"shut down the actor system a previous krwfeed left on admin port {admin}" in service.logs()
        assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                       for p in leftover)
        service.wait_for(lambda s: s["total_received"] > 20, 45, "streaming")
        assert service.terminate()[0] == 0
        assert pid_file.read_text() == ""  # a clean exit leaves no owner behind
    finally:
        for pid in leftover:
            if psutil.pid_exists(pid):
                psutil.Process(pid).kill()
