"""Market data, the sent-trade log, connection limits, REST and replay, over real sockets."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
import websocket

from simulator.ticks import is_on_grid
from tests.simulator.conftest import collect, connect, raw_frames, request
from tests.support.simulator_process import SimulatorProcess

pytestmark = pytest.mark.integration
FIXTURES = Path("/work/shared/fixtures")


def _upgrade_status(url: str) -> int:
    try:
        websocket.create_connection(url, timeout=5).close()
        return 101
    except websocket.WebSocketBadStatusException as exc:
        return exc.status_code


@pytest.mark.parametrize(("exchange", "limit"), [("upbit", 5), ("bithumb", 10)])
def test_connection_rate_limit_answers_429(simulator_factory, exchange: str, limit: int) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory()
    statuses = [_upgrade_status(sim.url(exchange)) for _ in range(limit + 3)]
    assert statuses[:limit] == [101] * limit
    assert 429 in statuses[limit:]
    time.sleep(1.1)
    assert _upgrade_status(sim.url(exchange)) == 101


def test_connection_rate_limit_can_be_disabled(shared_simulator: SimulatorProcess) -> None:
    assert [_upgrade_status(shared_simulator.upbit_url) for _ in range(15)] == [101] * 15


@pytest.mark.parametrize("exchange", ["upbit", "bithumb"])
def test_prices_on_tick_grid_and_best_bid_below_best_ask(shared_simulator: SimulatorProcess, exchange: str) -> None:
    codes = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-DOGE", "KRW-SHIB", "KRW-BTT", "KRW-AAVE", "KRW-DOT"]
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "trade", "codes": codes}, {"type": "orderbook", "codes": codes}))
    frames = collect(ws, 300, seconds=8)
    ws.close()
    books = [f for f in frames if f["type"] == "orderbook"]
    trades = [f for f in frames if f["type"] == "trade"]
    assert {f["code"] for f in books} == set(codes)
    for book in books:
        units = book["orderbook_units"]
        asks = [Decimal(str(u["ask_price"])) for u in units]
        bids = [Decimal(str(u["bid_price"])) for u in units]
        assert bids[0] < asks[0]
        assert asks == sorted(asks) and bids == sorted(bids, reverse=True)
        assert all(is_on_grid(p) for p in asks + bids)
    for trade in trades:
        assert is_on_grid(Decimal(str(trade["trade_price"])))
        assert trade["best_bid_price"] < trade["best_ask_price"]


def test_sent_log_lists_every_trade_sent_and_ids_derive_from_time(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory(no_connect_limit=True, rate=2000, markets=["KRW-BTC", "KRW-ETH", "KRW-XRP"])
    ws = connect(sim.upbit_url)
    ws.send(request({"type": "trade", "codes": ["KRW-BTC", "KRW-ETH"]}, {"type": "orderbook", "codes": ["KRW-XRP"]}))
    frames = collect(ws, 800, seconds=5)
    sim.stall(30)  # freeze output so the log and what was read describe the same frames
    frames += collect(ws, seconds=1.0)
    ws.close()
    log = sim.sent_log()
    received: dict[str, list[int]] = {}
    books: dict[str, int] = {}
    for frame in frames:
        if frame["type"] == "trade":
            received.setdefault(frame["code"], []).append(frame["sequential_id"])
            assert frame["sequential_id"] // 10_000 == frame["trade_timestamp"]
            assert frame["sequential_id"] > 2**53
        else:
            books[frame["code"]] = books.get(frame["code"], 0) + 1
    assert received == log["trades"]
    assert books == log["orderbooks"] == {"KRW-XRP": books["KRW-XRP"]}
    for sids in received.values():
        realtime = sids[1:]  # the first one is the SNAPSHOT (the market's latest trade)
        assert len(set(realtime)) == len(realtime)
    assert log["trade_count"] == sum(len(s) for s in received.values())


def test_timestamp_field_is_the_send_time(shared_simulator: SimulatorProcess) -> None:
    ws = connect(shared_simulator.upbit_url)
    ws.send(request({"type": "trade", "codes": ["KRW-BTC"]}))
    lags = []
    for _ in range(20):
        opcode, data = ws.recv_data()
        lags.append(time.time() * 1000 - json.loads(data)["timestamp"])
    ws.close()
    assert all(-5 <= lag < 1000 for lag in lags)


def test_market_count_generates_codes_and_rest_lists_them(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory(market_count=1500, no_connect_limit=True)
    status, markets = sim.get_json(sim.upbit_rest + "/v1/market/all")
    assert status == 200 and len(markets) == 1500
    codes = [m["market"] for m in markets]
    assert codes[:2] == ["KRW-BTC", "KRW-ETH"] and "KRW-C1466" in codes
    assert set(markets[0]) == {"market", "korean_name", "english_name"}
    ws = connect(sim.upbit_url)
    ws.send(request({"type": "orderbook", "codes": codes}))
    frames = collect(ws, 1500, seconds=10)
    ws.close()
    assert len({f["code"] for f in frames if f["stream_type"] == "SNAPSHOT"}) == 1500


@pytest.mark.parametrize("exchange", ["upbit", "bithumb"])
def test_rest_trades_ticks_newest_first_with_cursor(shared_simulator: SimulatorProcess, exchange: str) -> None:
    base = shared_simulator.rest(exchange)
    ws = connect(shared_simulator.url(exchange))
    ws.send(request({"type": "trade", "codes": ["KRW-ETH"]}))
    streamed = {f["sequential_id"] for f in collect(ws, 30)}
    ws.close()
    status, ticks = shared_simulator.get_json(f"{base}/v1/trades/ticks?market=KRW-ETH&count=200")
    assert status == 200 and len(ticks) == 200
    stamps = [t["timestamp"] for t in ticks]
    assert stamps == sorted(stamps, reverse=True)
    assert streamed <= {t["sequential_id"] for t in ticks}
    assert {"market", "trade_price", "trade_volume", "ask_bid", "sequential_id", "trade_date_utc",
            "trade_time_utc", "prev_closing_price", "change_price", "timestamp"} <= set(ticks[0])
    cursor = ticks[9]["sequential_id"]
    status, page = shared_simulator.get_json(f"{base}/v1/trades/ticks?market=KRW-ETH&count=5&cursor={cursor}")
    assert [t["sequential_id"] for t in page] == [t["sequential_id"] for t in ticks[10:15]]
    assert shared_simulator.get_json(f"{base}/v1/trades/ticks?market=KRW-NOPE")[0] == 404


def test_rest_numbers_are_exact_decimals(shared_simulator: SimulatorProcess) -> None:
    with urllib.request.urlopen(shared_simulator.upbit_rest + "/v1/trades/ticks?market=KRW-BTC&count=5") as resp:
        text = resp.read().decode()
    assert '"trade_price":1165' in text or '"trade_price":11' in text
    parsed = json.loads(text, parse_float=Decimal)
    assert all(isinstance(t["sequential_id"], int) and t["sequential_id"] > 2**53 for t in parsed)


def test_unknown_path_is_404(shared_simulator: SimulatorProcess) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(shared_simulator.upbit_rest + "/v2/nothing")
    assert info.value.code == 404


def test_replay_sends_recorded_frames_verbatim(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    files = [FIXTURES / "upbit_trade.jsonl", FIXTURES / "upbit_orderbook.jsonl"]
    sim = simulator_factory(replay=[str(f) for f in files], rate=100, no_connect_limit=True)
    ws = connect(sim.upbit_url)
    ws.send(request({"type": "trade", "codes": ["KRW-BTC"]}, {"type": "orderbook", "codes": ["KRW-BTC", "USDT-BTC"]}))
    frames = raw_frames(ws, 2.0)
    ws.close()
    expected = [line for f in files for line in f.read_bytes().splitlines() if line.strip()]
    assert [data for _, data in frames] == expected
    assert {opcode for opcode, _ in frames} == {websocket.ABNF.OPCODE_BINARY}


def test_replay_filters_by_subscription(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    path = FIXTURES / "upbit_orderbook.jsonl"
    sim = simulator_factory(replay=[str(path)], rate=100, no_connect_limit=True)
    ws = connect(sim.upbit_url)
    ws.send(request({"type": "orderbook", "codes": ["USDT-BTC"]}))
    frames = raw_frames(ws, 1.0)
    ws.close()
    assert [data for _, data in frames] == [path.read_bytes().splitlines()[0]]


def test_rest_trade_group_limit_answers_429(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory(markets=["KRW-BTC"], rate=50)
    url = f"{sim.upbit_rest}/v1/trades/ticks?market=KRW-BTC&count=1"
    with ThreadPoolExecutor(8) as pool:  # at once, so that they fall into one second
        answers = list(pool.map(lambda _: sim.get_json(url), range(16)))
    statuses = [status for status, _ in answers]
    assert 429 in statuses and statuses.count(200) >= 10
    assert next(body for status, body in answers if status == 429) == {
        "error": {"name": "too_many_requests", "message": "Too many API requests."}}
    assert sim.get_json(f"{sim.upbit_rest}/v1/market/all")[0] == 200  # another group, another count
    time.sleep(1.1)
    assert sim.get_json(url)[0] == 200


def test_upbit_rest_reports_remaining_requests(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory(markets=["KRW-BTC"], rate=50)
    with urllib.request.urlopen(sim.upbit_rest + "/v1/trades/ticks?market=KRW-BTC") as resp:
        header = resp.headers["Remaining-Req"]
    assert header.startswith("group=trade; min=") and header.endswith("; sec=9")


def test_rest_failure_and_trades_made_while_nobody_was_connected(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory(markets=["KRW-BTC", "KRW-ETH"], rate=200, trade_ratio=1.0, no_rest_limit=True)
    sim.reset()
    time.sleep(1.0)  # nobody is connected: the markets trade anyway
    tape = sim.control("tape")
    assert tape["trade_count"] > 50 and sim.sent_log()["trade_count"] == 0
    status, ticks = sim.get_json(sim.upbit_rest + "/v1/trades/ticks?market=KRW-ETH&count=500")
    assert status == 200
    assert set(tape["trades"]["KRW-ETH"]) <= {t["sequential_id"] for t in ticks}
    sim.control("rest_fail", seconds=30)
    assert sim.get_json(sim.upbit_rest + "/v1/trades/ticks?market=KRW-ETH")[0] == 500
    assert sim.get_json(sim.upbit_rest + "/v1/market/all")[0] == 500
    sim.control("clear")
    assert sim.get_json(sim.upbit_rest + "/v1/market/all")[0] == 200


def test_listing_changes_reach_market_all_and_streams(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    sim = simulator_factory(markets=["KRW-BTC", "KRW-ETH"], rate=400, trade_ratio=1.0, no_connect_limit=True)
    assert sim.control("list", code="KRW-NEW1", english_name="New One")["listed"] is True
    _, listing = sim.get_json(sim.upbit_rest + "/v1/market/all")
    assert [m["market"] for m in listing] == ["KRW-BTC", "KRW-ETH", "KRW-NEW1"]
    ws = connect(sim.upbit_url)
    ws.send(request({"type": "trade", "codes": ["KRW-BTC", "KRW-NEW1"]}))
    assert {f["code"] for f in collect(ws, 60)} == {"KRW-BTC", "KRW-NEW1"}
    sim.control("delist", code="KRW-NEW1")
    collect(ws, seconds=0.3)  # frames already queued before the delisting
    after = collect(ws, 60)
    ws.close()
    assert after and {f["code"] for f in after} == {"KRW-BTC"}
    _, listing = sim.get_json(sim.upbit_rest + "/v1/market/all")
    assert [m["market"] for m in listing] == ["KRW-BTC", "KRW-ETH"]
