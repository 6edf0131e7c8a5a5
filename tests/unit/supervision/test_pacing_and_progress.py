"""The supervisor's pure helpers: connect pacing, progress lines, restart backoff, connection plan."""
from __future__ import annotations

import pytest

from domain.config import ExchangeConfig
from supervision.connect_pacer import ConnectPacer
from supervision.connection_plan import (
    MAX_ACTOR_PROCESSES,
    actor_processes,
    plan_connections,
    process_limit_problem,
)
from supervision.progress_meter import ProgressMeter
from supervision.restart_backoff import RestartBackoff

pytestmark = pytest.mark.unit


def grants_over(pacer: ConnectPacer, seconds: float, step: float = 0.01) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    t = 0.0
    while t <= seconds:
        out += [(t, c) for c in pacer.release(t)]
        t = round(t + step, 6)
    return out


@pytest.mark.parametrize(("exchange", "limit"), [("upbit", 5), ("bithumb", 10)])
def test_connects_never_exceed_the_exchange_limit_in_any_second(exchange: str, limit: int) -> None:
    pacer = ConnectPacer()
    for n in range(80):
        pacer.request(exchange, f"{exchange}-{n}")
    grants = grants_over(pacer, 6.0)
    times = [t for t, _ in grants]
    for start in times:
        assert sum(1 for t in times if start <= t < start + 1.0) <= limit
    assert len(grants) >= limit * 5  # and it does not crawl either
    assert [c for _, c in grants] == [f"{exchange}-{n}" for n in range(len(grants))]  # FIFO


def test_exchanges_are_paced_independently_and_repeated_requests_wait_once() -> None:
    pacer = ConnectPacer()
    pacer.request("upbit", "upbit-0")
    pacer.request("upbit", "upbit-0")
    pacer.request("bithumb", "bithumb-0")
    assert sorted(pacer.release(0.0)) == ["bithumb-0", "upbit-0"]
    assert pacer.release(5.0) == [] and pacer.next_release_in(5.0) is None


def test_next_release_in_tells_when_to_wake() -> None:
    pacer = ConnectPacer()
    for n in range(2):
        pacer.request("upbit", f"u{n}")
    assert pacer.release(0.0) == ["u0"]
    delay = pacer.next_release_in(0.0)
    assert delay is not None and 0.2 <= delay <= 0.25
    assert pacer.release(delay) == ["u1"]


def test_forget_removes_a_waiting_connection() -> None:
    pacer = ConnectPacer()
    pacer.request("upbit", "a")
    pacer.request("upbit", "b")
    pacer.forget("b")
    assert pacer.release(0.0) == ["a"] and pacer.waiting() == 0


def test_S3_1_g_progress_line_exactly_every_1000_messages() -> None:
    meter = ProgressMeter(1000, start_s=0.0)
    lines = []
    for i in range(1, 11):
        lines += meter.add(333, float(i))  # batches that do not line up with the multiples
    assert [line.count for line in lines] == [1000, 2000, 3000]
    assert meter.total == 3330
    assert lines[0].rate_per_s == pytest.approx(1000 / 4.0)
    assert "1000 messages" in lines[0].text() and "msg/s" in lines[0].text()


def test_one_batch_crossing_several_multiples_gives_one_line_each() -> None:
    meter = ProgressMeter(1000, start_s=0.0)
    assert [line.count for line in meter.add(3500, 2.0)] == [1000, 2000, 3000]
    assert meter.add(0, 3.0) == [] and [line.count for line in meter.add(500, 4.0)] == [4000]


def test_restart_backoff_doubles_caps_and_resets_after_a_healthy_run() -> None:
    backoff = RestartBackoff(initial_s=0.2, factor=2.0, max_s=1.0, healthy_after_s=60.0)
    backoff.started("upbit-0", 0.0)
    delays = [backoff.delay_after_exit("upbit-0", float(t)) for t in range(5)]
    assert delays == [0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.started("upbit-0", 10.0)
    assert backoff.delay_after_exit("upbit-0", 100.0) == 0.2


def test_markets_split_into_connections_of_markets_per_connection() -> None:
    codes = tuple(f"KRW-C{n:03d}" for n in range(7))
    cfg = ExchangeConfig("upbit", "wss://api.upbit.com/websocket/v1", "https://api.upbit.com", codes,
                         markets_per_connection=3)
    plan = plan_connections([cfg])
    assert [p.connection_id for p in plan] == ["upbit-0", "upbit-1", "upbit-2"]
    assert [len(p.config.markets) for p in plan] == [3, 3, 1]
    assert sum((p.config.markets for p in plan), ()) == codes
    one_each = plan_connections([ExchangeConfig("bithumb", "wss://ws-api.bithumb.com/websocket/v1",
                                                "https://api.bithumb.com", codes[:2], markets_per_connection=1)])
    assert [(p.connection_id, p.config.markets) for p in one_each] == [("bithumb-0", codes[:1]),
                                                                        ("bithumb-1", codes[1:2])]


def test_by_default_one_connection_carries_all_of_an_exchanges_codes() -> None:
    codes = tuple(f"KRW-C{n:03d}" for n in range(300))
    upbit = ExchangeConfig("upbit", "wss://api.upbit.com/websocket/v1", "https://api.upbit.com", codes)
    bithumb = ExchangeConfig("bithumb", "wss://ws-api.bithumb.com/websocket/v1", "https://api.bithumb.com", codes)
    plan = plan_connections([upbit, bithumb])
    assert [(p.connection_id, len(p.config.markets)) for p in plan] == [("upbit-0", 300), ("bithumb-0", 300)]
    # supervisor, buffer, Thespian's admin and logger, two connectors, two producers, the events producer
    assert actor_processes([upbit, bithumb]) == 9
    assert actor_processes([upbit, bithumb], events=False) == 8
    assert process_limit_problem([upbit, bithumb]) == ""


def test_a_plan_beyond_the_process_limit_is_refused_with_the_reason() -> None:
    codes = tuple(f"KRW-C{n:03d}" for n in range(300))
    cfg = ExchangeConfig("upbit", "wss://api.upbit.com/websocket/v1", "https://api.upbit.com", codes,
                         markets_per_connection=10)
    assert actor_processes([cfg]) == 30 + 2 + 1 + 4 > MAX_ACTOR_PROCESSES
    problem = process_limit_problem([cfg])
    assert "30 connections would run 37 actor processes (at most 32)" in problem
    fits = ExchangeConfig("upbit", "wss://api.upbit.com/websocket/v1", "https://api.upbit.com", codes,
                          markets_per_connection=12)
    assert actor_processes([fits]) == 25 + 2 + 1 + 4 and process_limit_problem([fits]) == ""
