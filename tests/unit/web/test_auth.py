"""The web token check: what it accepts, what it refuses, which paths it guards."""
from __future__ import annotations

import base64

import pytest

from web.auth import needs_token, token_matches

pytestmark = pytest.mark.unit
TOKEN = "s3cret-token-0123456789"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}", f"bearer  {TOKEN} ", basic("ops", TOKEN), basic("", TOKEN)])
def test_the_token_is_accepted_as_bearer_or_basic_password(header: str) -> None:
    assert token_matches(header, TOKEN)


@pytest.mark.parametrize("header", [None, "", "Bearer", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}",
                                    basic(TOKEN, "wrong"), "Basic !!!notbase64", f"Token {TOKEN}",
                                    "Basic " + base64.b64encode(TOKEN.encode()).decode(), "Bearer s3cret-tökén"])
def test_anything_else_is_refused(header: str | None) -> None:
    assert not token_matches(header, TOKEN)


def test_dashboard_scope_leaves_health_and_metrics_open() -> None:
    for path in ("/health", "/health/live", "/health/ready", "/metrics"):
        assert not needs_token(path, "dashboard"), path
        assert needs_token(path, "all"), path
    for path in ("/", "/api/status", "/static/dashboard.js", "/healthz", "/metricsx"):
        assert needs_token(path, "dashboard"), path
