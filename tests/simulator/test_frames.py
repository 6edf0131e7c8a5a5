"""Frame contents per venue: orderbook depth, time units and zones, number spelling, SIMPLE keys."""
from __future__ import annotations

import re
import time

import pytest

from tests.simulator.conftest import collect, connect, raw_frames, request
from tests.support.simulator_process import SimulatorProcess

pytestmark = pytest.mark.integration
EXCHANGES = ("upbit", "bithumb")


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
