"""Settings errors caused by a command-line override name the option; errors in the file still name
the file and key (seed S4.1-b, S4.1-c)."""
from __future__ import annotations

from pathlib import Path

import pytest

from settings.errors import SettingsError
from settings.loader import load_settings
from settings.overrides import Overrides

pytestmark = pytest.mark.unit

CONF = """\
exchanges:
  - {name: upbit, ws_url: "ws://127.0.0.1:1/websocket/v1", rest_url: "http://127.0.0.1:1", markets: [KRW-BTC]}
  - {name: bithumb, ws_url: "ws://127.0.0.1:2/websocket/v1", rest_url: "http://127.0.0.1:2", markets: [KRW-ETH]}
"""


def _error(tmp_path: Path, overrides: Overrides, extra: str = "") -> str:
    conf = tmp_path / "krwfeed.yaml"
    conf.write_text(CONF + extra)
    with pytest.raises(SettingsError) as info:
        load_settings(conf, overrides, environ={})
    return str(info.value)


def test_S4_1_b_a_code_given_for_every_exchange_is_reported_once_naming_the_option(tmp_path: Path) -> None:
    text = _error(tmp_path, Overrides(markets=("BTC-KRW",)))
    assert text == ("--markets = 'BTC-KRW': a market code QUOTE-BASE with QUOTE in KRW, e.g. KRW-BTC "
                    "(market code is reversed or repeats its currency)")


@pytest.mark.parametrize(("overrides", "option", "value"), [
    (Overrides(kafka_bootstrap=("nohost",)), "--kafka-bootstrap", "'nohost'"),
    (Overrides(log_level="LOUD"), "--log-level", "'LOUD'"),
    (Overrides(web_port=0), "--port", "0"),
    (Overrides(admin_port=80), "--admin-port", "80"),
    (Overrides(markets=("mars:KRW-BTC",)), "--markets", "'mars:KRW-BTC'"),
])
def test_S4_1_b_each_override_error_is_one_line_naming_its_option(
        tmp_path: Path, overrides: Overrides, option: str, value: str) -> None:
    text = _error(tmp_path, overrides)
    assert "\n" not in text and text.startswith(f"{option} = {value}: "), text


def test_S4_1_c_a_bad_value_in_the_file_still_names_the_file_when_another_exchange_is_overridden(
        tmp_path: Path) -> None:
    conf = tmp_path / "krwfeed.yaml"
    conf.write_text(CONF.replace("markets: [KRW-ETH]", "markets: [ETH-KRW]"))
    with pytest.raises(SettingsError) as info:
        load_settings(conf, Overrides(markets=("upbit:KRW-XRP",)), environ={})
    text = str(info.value)
    assert f"{conf}: exchanges[1].markets[0] = 'ETH-KRW'" in text and "--markets" not in text, text
