"""The plain connector's state machine over a fake socket (seed S1.4, S2.1, S2.2)."""
from __future__ import annotations

import json
import threading
import time

import pytest
from prometheus_client import REGISTRY

from connectors.websocket_connector import WebSocketConnector
from domain.exceptions import ConnectionException, ConnectionFailedException
from domain.state import ConnectionState as S
from domain.state import is_valid_transition
from tests.unit.connectors.fakes import (
    BINARY,
    CLOSE,
    PONG,
    TEXT,
    FakeAdapter,
    FakeClock,
    FakeWebSocket,
    SocketFactory,
    book,
    config,
    encode,
    trade,
)

pytestmark = pytest.mark.unit


class Harness:
    def __init__(self, **cfg: object) -> None:
        self.adapter = FakeAdapter()
        self.sockets = SocketFactory()
        self.clock = FakeClock()
        self.events: list[tuple[S, S, str]] = []
        self.connector = WebSocketConnector(
            config(**cfg), self.adapter, connection_id="upbit-t", encode=encode,
            ws_factory=self.sockets, clock=self.clock, on_state=self.on_state,
        )

    def on_state(self, old: S, new: S, reason: str, attempt: int) -> None:
        assert is_valid_transition(old, new)
        self.events.append((old, new, reason))

    def states(self) -> list[S]:
        return [new for _, new, _ in self.events]


def test_S2_1_a_connect_subscribes_and_goes_connected_then_disconnected() -> None:
    h = Harness(connect_timeout_s=3.5)
    h.connector.connect()
    ws = h.sockets.last
    assert h.connector.get_connection_state() is S.CONNECTED
    url, options = ws.connect_calls[0]
    assert url == "ws://127.0.0.1:9/websocket/v1"
    assert options == {"timeout": 3.5, "suppress_origin": True}
    request = json.loads(ws.sent[0])
    assert request[0] == {"ticket": h.adapter.requests[0].ticket}
    assert {"type": "trade", "codes": ["KRW-BTC", "KRW-ETH"]} in request
    assert ws.timeout == 0  # non-blocking from here on
    h.connector.disconnect()
    assert h.connector.state is S.DISCONNECTED and ws.closed
    assert h.states() == [S.CONNECTING, S.CONNECTED, S.DISCONNECTED]


def test_S1_4_d_connect_is_idempotent() -> None:
    h = Harness()
    for _ in range(3):
        h.connector.connect()
    assert len(h.sockets.made) == 1
    assert h.states() == [S.CONNECTING, S.CONNECTED]


