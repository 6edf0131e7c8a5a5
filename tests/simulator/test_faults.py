"""Fault injection through the HTTP control endpoints and the in-process Python API."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest
import websocket

from simulator import SimulatorOptions, SimulatorThread
from tests.simulator.conftest import collect, connect, drain, raw_frames, request, wait_closed

pytestmark = [pytest.mark.integration, pytest.mark.faults]
BTC_TRADES = {"type": "trade", "codes": ["KRW-BTC"]}


@pytest.fixture
def sim(simulator_factory):  # type: ignore[no-untyped-def]
    return simulator_factory(no_connect_limit=True, rate=300, markets=["KRW-BTC", "KRW-ETH"], control_port=0)


@pytest.mark.parametrize("exchange", ["upbit", "bithumb"])
def test_drop_abort_cuts_every_connection_without_close_frame(sim, exchange: str) -> None:  # type: ignore[no-untyped-def]
    sockets = [connect(sim.url(exchange)) for _ in range(3)]
    for ws in sockets:
        ws.send(request(BTC_TRADES))
        collect(ws, 2)
    assert sim.drop(exchange, mode="abort")["dropped"] == 3
    assert [wait_closed(ws, 5)[0] for ws in sockets] == ["eof"] * 3
    fresh = connect(sim.url(exchange))  # the venue keeps accepting afterwards
    fresh.send(request(BTC_TRADES))
    assert collect(fresh, 2)
    fresh.close()


def test_drop_close_sends_close_frame_with_code(sim) -> None:  # type: ignore[no-untyped-def]
    ws = connect(sim.upbit_url)
    ws.send(request(BTC_TRADES))
    collect(ws, 2)
    sim.drop("upbit", mode="close", code=1001)
    how = "frames"
    while how == "frames":
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            how = f"close:{int.from_bytes(data[:2], 'big')}"
    assert how == "close:1001"


def test_stall_stops_data_but_keeps_the_connection(sim) -> None:  # type: ignore[no-untyped-def]
    ws = connect(sim.upbit_url)
    ws.send(request(BTC_TRADES))
    assert collect(ws, 5)
    sim.stall(2.0)
    time.sleep(0.2)
    collect(ws, seconds=0.2)  # frames already written before the stall
    silent = collect(ws, seconds=1.2)
    ws.ping(b"alive")
    pong = ws.recv_data(control_frame=True)
    time.sleep(0.8)
    resumed = collect(ws, 5, seconds=3)
    ws.close()
    assert silent == []
    assert pong == (websocket.ABNF.OPCODE_PONG, b"alive")  # not frozen: pongs still come
    assert len(resumed) == 5


def test_frozen_stall_leaves_pings_unanswered(sim) -> None:  # type: ignore[no-untyped-def]
    ws = connect(sim.upbit_url)
    ws.send(request(BTC_TRADES))
    collect(ws, 3)
    sim.stall(1.5, freeze=True)
    time.sleep(0.2)
    collect(ws, seconds=0.2)
    ws.ping(b"anyone")
    ws.settimeout(0.8)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv_data(control_frame=True)
    ws.settimeout(5)
    opcode, data = ws.recv_data(control_frame=True)  # answered once the stall ends
    ws.close()
    assert (opcode, data) == (websocket.ABNF.OPCODE_PONG, b"anyone")


@pytest.mark.parametrize(("kind", "opcode", "check"), [
    ("json", websocket.ABNF.OPCODE_BINARY, "bad-json"),
    ("binary", websocket.ABNF.OPCODE_BINARY, "bad-utf8"),
    ("text", websocket.ABNF.OPCODE_TEXT, "bad-json"),
])
def test_garbage_frames_are_interleaved_into_the_stream(sim, kind: str, opcode: int, check: str) -> None:  # type: ignore[no-untyped-def]
    ws = connect(sim.bithumb_url)
    ws.send(request(BTC_TRADES))
    collect(ws, 2)
    assert sim.garbage(4, exchange="bithumb", kind=kind)["connections"] == 1
    frames = raw_frames(ws, 1.5)
    ws.close()
    bad = []
    for i, (op, data) in enumerate(frames):
        try:
            json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
        except UnicodeDecodeError:
            bad.append((i, op, "bad-utf8"))
        except ValueError:
            bad.append((i, op, "bad-json"))
    assert [(op, what) for _, op, what in bad] == [(opcode, check)] * 4
    positions = [i for i, _, _ in bad]
    assert all(b - a >= 2 for a, b in zip(positions, positions[1:], strict=False))  # a good frame between
    assert len(frames) > positions[-1] + 1  # and the stream goes on


@pytest.mark.parametrize("status", [429, 503])
def test_refuse_rejects_upgrades_for_a_while(sim, status: int) -> None:  # type: ignore[no-untyped-def]
    sim.refuse(1.0, exchange="upbit", status=status)
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(sim.upbit_url, timeout=5)
    assert info.value.status_code == status
    connect(sim.bithumb_url).close()  # the other venue is unaffected
    time.sleep(1.1)
    connect(sim.upbit_url).close()


def test_set_rate_at_runtime_and_reset_counters(sim) -> None:  # type: ignore[no-untyped-def]
    ws = connect(sim.upbit_url)
    ws.send(request(BTC_TRADES, {"type": "orderbook", "codes": ["KRW-BTC"]}))
    sim.set_rate(20)
    time.sleep(0.3)
    collect(ws, seconds=0.2)
    slow = len(collect(ws, seconds=2.0))
    sim.set_rate(1000, trade_ratio=1.0)
    time.sleep(0.2)
    collect(ws, seconds=0.2)
    fast = collect(ws, seconds=2.0)
    assert 20 <= slow <= 80
    assert len(fast) >= 1000 and {f["type"] for f in fast} == {"trade"}
    assert sim.sent_log()["trade_count"] > 0
    sim.reset()
    after = sim.sent_log()
    ws.close()
    assert after["trade_count"] < 300 and after["orderbook_count"] == 0


def test_separate_control_port_addresses_both_venues(sim) -> None:  # type: ignore[no-untyped-def]
    base = f"http://127.0.0.1:{sim.control_port}/control"
    with urllib.request.urlopen(f"{base}/stats") as resp:
        both = json.loads(resp.read())
    with urllib.request.urlopen(f"{base}/rate?exchange=bithumb&value=42") as resp:
        one = json.loads(resp.read())
    assert set(both) == {"upbit", "bithumb"}
    assert one == {"exchange": "bithumb", "rate": 42.0, "trade_ratio": 0.5}
    assert sim.stats("bithumb")["rate"] == 42.0 and sim.stats("upbit")["rate"] == 300.0


def test_in_process_api_runs_in_a_thread_and_injects_faults() -> None:
    handle = SimulatorThread(SimulatorOptions(rate=200, markets=["KRW-BTC"], connect_limit=False))
    ports = handle.start()
    try:
        assert ports["upbit"] and ports["bithumb"]
        ws = connect(handle.url("upbit"))
        ws.send(request(BTC_TRADES))
        assert collect(ws, 3)
        assert handle.control("upbit", "drop", mode="abort")["dropped"] == 1
        assert wait_closed(ws, 5)[0] == "eof"
        log = handle.control("upbit", "sent")
        assert isinstance(log["trade_count"], int) and log["trade_count"] >= 3
    finally:
        handle.stop()


def test_slow_reader_gets_frames_shed_and_the_sent_log_stays_exact(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory(no_connect_limit=True, rate=4000, max_backlog=300, markets=["KRW-BTC", "KRW-ETH"])
    ws = connect(sim.upbit_url)
    ws.send(request({"type": "trade", "codes": ["KRW-BTC", "KRW-ETH"]},
                    {"type": "orderbook", "codes": ["KRW-BTC", "KRW-ETH"]}))
    time.sleep(3.0)  # read nothing: kernel buffers fill, then the connection's queue
    stats = sim.stats()
    sim.stall(60)
    frames = drain(ws)  # everything written before the stall
    ws.close()
    log = sim.sent_log()
    assert stats["shed"] > 0 and stats["backlog"] <= 300 + 4000 * 0.03
    received: dict[str, list[int]] = {}
    for frame in frames:
        if frame["type"] == "trade":
            received.setdefault(frame["code"], []).append(frame["sequential_id"])
    assert received == log["trades"]
    assert len(frames) == log["trade_count"] + log["orderbook_count"]
