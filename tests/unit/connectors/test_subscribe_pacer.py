"""New code lists on an open socket: the complete list in one request, under the per-connection
request limits (Upbit: 5 a second, 100 a minute)."""
from __future__ import annotations

import json

import pytest

from connectors.subscribe_pacer import SubscribePacer
from connectors.websocket_connector import WebSocketConnector
from domain.state import ConnectionState as S
from tests.unit.connectors.fakes import FakeAdapter, FakeClock, SocketFactory, config, encode, trade

pytestmark = pytest.mark.unit


def test_five_a_second_then_a_wait() -> None:
    pacer = SubscribePacer(5, 100)
    for i in range(5):
        assert pacer.wait_s(10.0 + i * 0.1) == 0
        pacer.sent(10.0 + i * 0.1)
    assert pacer.wait_s(10.5) == pytest.approx(0.5)
    assert pacer.wait_s(11.0) == 0


def test_a_hundred_a_minute_then_a_wait() -> None:
    pacer = SubscribePacer(5, 100)
    for i in range(100):
        pacer.sent(i * 0.5)  # 2 a second: under the per-second limit
    assert pacer.wait_s(50.0) == pytest.approx(10.0)
    assert pacer.wait_s(60.0) == 0
    pacer.reset()
    assert pacer.wait_s(50.0) == 0


class Harness:
    def __init__(self) -> None:
        self.adapter = FakeAdapter()
        self.sockets = SocketFactory()
        self.clock = FakeClock()
        self.connector = WebSocketConnector(config(), self.adapter, connection_id="upbit-t", encode=encode,
                                            ws_factory=self.sockets, clock=self.clock)


def test_new_codes_go_out_on_the_open_socket_as_the_complete_list() -> None:
    h = Harness()
    h.connector.connect()
    ws = h.sockets.last
    assert h.connector.set_codes(("KRW-ETH", "KRW-XRP")) == 0
    assert h.connector.state is S.CONNECTED and len(h.sockets.made) == 1  # no new socket
    request = json.loads(ws.sent[-1])
    assert {"type": "trade", "codes": ["KRW-ETH", "KRW-XRP"]} in request
    assert list(h.connector.subscription_report().values())[-1] == ("KRW-ETH", "KRW-XRP")
    # A dropped code's records are refused from now on, the new code's admitted.
    ws.feed(trade("KRW-BTC", 1), trade("KRW-XRP", 2))
    result = h.connector.drain()
    assert [r.code for r in result.records] == ["KRW-XRP"]
    assert h.connector.pipeline.counters.unsubscribed == 1


def test_requests_beyond_the_limit_wait_and_the_newest_list_wins() -> None:
    h = Harness()
    h.connector.connect()  # the opening subscription counts as the first request
    ws = h.sockets.last
    for n in range(4):
        assert h.connector.set_codes((f"KRW-C{n}",)) == 0
    assert len(ws.sent) == 5
    wait = h.connector.set_codes(("KRW-LATE",))
    assert wait == pytest.approx(1.0) and len(ws.sent) == 5
    assert h.connector.set_codes(("KRW-NEWEST",)) > 0  # replaces the waiting list
    assert h.connector.resubscribe() > 0
    h.clock.advance(1.0)
    assert h.connector.resubscribe() == 0
    assert len(ws.sent) == 6 and {"type": "trade", "codes": ["KRW-NEWEST"]} in json.loads(ws.sent[-1])
    assert h.connector.resubscribe() == 0 and len(ws.sent) == 6  # nothing left to send


def test_codes_changed_while_disconnected_are_subscribed_on_the_next_connect() -> None:
    h = Harness()
    assert h.connector.set_codes(("KRW-SOL",)) == 0
    h.connector.connect()
    assert {"type": "trade", "codes": ["KRW-SOL"]} in json.loads(h.sockets.last.sent[0])
    assert h.connector.resubscribe() == 0 and len(h.sockets.last.sent) == 1
