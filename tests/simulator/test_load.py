"""Load mode (`--load`): frames rendered ahead and written in chunks, still the venues' protocol and
still logged. Checked over real sockets against normal mode."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from typing import Any

import pytest
import websocket

from simulator.load import frame_header, ws_frame
from tests.simulator.conftest import collect, connect, drain, raw_frames, request
from tests.support.simulator_process import REPO_ROOT, SimulatorProcess

EXCHANGES = ("upbit", "bithumb")
CODES = ["KRW-BTC", "KRW-ETH", "KRW-XRP"]


@pytest.mark.unit
@pytest.mark.parametrize("length", [0, 125, 126, 65_535, 65_536, 70_000])
def test_frame_header_encodes_the_payload_length(length: int) -> None:
    frame = ws_frame(b"x" * length)
    assert frame[0] == 0x82  # FIN, binary, never masked (server to client)
    assert frame[1] & 0x80 == 0
    short = frame[1] & 0x7F
    if length < 126:
        assert (short, len(frame)) == (length, 2 + length)
    elif length < 1 << 16:
        assert short == 126 and int.from_bytes(frame[2:4], "big") == length and len(frame) == 4 + length
    else:
        assert short == 127 and int.from_bytes(frame[2:10], "big") == length and len(frame) == 10 + length
    assert frame_header(3, 0x1)[0] == 0x81


def _subscribe_all(ws: websocket.WebSocket, codes: list[str], fmt: str | None = None) -> None:
    ws.send(request({"type": "trade", "codes": codes}, {"type": "orderbook", "codes": codes}, fmt=fmt))


def _by_kind(frames: list[dict[str, Any]], type_key: str = "type") -> dict[str, list[dict[str, Any]]]:
    out: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for frame in frames:
        out[frame[type_key]].append(frame)
    return out


@pytest.mark.integration
@pytest.mark.parametrize("exchange", EXCHANGES)
@pytest.mark.parametrize(("fmt", "keys"), [
    (None, ("type", "code", "timestamp", "trade_timestamp", "sequential_id", "stream_type")),
    ("SIMPLE", ("ty", "cd", "tms", "ttms", "sid", "st")),
])
def test_load_frames_have_the_shape_of_normal_frames(shared_simulator: SimulatorProcess, simulator_factory: Any,
                                                     exchange: str, fmt: str | None, keys: tuple[str, ...]) -> None:
    ty, cd, tms, ttms, sid, st = keys
    load = simulator_factory(markets=CODES, rate=600, load=True, no_connect_limit=True)
    ws = connect(load.url(exchange))
    _subscribe_all(ws, CODES, fmt)
    raw = raw_frames(ws, 1.5)
    ws.close()
    assert len(raw) > 100
    assert {opcode for opcode, _ in raw} == {websocket.ABNF.OPCODE_BINARY}
    frames = [json.loads(data.decode("utf-8")) for _, data in raw]
    normal_ws = connect(shared_simulator.url(exchange))
    _subscribe_all(normal_ws, CODES, fmt)
    normal = _by_kind(collect(normal_ws, 80), ty)
    normal_ws.close()

    seen: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for frame in frames:
        seen[(frame[ty], frame[cd])].append(frame[st])
    assert set(seen) == {(t, c) for t in ("trade", "orderbook") for c in CODES}
    for stream_types in seen.values():
        assert stream_types[0] == "SNAPSHOT" and stream_types.count("SNAPSHOT") == 1
        assert len(stream_types) > 5
    loaded = _by_kind(frames, ty)
    for kind in ("trade", "orderbook"):  # same keys in the same order as normal mode, and same depth
        assert [list(f) for f in loaded[kind]] == [list(normal[kind][0])] * len(loaded[kind])
    book_units = "obu" if fmt else "orderbook_units"
    assert {len(f[book_units]) for f in loaded["orderbook"]} == {len(normal["orderbook"][0][book_units])}

    now_ms = time.time() * 1000
    ids: defaultdict[str, list[int]] = defaultdict(list)
    for trade in loaded["trade"]:
        assert trade[sid] // 10_000 == trade[ttms] and trade[sid] > 2**53
        assert trade[ttms] <= trade[tms] and abs(trade[tms] - now_ms) < 30_000
        ids[trade[cd]].append(trade[sid])
    for code, sids in ids.items():
        assert sids == sorted(set(sids)), f"{code}: trade ids repeat or go back"
    stamp_digits = 16 if exchange == "bithumb" else 13
    assert {len(str(b[tms])) for b in loaded["orderbook"]} == {stamp_digits}
    realtime_prices = {f["trade_price" if not fmt else "tp"] for f in loaded["trade"]}
    assert len(realtime_prices) > 1  # the pool holds real, varying trades


@pytest.mark.integration
@pytest.mark.parametrize("exchange", EXCHANGES)
def test_load_sent_log_matches_what_the_client_read(simulator_factory: Any, exchange: str) -> None:
    sim = simulator_factory(market_count=20, rate=0, load=True, idle_timeout=0)
    _, markets = sim.get_json(sim.rest(exchange) + "/v1/market/all")
    codes = [m["market"] for m in markets]
    ws = connect(sim.url(exchange))
    _subscribe_all(ws, codes)
    sim.set_rate(4000, exchange)
    frames = collect(ws, seconds=2.0)
    sim.set_rate(0, exchange)
    time.sleep(0.1)  # past the feed's last tick
    logged = sim.stats(exchange)["logged"]
    frames += collect(ws, count=logged - len(frames), seconds=30.0)  # what is still in flight
    frames += drain(ws, quiet=0.5)  # and nothing beyond it
    ws.close()
    log = sim.sent_log(exchange)
    read_trades: defaultdict[str, list[int]] = defaultdict(list)
    read_books: Counter[str] = Counter()
    for frame in frames:
        if frame["type"] == "trade":
            read_trades[frame["code"]].append(frame["sequential_id"])
        else:
            read_books[frame["code"]] += 1
    assert log["trade_count"] + log["orderbook_count"] == len(frames) > 4000
    stats = sim.stats(exchange)
    assert (stats["logged"], stats["backlog"], stats["buffered_bytes"]) == (len(frames), 0, 0)
    assert log["trades"] == dict(read_trades)
    assert log["orderbooks"] == dict(read_books)


@pytest.mark.integration
def test_load_injects_garbage_between_data_frames(simulator_factory: Any) -> None:
    sim = simulator_factory(markets=CODES, rate=400, load=True)
    ws = connect(sim.upbit_url)
    _subscribe_all(ws, CODES)
    collect(ws, 20)
    sim.garbage(3, kind="text")
    frames = raw_frames(ws, 1.0)
    ws.close()
    texts = [data for opcode, data in frames if opcode == websocket.ABNF.OPCODE_TEXT]
    assert len(texts) == 3 and all(t.startswith(b'{"type":"trade"') for t in texts)
    binary = [json.loads(data) for opcode, data in frames if opcode == websocket.ABNF.OPCODE_BINARY]
    assert len(binary) > 20


@pytest.mark.integration
def test_load_offers_twenty_thousand_frames_per_second_from_one_process(simulator_factory: Any) -> None:
    rate, seconds = 20_000, 4.0
    sim = simulator_factory(market_count=100, rate=0, load=True, idle_timeout=0)
    _, markets = sim.get_json(sim.upbit_rest + "/v1/market/all")
    ws = connect(sim.upbit_url)
    _subscribe_all(ws, [m["market"] for m in markets])
    for _ in range(2 * len(markets)):  # one snapshot per (type, code), nothing else at rate 0
        ws.recv_data()
    sim.reset()
    produced0 = sim.stats()["events_produced"]
    sim.set_rate(rate)
    began, read = time.monotonic(), 0
    while time.monotonic() - began < seconds:
        ws.recv_data()
        read += 1
    elapsed = time.monotonic() - began
    stats = sim.stats()
    sim.set_rate(0)
    read += len(drain(ws, quiet=1.0))
    ws.close()
    produced = stats["events_produced"] - produced0
    assert produced / elapsed >= 0.9 * rate, f"offered only {produced / elapsed:.0f} frames/s"
    assert read / elapsed >= 0.5 * rate, f"read only {read / elapsed:.0f} frames/s"
    log = sim.sent_log()
    assert log["trade_count"] + log["orderbook_count"] == read  # shed frames are neither written nor logged


@pytest.mark.integration
@pytest.mark.parametrize("argv", [["--load", "--replay", "x.jsonl"], ["--load", "--load-pool", "0"]])
def test_bad_load_options_exit_with_an_error(argv: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "simulator", *argv], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert "simulator:" in result.stderr
