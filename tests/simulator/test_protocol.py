"""The simulator's WebSocket protocol, checked over real sockets with websocket-client."""
from __future__ import annotations

import json
import re
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


@pytest.mark.parametrize(("exchange", "suffix", "units"), [
    ("upbit", "", 30), ("upbit", ".1", 1), ("upbit", ".5", 5), ("upbit", ".15", 15), ("upbit", ".30", 30),
    ("upbit", ".20", 30), ("upbit", ".2", 30), ("bithumb", "", 15), ("bithumb", ".30", 15), ("bithumb", ".3", 3),
])
def test_orderbook_depth_and_code_suffix(shared_simulator: SimulatorProcess, exchange: str, suffix: str,
                                         units: int) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "orderbook", "codes": ["KRW-BTC" + suffix]}))
    frames = collect(ws, 5)
    ws.close()
    assert len(frames) == 5
    for frame in frames:
        assert frame["code"] == "KRW-BTC"  # the suffix is not echoed
        assert len(frame["orderbook_units"]) == units


def test_bithumb_microsecond_orderbook_times_and_kst_trade_clock(shared_simulator: SimulatorProcess) -> None:
    ws = connect(shared_simulator.bithumb_url)
    ws.send(request({"type": "trade", "codes": ["KRW-BTC"]}, {"type": "orderbook", "codes": ["KRW-BTC"]}))
    frames = collect(ws, 40)
    ws.close()
    books = [f for f in frames if f["type"] == "orderbook"]
    trades = [f for f in frames if f["type"] == "trade"]
    now_us = time.time() * 1e6
    assert books and trades
    assert all(len(str(b["timestamp"])) == 16 and abs(b["timestamp"] - now_us) < 30e6 for b in books)
    assert all(b["level"] == 1 for b in books)
    for trade in trades:
        assert len(str(trade["timestamp"])) == 13 and len(str(trade["trade_timestamp"])) == 13
        kst = time.gmtime(trade["trade_timestamp"] // 1000 + 9 * 3600)
        assert trade["trade_date"] == time.strftime("%Y-%m-%d", kst)
        assert trade["trade_time"] == time.strftime("%H:%M:%S", kst)


def test_upbit_trade_clock_is_utc_and_orderbook_times_are_ms(shared_simulator: SimulatorProcess) -> None:
    ws = connect(shared_simulator.upbit_url)
    ws.send(request({"type": "trade", "codes": ["KRW-BTC"]}, {"type": "orderbook", "codes": ["KRW-BTC"]}))
    frames = collect(ws, 40)
    ws.close()
    for frame in frames:
        assert len(str(frame["timestamp"])) == 13
        if frame["type"] == "trade":
            utc = time.gmtime(frame["trade_timestamp"] // 1000)
            assert (frame["trade_date"], frame["trade_time"]) == (
                time.strftime("%Y-%m-%d", utc), time.strftime("%H:%M:%S", utc))
        else:
            assert frame["level"] == 0


def test_upbit_numbers_use_java_exponents_and_trailing_zeros(shared_simulator: SimulatorProcess) -> None:
    ws = connect(shared_simulator.upbit_url)
    ws.send(request({"type": "trade", "codes": ["KRW-BTC"]}, {"type": "orderbook", "codes": ["KRW-BTC"]}))
    texts = [data.decode() for _, data in raw_frames(ws, 1.5)]
    ws.send(request({"type": "orderbook", "codes": ["KRW-BTT"]}, fmt="SIMPLE"))
    time.sleep(0.2)
    simple = [data.decode() for _, data in raw_frames(ws, 1.0)]
    ws.close()
    books = [t for t in texts if '"type":"orderbook"' in t]
    trades = [t for t in texts if '"type":"trade"' in t]
    assert books and trades
    assert all(re.search(r'"ask_price":1\.\d+E8', t) for t in books)
    assert all(re.search(r'"trade_price":\d+\.00000000,', t) for t in trades)
    assert all(re.search(r'"sequential_id":\d{17},', t) for t in trades)
    assert any(re.search(r'"as":\d\.\d+E\d', t) for t in simple if '"cd":"KRW-BTT"' in t)


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_simple_format_uses_abbreviated_keys(shared_simulator: SimulatorProcess, exchange: str) -> None:
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "trade", "codes": ["KRW-BTC"]}, {"type": "orderbook", "codes": ["KRW-BTC"]},
                    {"type": "ticker", "codes": ["KRW-BTC"]}, fmt="SIMPLE"))
    frames = collect(ws, 30)
    ws.close()
    kinds = {f["ty"] for f in frames}
    assert kinds == {"trade", "orderbook", "ticker"}
    for frame in frames:
        assert "type" not in frame and frame["cd"] == "KRW-BTC" and frame["st"] in ("SNAPSHOT", "REALTIME")
        if frame["ty"] == "trade":
            assert {"tp", "tv", "ab", "sid", "ttms", "td", "ttm", "tms"} <= set(frame)
        elif frame["ty"] == "orderbook":
            assert {"tas", "tbs", "obu", "tms", "lv"} <= set(frame)
            assert set(frame["obu"][0]) == {"ap", "bp", "as", "bs"}
        else:
            assert {"tp", "tdt", "ttm", "scr", "atv"} <= set(frame)


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
