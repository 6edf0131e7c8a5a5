"""The simulator's WebSocket protocol, checked over real sockets with websocket-client."""
from __future__ import annotations

import json
import time

import pytest
import websocket

from tests.simulator.conftest import collect, connect, raw_frames, recv_json, request, wait_closed
from tests.support.simulator_process import SimulatorProcess

pytestmark = pytest.mark.integration
EXCHANGES = ("upbit", "bithumb")
SNAKE = {"is_only_snapshot": True}
CAMEL = {"isOnlySnapshot": True}


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_data_frames_are_binary_utf8_json(shared_simulator: SimulatorProcess, exchange: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "trade", "codes": ["KRW-BTC"]}, {"type": "orderbook", "codes": ["KRW-BTC"]}))
    frames = raw_frames(ws, 1.0)
    ws.close()
    assert len(frames) >= 5
    assert {opcode for opcode, _ in frames} == {websocket.ABNF.OPCODE_BINARY}
    assert all(json.loads(data.decode("utf-8"))["code"] == "KRW-BTC" for _, data in frames)


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_snapshot_first_per_code_then_realtime(shared_simulator: SimulatorProcess, exchange: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "trade", "codes": ["KRW-BTC", "KRW-ETH"]},
                    {"type": "orderbook", "codes": ["KRW-BTC", "KRW-ETH"]}))
    frames = collect(ws, 60)
    ws.close()
    seen: dict[tuple[str, str], list[str]] = {}
    for frame in frames:
        seen.setdefault((frame["type"], frame["code"]), []).append(frame["stream_type"])
    assert set(seen) == {(t, c) for t in ("trade", "orderbook") for c in ("KRW-BTC", "KRW-ETH")}
    for stream_types in seen.values():
        assert stream_types[0] == "SNAPSHOT"
        assert stream_types.count("SNAPSHOT") == 1
    assert sum(s.count("REALTIME") for s in seen.values()) > 10


@pytest.mark.parametrize(("exchange", "honoured", "ignored"), [
    ("upbit", "is_only_snapshot", "isOnlySnapshot"), ("bithumb", "isOnlySnapshot", "is_only_snapshot")])
def test_only_snapshot_in_the_venue_spelling(shared_simulator: SimulatorProcess, exchange: str, honoured: str,
                                              ignored: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "trade", "codes": ["KRW-BTC"], honoured: True}))
    honoured_frames = collect(ws, seconds=1.5)
    ws.send(request({"type": "trade", "codes": ["KRW-BTC"], ignored: True}))
    ignored_frames = collect(ws, seconds=1.5)
    ws.close()
    assert [f["stream_type"] for f in honoured_frames] == ["SNAPSHOT"]
    assert ignored_frames[0]["stream_type"] == "SNAPSHOT"
    assert any(f["stream_type"] == "REALTIME" for f in ignored_frames)


@pytest.mark.parametrize(("exchange", "honoured", "ignored"), [
    ("upbit", "is_only_realtime", "isOnlyRealtime"), ("bithumb", "isOnlyRealtime", "is_only_realtime")])