def test_S2_1_k_concurrent_connects_open_one_socket() -> None:
    h = Harness()
    h.sockets.hold = threading.Event()
    threads = [threading.Thread(target=h.connector.connect) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    h.sockets.hold.set()
    for t in threads:
        t.join(5)
    assert len(h.sockets.made) == 1
    assert h.connector.state is S.CONNECTED


def test_S2_1_b_state_is_set_before_the_exception_is_raised() -> None:
    h = Harness()
    h.sockets.errors.append(ConnectionRefusedError("refused"))
    seen_at_raise: list[S] = []
    with pytest.raises(ConnectionException) as info:
        try:
            h.connector.connect()
        except ConnectionException:
            seen_at_raise.append(h.connector.state)
            raise
    assert seen_at_raise == [S.RECONNECTING]
    assert h.states() == [S.CONNECTING, S.RECONNECTING]  # reported before the raise, too
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert h.connector.next_retry_s == 1.0


def test_S2_1_c_every_failure_path_releases_the_socket() -> None:
    h = Harness()
    h.sockets.errors.append(OSError("handshake failed"))
    with pytest.raises(ConnectionException):
        h.connector.connect()
    assert h.sockets.last.closed
    endings: list[tuple[int, bytes] | Exception] = [
        ConnectionResetError("reset"),  # drop
        (CLOSE, b"\x03\xe8bye"),  # close frame
        (BINARY, b'{"error": {"name": "WRONG_FORMAT", "message": "x"}}'),  # error frame
    ]
    for ending in endings:
        h.connector.connect()
        ws = h.sockets.last
        assert h.connector.state is S.CONNECTED and not ws.closed
        ws.inbox.append(ending)
        result = h.connector.drain()
        assert result.lost and ws.closed
        assert h.connector.state is S.RECONNECTING
        assert h.connector.fileno() is None


def test_S2_1_h_disconnect_while_connecting_ends_safely() -> None:
    h = Harness()
    h.sockets.hold = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            h.connector.connect()
        except BaseException as err:  # noqa: BLE001 - the test reports it
            errors.append(err)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 2
    while h.connector.state is not S.CONNECTING and time.monotonic() < deadline:
        time.sleep(0.005)
    h.connector.disconnect()
    assert h.connector.state is S.DISCONNECTED
    h.sockets.hold.set()
    t.join(5)
    assert not t.is_alive() and errors == []
    assert h.connector.state is S.DISCONNECTED
    assert h.sockets.last.closed
    assert h.states() == [S.CONNECTING, S.DISCONNECTED]


def test_S2_2_d_streaming_before_connect_raises_runtime_error() -> None:
    h = Harness()
    with pytest.raises(RuntimeError, match="connect"):
        h.connector.stream_market_data()  # raised by the call, not at the first next()


def test_S2_2_e_dropped_socket_reconnects_resubscribes_and_drops_repeated_trades() -> None:
    h = Harness(backoff_initial_s=0.01)
    h.connector.connect()
    first = h.sockets.last
    first.feed(trade("KRW-BTC", 1), trade("KRW-BTC", 2), book("KRW-ETH"))
    first.inbox.append(ConnectionResetError("peer reset"))
    # After reconnecting, the new socket repeats trade 2 (its SNAPSHOT), then a new trade.
    h.sockets.script.append([trade("KRW-BTC", 2), trade("KRW-BTC", 3)])
    stream = h.connector.stream_market_data()
    got = []
    for record in stream:
        got.append((record.code, record.sequential_id))
        if len(got) == 4:
            break
    stream.close()
    assert got == [("KRW-BTC", 1), ("KRW-BTC", 2), ("KRW-ETH", 0), ("KRW-BTC", 3)]
    assert h.connector.pipeline.counters.duplicates == 1
    assert h.connector.reconnects == 1
    assert len(h.sockets.last.sent) == 1  # resubscribed on the new socket
    report = h.connector.subscription_report()
    assert list(report) == [r.ticket for r in h.adapter.requests] and len(report) == 2
    assert h.connector.state is S.DISCONNECTED and h.sockets.last.closed  # closing the stream releases


class DroppingSockets(SocketFactory):
    """Every socket delivers one trade, then drops."""

    def __call__(self) -> FakeWebSocket:
        ws = super().__call__()
        ws.feed(trade("KRW-BTC", len(self.made)))
        ws.inbox.append(ConnectionResetError("drop"))
        return ws


def test_S2_2_h_many_drops_in_a_row_never_recurse() -> None:
    connector = WebSocketConnector(
        config(backoff_initial_s=0.0001, backoff_factor=1.0, backoff_max_s=0.0001), FakeAdapter(),
        encode=encode, ws_factory=DroppingSockets(),
    )
    connector.connect()
    stream = connector.stream_market_data()
    count = 0
    for _ in stream:
        count += 1
        if count == 1500:  # more cycles than the default recursion limit
            break
    stream.close()
    assert count == 1500 and connector.reconnects == 1499


def test_S2_2_h_listener_calling_disconnect_does_not_recurse() -> None:
    calls: list[S] = []
    holder: dict[str, WebSocketConnector] = {}

    def on_state(old: S, new: S, reason: str, attempt: int) -> None:
        calls.append(new)
        holder["c"].disconnect("listener")  # re-entrant call on every transition

    sockets = SocketFactory()
    holder["c"] = WebSocketConnector(config(), FakeAdapter(), encode=encode, ws_factory=sockets, on_state=on_state)
    holder["c"].connect()
    assert holder["c"].state is S.DISCONNECTED
    assert calls == [S.CONNECTING, S.DISCONNECTED]
    assert sockets.last.closed


def test_S2_1_f_reaching_max_attempts_goes_failed_and_raises() -> None:
    h = Harness(max_reconnect_attempts=2)
    h.sockets.errors.extend(OSError("down") for _ in range(5))
    with pytest.raises(ConnectionException) as first:
        h.connector.connect()
    assert not isinstance(first.value, ConnectionFailedException)
    with pytest.raises(ConnectionException):
        h.connector.connect()  # retry 1
    with pytest.raises(ConnectionFailedException):
        h.connector.connect()  # retry 2: budget spent
    assert h.connector.state is S.FAILED
    assert h.states()[-1] is S.FAILED
    with pytest.raises(ConnectionFailedException):
        h.connector.connect()
    assert len(h.sockets.made) == 3


def test_S2_1_g_configured_ping_interval_and_pong_timeout_are_applied() -> None:
    h = Harness(ping_interval_s=40.0, pong_timeout_s=7.0, stale_timeout_s=100.0)
    h.connector.connect()
    ws = h.sockets.last
    h.clock.advance(39.9)
    assert h.connector.tick() == "" and ws.pings == 0
    h.clock.advance(0.1)
    assert h.connector.tick() == "" and ws.pings == 1
    h.clock.advance(5.0)
    ws.feed(b"", opcode=PONG)
    h.connector.drain()
    h.clock.advance(35.0)  # 40 s after the first ping
    h.connector.tick()
    assert ws.pings == 2
    h.clock.advance(7.1)  # no pong this time
    reason = h.connector.tick()
    assert "pong_timeout_s=7.0" in reason
    assert h.connector.state is S.RECONNECTING and ws.closed


def test_S2_2_f_malformed_frames_are_counted_and_the_connection_kept() -> None:
    h = Harness()
    h.connector.connect()
    ws = h.sockets.last
    before = REGISTRY.get_sample_value("ingestion_malformed_frames_total", {"exchange": "upbit"}) or 0.0
    ws.feed(b"{garbage", b"\xff\xfe", trade("KRW-BTC", 1))
    ws.feed(b'{"status": "UP"}', opcode=TEXT)
    result = h.connector.drain()
    assert [r.sequential_id for r in result.records] == [1]
    assert h.connector.pipeline.counters.malformed == 2
    assert h.connector.state is S.CONNECTED and not ws.closed
    h.connector.sync_metrics()  # the owner's stats timer, a few times a second
    after = REGISTRY.get_sample_value("ingestion_malformed_frames_total", {"exchange": "upbit"})
    assert after == before + 2


def test_drain_stops_at_max_frames_and_says_more() -> None:
    h = Harness()
    h.connector.connect()
    h.sockets.last.feed(*(trade("KRW-ETH", i) for i in range(1, 11)))
    first = h.connector.drain(max_frames=6)
    assert (len(first.records), first.more) == (6, True)
    second = h.connector.drain(max_frames=6)
    assert (len(second.records), second.more) == (4, False)


def test_S3_2_c_unsubscribed_and_duplicate_drops_reach_prometheus() -> None:
    h = Harness()
    h.connector.connect()
    labels = {"exchange": "upbit", "data_type": "trade"}

    def dropped(reason: str) -> float:
        return REGISTRY.get_sample_value("ingestion_messages_dropped_total", {**labels, "reason": reason}) or 0.0

    before = (dropped("duplicate"), dropped("unsubscribed"))
    h.sockets.last.feed(trade("KRW-BTC", 77), trade("KRW-BTC", 77), trade("KRW-DOGE", 1))
    h.connector.drain()
    assert (dropped("duplicate"), dropped("unsubscribed")) == before  # not per read ...
    h.connector.sync_metrics()  # ... but when the owner syncs
    assert (dropped("duplicate"), dropped("unsubscribed")) == (before[0] + 1, before[1] + 1)


def test_connection_state_gauge_follows_the_state() -> None:
    h = Harness()
    h.connector.connect()

    def gauge(state: S) -> float | None:
        return REGISTRY.get_sample_value(
            "ingestion_connection_state", {"connection": "upbit-t", "exchange": "upbit", "state": state.value}
        )

    assert (gauge(S.CONNECTED), gauge(S.CONNECTING)) == (1.0, 0.0)
    h.connector.disconnect()
    assert (gauge(S.CONNECTED), gauge(S.DISCONNECTED)) == (0.0, 1.0)
