"""Polled endpoints stay out of the access log; other requests stay in it."""
from __future__ import annotations

import pytest

from web.app import is_polled

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("path", ["/health", "/health/ready", "/health/live", "/metrics", "/api/status"])
def test_polled_endpoints_are_not_logged(path: str) -> None:
    assert is_polled(path)


@pytest.mark.parametrize("path", ["/", "/static/dashboard.js", "/healthz", "/api/status/x", "/metrics/"])
def test_other_requests_are_logged(path: str) -> None:
    assert not is_polled(path)
