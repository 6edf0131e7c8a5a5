"""The non-blocking REST client against the simulator over real HTTP: answers arrive through the
watched descriptor with their tags, failures and 429s are answers too, and bounds hold."""
from __future__ import annotations

import select
import time
from typing import Any

import pytest

from connectors.rest_client import RestAnswer, RestClient
from domain.records import Exchange
from exchanges.rest import MARKET_ALL_PATH, TRADE_TICKS_PATH, parse_market_list, trade_ticks_query

pytestmark = pytest.mark.integration


def _collect(client: RestClient, count: int, timeout_s: float = 15.0) -> list[RestAnswer]:
    answers: list[RestAnswer] = []
    deadline = time.monotonic() + timeout_s
    while len(answers) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(answers)} of {count} answers arrived"
        readable, _, _ = select.select([client.fileno()], [], [], left)
        if readable:
            answers.extend(client.collect())
    return answers


def test_answers_wake_the_watched_descriptor_with_their_tags(simulator_factory: Any) -> None:
    sim = simulator_factory(market_count=5, rate=50)
    client = RestClient(sim.upbit_rest)
    try:
        assert client.submit("markets", MARKET_ALL_PATH)
        (answer,) = _collect(client, 1)
        assert answer.tag == "markets" and answer.ok, answer
        listing = parse_market_list(answer.body, Exchange.UPBIT)
        codes = list(listing)[:3]
        for code in codes:
            assert client.submit(("ticks", code), TRADE_TICKS_PATH, trade_ticks_query(code, 5))
        answers = _collect(client, 3)
        assert sorted(a.tag for a in answers) == sorted(("ticks", c) for c in codes)  # type: ignore[type-var]
        assert all(a.ok and a.body.startswith(b"[") for a in answers)
        assert client.pending == 0
    finally:
        client.close()


def test_failures_are_answers_not_exceptions(simulator_factory: Any) -> None:
    sim = simulator_factory(market_count=2, rate=10)
    sim.control("rest_fail", seconds=30, status=503)
    client = RestClient(sim.upbit_rest, timeout_s=2.0)
    refused = RestClient("http://127.0.0.1:9", timeout_s=2.0)  # nothing listens on the discard port
    try:
        assert client.submit(1, MARKET_ALL_PATH)
        assert refused.submit(2, MARKET_ALL_PATH)
        (failing,) = _collect(client, 1)
        (unreachable,) = _collect(refused, 1)
        assert failing.status == 503 and not failing.ok
        assert unreachable.status is None and unreachable.error and not unreachable.ok
    finally:
        client.close()
        refused.close()


def test_a_body_over_the_cap_is_an_error_and_pending_is_bounded(simulator_factory: Any) -> None:
    sim = simulator_factory(market_count=50, rate=10)
    client = RestClient(sim.upbit_rest, max_body_bytes=256, max_pending=2)
    try:
        assert client.submit("a", MARKET_ALL_PATH)
        assert client.submit("b", MARKET_ALL_PATH)
        assert not client.submit("c", MARKET_ALL_PATH)  # refused, not queued without end
        answers = _collect(client, 2)
        assert all(a.status == 200 and not a.ok and "larger than 256" in a.error for a in answers)
        assert client.submit("d", MARKET_ALL_PATH)
    finally:
        client.close()
    assert not client.submit("e", MARKET_ALL_PATH)


def test_https_with_the_exchange_s_own_ca_file(simulator_factory: Any) -> None:
    sim = simulator_factory(market_count=2, rate=10, tls=True)
    trusting, default = RestClient(sim.upbit_rest, ca_file=sim.ca_file), RestClient(sim.upbit_rest)
    try:
        assert trusting.submit("markets", MARKET_ALL_PATH) and default.submit("markets", MARKET_ALL_PATH)
        (answer,) = _collect(trusting, 1)
        assert answer.ok and parse_market_list(answer.body, Exchange.UPBIT)
        (refused,) = _collect(default, 1)  # the throwaway CA is not in the system's trust store
        assert refused.status is None and "CERTIFICATE" in refused.error.upper(), refused
    finally:
        trusting.close()
        default.close()
def test_in_flight_counts_queued_and_running_requests_until_each_ends_even_after_close() -> None:
    import socket

    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        client = RestClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_s=1.0)
        assert client.in_flight == 0
        assert client.submit("a", MARKET_ALL_PATH) and client.submit("b", MARKET_ALL_PATH)
        assert client.in_flight == 2
        silent.settimeout(5)
        held, _ = silent.accept()  # the worker is inside the first request now
        client.close()  # the queued one never starts; the running one ends at its timeout
        assert client.in_flight == 1
        deadline = time.monotonic() + 5
        while client.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.in_flight == 0
        held.close()


def test_in_flight_is_zero_once_every_answer_is_in(simulator_factory: Any) -> None:
    sim = simulator_factory(market_count=3, rate=10)
    client = RestClient(sim.upbit_rest)
    try:
        for n in range(3):
            assert client.submit(n, MARKET_ALL_PATH)
        assert client.in_flight >= 1
        assert len(_collect(client, 3)) == 3
        assert client.in_flight == 0
    finally:
        client.close()
