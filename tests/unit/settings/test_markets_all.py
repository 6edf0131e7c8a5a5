"""``markets: all`` with ``exclude`` and ``markets_refresh_s`` in the settings; a static list as before."""
from __future__ import annotations

from pathlib import Path

import pytest

from domain.config import ExchangeConfig
from domain.exceptions import ValidationException
from settings.errors import SettingsError
from settings.loader import load_settings

pytestmark = pytest.mark.unit


def load(tmp_path: Path, markets: str, extra: str = "") -> ExchangeConfig:
    path = tmp_path / "conf.yaml"
    path.write_text(f"""
exchanges:
  - name: upbit
    ws_url: wss://api.upbit.com/websocket/v1
    rest_url: https://api.upbit.com
    markets: {markets}
{extra}
""")
    return load_settings(path, environ={}).exchanges[0]


def test_markets_all_reads_the_list_later_and_keeps_exclude_and_the_refresh_period(tmp_path: Path) -> None:
    cfg = load(tmp_path, "ALL", "    exclude: [krw-xrp]\n    markets_refresh_s: 60\n    quote_currencies: [KRW, BTC]")
    assert cfg.markets_all and cfg.markets == () and cfg.exclude == ("KRW-XRP",)
    assert cfg.markets_refresh_s == 60.0 and cfg.quote_currencies == ("KRW", "BTC")
    assert load(tmp_path, "all").markets_refresh_s == 300.0


def test_a_static_list_is_followed_as_configured_without_the_excluded(tmp_path: Path) -> None:
    assert load(tmp_path, "[KRW-BTC, KRW-ETH]").markets == ("KRW-BTC", "KRW-ETH")
    cfg = load(tmp_path, "[KRW-BTC, KRW-ETH]", "    exclude: [KRW-ETH]")
    assert cfg.markets == ("KRW-BTC",) and not cfg.markets_all


@pytest.mark.parametrize(("markets", "extra", "key"), [
    ("everything", "", "exchanges[0].markets"),
    ("[]", "", "exchanges[0].markets"),
    ("all", "    exclude: [XRP]", "exchanges[0].exclude"),
    ("[KRW-BTC]", "    exclude: [KRW-BTC]", "exchanges[0].exclude"),
    ("all", "    markets_refresh_s: 0.5", "exchanges[0].markets_refresh_s"),
    ("all", "    markets_refresh_s: 100000", "exchanges[0].markets_refresh_s"),
])
def test_unusable_market_settings_are_refused_at_load(tmp_path: Path, markets: str, extra: str, key: str) -> None:
    with pytest.raises(SettingsError) as err:
        load(tmp_path, markets, extra)
    assert key in str(err.value)


def test_exchange_config_needs_codes_unless_markets_all() -> None:
    base = {"name": "upbit", "ws_url": "wss://api.upbit.com/websocket/v1", "rest_url": "https://api.upbit.com"}
    with pytest.raises(ValidationException):
        ExchangeConfig(**base, markets=())
    assert ExchangeConfig(**base, markets=(), markets_all=True).markets == ()
    with pytest.raises(ValidationException):
        ExchangeConfig(**base, markets=(), markets_all=True, markets_refresh_s=0.1)
