"""Seed S1.3: ExchangeConfig validation."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from connectors.backoff import ReconnectBudget
from domain.config import ExchangeConfig
from domain.exceptions import ValidationException

pytestmark = pytest.mark.unit


def config(**changes: Any) -> ExchangeConfig:
    values: dict[str, Any] = {"name": "upbit", "ws_url": "wss://api.upbit.com/websocket/v1",
                              "rest_url": "https://api.upbit.com", "markets": ("KRW-BTC", "KRW-ETH")}
    values.update(changes)
    return ExchangeConfig(**values)


def test_S1_3_a_config_is_frozen_with_the_required_fields() -> None:
    cfg = config()
    names = {f.name for f in dataclasses.fields(cfg)}
    assert {"name", "ws_url", "rest_url", "markets", "ping_interval_s", "max_reconnect_attempts"} <= names
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.markets = ("KRW-XRP",)  # type: ignore[misc]


def test_S1_3_b_ping_interval_validated_against_idle_timeout() -> None:
    assert config().ping_interval_s == 30.0  # two pings inside the observed 60 s idle close
    assert config(ping_interval_s=45).ping_interval_s == 45
    for bad in (29.9, 0, -1, 60, 61, float("nan"), True):
        with pytest.raises(ValidationException, match="ping_interval_s"):
            config(ping_interval_s=bad)
    assert config(idle_timeout_s=120, ping_interval_s=90).ping_interval_s == 90
    with pytest.raises(ValidationException, match="pong_timeout_s"):
        config(pong_timeout_s=30)


def test_S1_3_c_duplicate_markets_removed() -> None:
    cfg = config(markets=["krw-btc", "KRW-BTC", "KRW-ETH", " krw-eth "])
    assert cfg.markets == ("KRW-BTC", "KRW-ETH")
    with pytest.raises(ValidationException, match="BTC-KRW"):
        config(markets=["BTC-KRW"])


def test_S1_3_d_zero_reconnect_attempts_means_forever() -> None:
    budget = ReconnectBudget.from_config(config(max_reconnect_attempts=0))
    for _ in range(1000):
        assert budget.begin_attempt()
    limited = ReconnectBudget.from_config(config(max_reconnect_attempts=2))
    assert limited.begin_attempt() and limited.begin_attempt() and not limited.begin_attempt()
    with pytest.raises(ValidationException):
        config(max_reconnect_attempts=-1)


def test_S1_3_e_no_credentials_on_the_config() -> None:
    names = " ".join(f.name for f in dataclasses.fields(ExchangeConfig)).lower()
    for word in ("key", "secret", "token", "password", "credential", "auth"):
        assert word not in names
    with pytest.raises(TypeError):
        config(api_key="x")


@pytest.mark.parametrize("field,url", [
    ("ws_url", "ws://api.upbit.com/websocket/v1"), ("ws_url", "https://api.upbit.com"),
    ("ws_url", "wss://"), ("ws_url", "not a url"), ("rest_url", "http://api.upbit.com"),
    ("rest_url", "ftp://api.upbit.com"), ("ws_url", ""),
])
def test_S1_3_f_urls_validated(field: str, url: str) -> None:
    with pytest.raises(ValidationException, match=field):
        config(**{field: url})


def test_S1_3_f_plain_urls_allowed_for_loopback_only() -> None:
    cfg = config(ws_url="ws://127.0.0.1:18765/websocket/v1", rest_url="http://localhost:18766")
    assert cfg.ws_url.startswith("ws://127.0.0.1")
    assert config(ws_url="ws://[::1]:9000/ws").ws_url == "ws://[::1]:9000/ws"


def test_S1_3_g_backoff_settings_are_configuration() -> None:
    cfg = config()
    assert (cfg.backoff_initial_s, cfg.backoff_factor, cfg.backoff_max_s) == (1.0, 2.0, 60.0)
    assert 0 < cfg.backoff_jitter < 1
    cfg = config(backoff_initial_s=0.5, backoff_factor=3, backoff_max_s=10, backoff_jitter=0)
    budget = ReconnectBudget.from_config(cfg)
    assert budget.delay_s() == 0.5
    budget.begin_attempt()
    assert budget.delay_s() == 1.5
    for bad in ({"backoff_max_s": 61}, {"backoff_factor": 0.5}, {"backoff_jitter": 1.0},
                {"backoff_initial_s": 5, "backoff_max_s": 2}):
        with pytest.raises(ValidationException, match="backoff"):
            config(**bad)


def test_S1_3_h_empty_markets_rejected() -> None:
    for empty in ((), [], None):  # type: ignore[var-annotated]
        with pytest.raises(ValidationException, match="markets must not be empty"):
            config(markets=empty)


def test_config_normalises_names_and_rejects_unknowns() -> None:
    cfg = config(name=" Bithumb ", format="simple", data_types=["orderbook", "orderbook"])
    assert (cfg.name, cfg.format, cfg.data_types) == ("bithumb", "SIMPLE", ("orderbook",))
    for bad in ({"name": "binance"}, {"format": "JSON_LIST"}, {"data_types": ["ticker"]},
                {"orderbook_depth": 31}, {"markets_per_connection": 0}, {"quote_currencies": ()}):
        with pytest.raises(ValidationException):
            config(**bad)
