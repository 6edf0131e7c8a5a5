"""Exchange capabilities live in one place: the settings schema, ``ExchangeConfig``, the protocol
adapters and the connect pacer give the same answer for every value."""
from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from domain.capabilities import (
    CAPABILITIES,
    EXCHANGE_NAMES,
    MAX_CONNECTIONS_PER_EXCHANGE,
    MAX_MARKETS_PER_EXCHANGE,
)
from domain.config import ExchangeConfig
from domain.exceptions import ValidationException
from exchanges.registry import NAMES, get_adapter
from settings.schema import ExchangeSchema
from supervision.connect_pacer import DEFAULT_RATES

pytestmark = pytest.mark.unit

URLS = {"upbit": "wss://api.upbit.com/websocket/v1", "bithumb": "wss://ws-api.bithumb.com/websocket/v1",
        "bithumb-legacy": "wss://pubwss.bithumb.com/pub/ws"}


def entry(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ws_url": URLS[name], "rest_url": "https://api.bithumb.com", "markets": ["KRW-BTC"],
            **extra}


def schema_accepts(name: str, **extra: Any) -> bool:
    try:
        ExchangeSchema().load(entry(name, **extra))
    except ValidationError:
        return False
    return True


def config_accepts(name: str, **extra: Any) -> bool:
    fields = entry(name, **extra)
    fields["markets"] = tuple(fields["markets"])
    try:
        ExchangeConfig(**fields)
    except ValidationException:
        return False
    return True


def adapter_accepts(name: str, depth: int | None = None, fmt: str = "DEFAULT") -> bool:
    try:
        get_adapter(name).subscription_request(["KRW-BTC"], depth=depth, fmt=fmt)
    except ValueError:
        return False
    return True


def test_every_registered_exchange_has_capabilities() -> None:
    assert set(NAMES) == set(EXCHANGE_NAMES)
    assert {name: caps.connects_per_s for name, caps in CAPABILITIES.items()} == DEFAULT_RATES
    assert (DEFAULT_RATES["upbit"], DEFAULT_RATES["bithumb"]) == (5.0, 10.0)


@pytest.mark.parametrize("name", EXCHANGE_NAMES)
def test_orderbook_depth_accepted_alike_by_schema_config_and_adapter(name: str) -> None:
    for depth in range(0, 41):
        answers = (schema_accepts(name, orderbook_depth=depth), config_accepts(name, orderbook_depth=depth),
                   adapter_accepts(name, depth=depth))
        assert answers in ((True, True, True), (False, False, False)), (name, depth, answers)
        assert answers[0] == (depth in CAPABILITIES[name].orderbook_depths)
    assert schema_accepts(name, orderbook_depth=None) and config_accepts(name, orderbook_depth=None)


def test_bithumb_depth_30_is_refused_and_the_message_says_what_is_allowed() -> None:
    with pytest.raises(ValidationError) as info:
        ExchangeSchema().load(entry("bithumb", orderbook_depth=30))
    assert info.value.messages == {"orderbook_depth": ["null or one of 1 to 15 (null: 15 levels) on bithumb"]}
    with pytest.raises(ValidationException, match="orderbook_depth must be null or one of 1 to 15"):
        ExchangeConfig(**{**entry("bithumb", orderbook_depth=30), "markets": ("KRW-BTC",)})
    assert schema_accepts("upbit", orderbook_depth=30) and not schema_accepts("upbit", orderbook_depth=20)


@pytest.mark.parametrize("name", EXCHANGE_NAMES)
def test_formats_accepted_alike(name: str) -> None:
    for fmt in ("DEFAULT", "SIMPLE", "JSON_LIST"):
        answers = (schema_accepts(name, format=fmt), config_accepts(name, format=fmt),
                   adapter_accepts(name, fmt=fmt))
        assert answers in ((True, True, True), (False, False, False)), (name, fmt, answers)
        assert answers[0] == (fmt in CAPABILITIES[name].formats)


@pytest.mark.parametrize("name", EXCHANGE_NAMES)
def test_markets_per_connection_bounded_by_the_exchange(name: str) -> None:
    top = CAPABILITIES[name].max_codes_per_connection
    for value, ok in ((1, True), (top, True), (top + 1, False), (0, False)):
        assert schema_accepts(name, markets_per_connection=value) is ok, (name, value)
        assert config_accepts(name, markets_per_connection=value) is ok, (name, value)


def test_market_and_connection_counts_are_bounded_alike() -> None:
    codes = [f"KRW-C{i}" for i in range(MAX_MARKETS_PER_EXCHANGE + 1)]
    assert not schema_accepts("upbit", markets=codes) and not config_accepts("upbit", markets=codes)
    assert schema_accepts("upbit", markets=codes[:-1]) and config_accepts("upbit", markets=codes[:-1])
    # 50 connections of 4 codes pass; one more code needs a 51st connection
    codes = codes[:MAX_CONNECTIONS_PER_EXCHANGE * 4]
    assert schema_accepts("upbit", markets=codes, markets_per_connection=4)
    assert config_accepts("upbit", markets=codes, markets_per_connection=4)
    codes = [*codes, "KRW-EXTRA"]
    assert not schema_accepts("upbit", markets=codes, markets_per_connection=4)
    assert not config_accepts("upbit", markets=codes, markets_per_connection=4)


def test_market_codes_follow_one_rule_in_schema_and_config() -> None:
    for code in ("KRW-BTC", "krw-eth", "KRW-1INCH", "BTC-KRW", "KRW-KRW", "KRWBTC", "USDT-BTC", "KRW-" + "A" * 21,
                 "ABCDEFGHIJK-BTC", "KRW-A_B", ""):
        assert schema_accepts("upbit", markets=[code]) == config_accepts("upbit", markets=[code]), code