def test_only_realtime_in_the_venue_spelling(shared_simulator: SimulatorProcess, exchange: str, honoured: str,
                                              ignored: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "orderbook", "codes": ["KRW-ETH"], honoured: True}))
    honoured_frames = collect(ws, 10)
    ws.send(request({"type": "orderbook", "codes": ["KRW-ETH"], ignored: True}))
    ignored_frames = collect(ws, 10)
    ws.close()
    assert honoured_frames and all(f["stream_type"] == "REALTIME" for f in honoured_frames)
    assert "SNAPSHOT" in [f["stream_type"] for f in ignored_frames]


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_new_request_replaces_the_whole_subscription(shared_simulator: SimulatorProcess, exchange: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "trade", "codes": ["KRW-BTC"]}, {"type": "orderbook", "codes": ["KRW-BTC"]}))
    collect(ws, 5)
    ws.send(request({"type": "trade", "codes": ["KRW-ETH"]}))
    time.sleep(0.3)  # frames queued before the new request may still arrive; skip them
    collect(ws, seconds=0.3)
    later = collect(ws, seconds=1.5)
    ws.close()
    assert later, "the new subscription must stream"
    assert {(f["type"], f["code"]) for f in later} == {("trade", "KRW-ETH")}


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_unknown_and_lower_case_codes_are_silently_ignored(shared_simulator: SimulatorProcess,
                                                           exchange: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "trade", "codes": ["krw-btc", "KRW-NOPE", "KRW-ETH"]}))
    frames = collect(ws, seconds=1.5)
    ws.send(request({"type": "trade", "codes": ["krw-btc", "KRW-NOPE"]}))
    time.sleep(0.2)
    collect(ws, seconds=0.2)
    nothing = collect(ws, seconds=1.0)
    assert ws.connected
    ws.close()
    assert frames and {f["code"] for f in frames} == {"KRW-ETH"}
    assert "error" not in json.dumps(frames)
    assert nothing == []


@pytest.mark.parametrize("exchange", EXCHANGES)
@pytest.mark.parametrize(("text", "name"), [
    ("{not json", "WRONG_FORMAT"),
    ('[{"type":"trade","codes":["KRW-BTC"]}]', "NO_TICKET"),
    ('[{"ticket":"t"},{"format":"DEFAULT"}]', "NO_TYPE"),
    ('[{"ticket":"t"},{"type":"trade"}]', "NO_CODES"),
    ('[{"ticket":"t"},{"type":"trade","codes":[]}]', "INVALID_PARAM"),
    ('[{"ticket":"t"},{"type":"candle.7m","codes":["KRW-BTC"]}]', "INVALID_PARAM"),
])
def test_malformed_request_gets_error_frame_then_close_1000(shared_simulator: SimulatorProcess, exchange: str,
                                                            text: str, name: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send(text)
    error = recv_json(ws)
    how, _ = wait_closed(ws, 3)
    assert set(error) == {"error"}
    assert error["error"]["name"] == name and error["error"]["message"]
    assert how == "close-frame:1000"


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_text_ping_is_answered_with_status_up(shared_simulator: SimulatorProcess, exchange: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send("PING")
    opcode, data = ws.recv_data()
    ws.close()
    assert opcode == websocket.ABNF.OPCODE_BINARY
    assert json.loads(data) == {"status": "UP"}


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_websocket_ping_frame_gets_pong(shared_simulator: SimulatorProcess, exchange: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.ping(b"keepalive-42")
    opcode, data = ws.recv_data(control_frame=True)
    ws.close()
    assert opcode == websocket.ABNF.OPCODE_PONG
    assert data == b"keepalive-42"


def test_idle_connection_is_cut_without_close_frame(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory(idle_timeout=1.5, no_connect_limit=True)
    quiet = connect(sim.upbit_url)
    how, elapsed = wait_closed(quiet, 6)
    assert how == "eof"  # no close frame, like the venues (clients see 1006)
    assert 1.4 <= elapsed <= 3.5
    pinged = connect(sim.upbit_url)
    start = time.monotonic()
    while time.monotonic() - start < 3.5:  # traffic from the client alone keeps the connection
        pinged.ping(b"x")
        assert pinged.recv_data(control_frame=True)[0] == websocket.ABNF.OPCODE_PONG
        time.sleep(0.4)
    assert pinged.connected
    pinged.close()


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_list_subscriptions_reports_the_current_request(shared_simulator: SimulatorProcess, exchange: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "ticker", "codes": ["KRW-BTC", "KRW-ETH"]}))
    collect(ws, 2)
    ws.send('[{"ticket":"q"},{"method":"LIST_SUBSCRIPTIONS"}]')
    listing = next(f for f in collect(ws, 50) if "method" in f)
    ws.close()
    assert listing == {"method": "LIST_SUBSCRIPTIONS", "result": [{"type": "ticker", "codes": ["KRW-BTC", "KRW-ETH"]}],
                       "ticket": "q"}
