"""Web bind and web token settings: loopback unless said otherwise, the token only from the environment."""
from __future__ import annotations

from pathlib import Path

import pytest

from actor_system import web_bind
from settings.cli import parse_args
from settings.errors import SettingsError
from settings.loader import load_settings

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]
MINIMAL = """
exchanges:
  - name: upbit
    ws_url: wss://api.upbit.com/websocket/v1
    rest_url: https://api.upbit.com
    markets: [KRW-BTC]
"""


def conf(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "conf.yaml"
    path.write_text(MINIMAL + extra)
    return path


def test_default_web_bind_is_loopback_and_port_sets_only_the_port(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = conf(tmp_path)
    settings = load_settings(path, environ={}, dotenv_path=tmp_path / "none.env")
    cli = parse_args(["--conf", str(path)])
    monkeypatch.delenv("PORT", raising=False)
    assert web_bind(cli, settings) == ("127.0.0.1", 8080)
    monkeypatch.setenv("PORT", "5123")
    assert web_bind(cli, settings) == ("127.0.0.1", 5123)
    assert web_bind(parse_args(["--conf", str(path), "--port", "6000"]), settings) == ("127.0.0.1", 6000)


def test_web_host_comes_from_the_command_line_or_the_file(tmp_path: Path) -> None:
    path = conf(tmp_path, "web: {host: 10.1.2.3}\n")
    cli = parse_args(["--conf", str(path), "--web-host", "0.0.0.0"])
    assert load_settings(path, cli.overrides, environ={}, dotenv_path=tmp_path / "x").web.host == "0.0.0.0"
    assert load_settings(path, environ={}, dotenv_path=tmp_path / "x").web.host == "10.1.2.3"


def test_shipped_configs_bind_the_web_server_to_loopback() -> None:
    for name in ("conf/prod.yaml", "conf/dev.yaml"):
        assert load_settings(REPO / name, environ={}).web.host == "127.0.0.1", name


def test_web_token_is_read_from_the_environment_and_masked(tmp_path: Path) -> None:
    token = "a-long-enough-token-1234"
    settings = load_settings(conf(tmp_path), environ={"KRWFEED_WEB_TOKEN": token}, dotenv_path=tmp_path / "x")
    assert settings.web.token is not None and settings.web.token.value == token
    assert token not in repr(settings) and token not in str(settings.web.token)
    assert settings.web.auth_scope == "dashboard"
    assert load_settings(conf(tmp_path), environ={}, dotenv_path=tmp_path / "x").web.token is None


def test_a_short_web_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(conf(tmp_path), environ={"KRWFEED_WEB_TOKEN": "short-secret"}, dotenv_path=tmp_path / "x")
    message = str(info.value)
    assert "KRWFEED_WEB_TOKEN" in message and "at least 16 characters" in message
    assert "short-secret" not in message


def test_a_token_in_the_yaml_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(conf(tmp_path, "web: {token: sixteen-chars-plus!}\n"), environ={}, dotenv_path=tmp_path / "x")
    message = str(info.value)
    assert "web.token" in message and "KRWFEED_WEB_TOKEN" in message and "sixteen-chars-plus" not in message


@pytest.mark.parametrize(("scope", "ok"), [("all", True), ("dashboard", True), ("none", False)])
def test_auth_scope_values(tmp_path: Path, scope: str, ok: bool) -> None:
    path = conf(tmp_path, f"web: {{auth_scope: {scope}}}\n")
    if ok:
        assert load_settings(path, environ={}, dotenv_path=tmp_path / "x").web.auth_scope == scope
    else:
        with pytest.raises(SettingsError, match="auth_scope"):
            load_settings(path, environ={}, dotenv_path=tmp_path / "x")


def test_a_bad_port_variable_is_a_clear_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = conf(tmp_path)
    settings = load_settings(path, environ={}, dotenv_path=tmp_path / "none.env")
    monkeypatch.setenv("PORT", "80a")
    with pytest.raises(SettingsError, match=r"\$PORT = '80a'"):
        web_bind(parse_args(["--conf", str(path)]), settings)
