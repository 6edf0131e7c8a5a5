"""Unit tests of the simulator's pure parts: tick grid, number spelling, generator, request parsing."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from simulator.generator import SID_FACTOR, MarketGenerator
from simulator.markets import DEFAULT_MARKETS, generated_markets, select_markets
from simulator.number_format import java_double, plain, scaled, units_java, units_plain, units_scaled
from simulator.profiles import BITHUMB, UPBIT
from simulator.ratelimit import ConnectRateLimiter
from simulator.subscription import RequestError, parse_request
from simulator.ticks import floor_to_tick, is_on_grid, step_down, step_up, tick_size

pytestmark = pytest.mark.unit
NOW = 1_790_134_742_106
KNOWN = {"KRW-BTC", "KRW-ETH"}


@pytest.mark.parametrize(("price", "tick"), [
    ("116539000", "1000"), ("1500000", "1000"), ("812000", "500"), ("236500", "100"), ("99950", "50"),
    ("34250", "10"), ("5530", "5"), ("3120", "1"), ("975", "1"), ("57.31", "0.01"), ("4.786", "0.001"),
    ("0.5", "0.0001"), ("0.01723", "0.00001"), ("0.00905", "0.000001"), ("0.000905", "0.0000001"),
    ("0.00005", "0.00000001"),
])
def test_tick_size_follows_the_krw_price_bands(price: str, tick: str) -> None:
    assert tick_size(Decimal(price)) == Decimal(tick)


def test_floor_and_steps_stay_on_the_grid_across_band_edges() -> None:
    assert floor_to_tick(Decimal("116539123")) == Decimal("116539000")
    assert step_down(Decimal("100000")) == Decimal("99950")  # crossing into the 50-KRW band
    assert step_up(Decimal("99950")) == Decimal("100000")
    price = Decimal("9990")
    for _ in range(50):
        price = step_up(price)
        assert is_on_grid(price)
    assert not is_on_grid(Decimal("100050"))


def test_java_double_spelling_matches_the_wire_samples() -> None:
    assert java_double(Decimal("116539000")) == "1.16539E8"
    assert java_double(Decimal("0.00079276")) == "7.9276E-4"
    assert java_double(Decimal("0.0005")) == "5.0E-4"
    assert java_double(Decimal("6727000")) == "6727000.0"
    assert java_double(Decimal("64464.09")) == "64464.09"
    assert java_double(Decimal("0")) == "0.0"


def test_scaled_and_plain_spelling() -> None:
    assert scaled(Decimal("31883000")) == "31883000.00000000"
    assert scaled(Decimal("0")) == "0E-8"
    assert plain(Decimal("93332000")) == "93332000"
    assert plain(Decimal("0.08920")) == "0.0892"
    assert units_scaled(77_720) == "0.00077720"
    assert units_plain(845_923_456, 4) == "8.4592"
    assert units_plain(40, 4) == "0"  # Bithumb dust prints as 0
    assert units_java(79_276) == "7.9276E-4"


def test_generator_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> list[tuple[Decimal, int, str]]:
        gen = MarketGenerator(DEFAULT_MARKETS[0], "upbit", seed, NOW)
        out = []
        for i in range(200):
            if i % 3:
                gen.book_update()
            else:
                trade = gen.trade(NOW + i)
                out.append((trade.price, trade.volume, trade.ask_bid))
        return out

    assert run(7) == run(7)
    assert run(7) != run(8)


@pytest.mark.parametrize("market", [*DEFAULT_MARKETS, *generated_markets(60)[-20:]], ids=lambda m: m.code)
def test_books_are_on_grid_uncrossed_and_sorted(market: object) -> None:
    gen = MarketGenerator(market, "bithumb", 3, NOW, size_places=4)  # type: ignore[arg-type]
    for i in range(300):
        gen.trade(NOW + i) if i % 2 else gen.book_update()
        asks = [p for p, _ in gen.book.asks]
        bids = [p for p, _ in gen.book.bids]
        assert len(asks) == len(bids) == 30
        assert bids[0] < asks[0]
        assert asks == sorted(asks) and len(set(asks)) == 30
        assert bids == sorted(bids, reverse=True) and len(set(bids)) == 30
        assert all(is_on_grid(p) for p in asks + bids)
        assert all(size % 10_000 == 0 for _, size in gen.book.asks + gen.book.bids)


def test_sequential_ids_are_unique_and_encode_the_trade_time() -> None:
    gen = MarketGenerator(DEFAULT_MARKETS[1], "upbit", 1, NOW)
    trades = [gen.trade(NOW + i // 50) for i in range(5000)]  # 50 trades per millisecond
    sids = [t.sequential_id for t in trades]
    assert len(set(sids)) == len(sids)
    assert all(sid > 2**53 for sid in sids)
    assert all(t.sequential_id // SID_FACTOR == t.trade_timestamp for t in trades)


def test_market_selection() -> None:
    assert [m.code for m in select_markets(["KRW-ETH", "KRW-BTC"], None)] == ["KRW-ETH", "KRW-BTC"]
    many = select_markets(None, 1200)
    assert len({m.code for m in many}) == 1200 and many[-1].code == "KRW-C1166"
    with pytest.raises(ValueError):
        select_markets(["krw-btc"], None)


def test_parse_request_reads_options_in_the_venue_spelling() -> None:
    text = json.dumps([{"ticket": "t"}, {"type": "trade", "codes": ["KRW-BTC"], "is_only_snapshot": True},
                       {"type": "orderbook", "codes": ["KRW-ETH"], "isOnlyRealtime": True}])
    upbit = parse_request(text, UPBIT, KNOWN)
    bithumb = parse_request(text, BITHUMB, KNOWN)
    assert [(s.only_snapshot, s.only_realtime) for s in upbit.streams] == [(True, False), (False, False)]
    assert [(s.only_snapshot, s.only_realtime) for s in bithumb.streams] == [(False, False), (False, True)]


def test_parse_request_depth_suffix_and_unknown_codes() -> None:
    text = json.dumps([{"ticket": "t"}, {"type": "orderbook", "codes": ["KRW-BTC.5", "KRW-ETH.20", "krw-btc",
                                                                        "KRW-NOPE"]}])
    assert parse_request(text, UPBIT, KNOWN).codes_for("orderbook") == {"KRW-BTC": 5, "KRW-ETH": 30}
    assert parse_request(text, BITHUMB, KNOWN).codes_for("orderbook") == {"KRW-BTC": 5, "KRW-ETH": 15}


@pytest.mark.parametrize(("text", "name"), [
    ("not json", "WRONG_FORMAT"),
    ('{"ticket":"t"}', "WRONG_FORMAT"),
    ('[{"type":"trade","codes":["KRW-BTC"]}]', "NO_TICKET"),
    ('[{"ticket":"t"}]', "NO_TYPE"),
    ('[{"ticket":"t"},{"type":"trade"}]', "NO_CODES"),
    ('[{"ticket":"t"},{"type":"trade","codes":[]}]', "INVALID_PARAM"),
    ('[{"ticket":"t"},{"type":"nope","codes":["KRW-BTC"]}]', "INVALID_PARAM"),
])
def test_parse_request_errors(text: str, name: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_request(text, UPBIT, KNOWN)
    assert info.value.name == name
    assert json.loads(info.value.frame())["error"]["name"] == name


def test_unknown_format_is_ignored_on_upbit_and_rejected_on_bithumb() -> None:
    text = '[{"ticket":"t"},{"type":"trade","codes":["KRW-BTC"]},{"format":"{}"}]'
    assert parse_request(text, UPBIT, KNOWN).format == "DEFAULT"
    with pytest.raises(RequestError, match="INVALID_PARAM"):
        parse_request(text, BITHUMB, KNOWN)


def test_connect_rate_limiter_window() -> None:
    limiter = ConnectRateLimiter(5)
    assert [limiter.allow("a", now=10.0 + i * 0.01) for i in range(7)] == [True] * 5 + [False] * 2
    assert limiter.allow("b", now=10.1)
    assert limiter.allow("a", now=11.01)
    assert all(ConnectRateLimiter(0).allow("a", now=1.0) for _ in range(100))
