"""Polled endpoints stay out of the access log; other requests stay in it."""
from __future__ import annotations

import logging

import pytest

from web.app import QuietPollingAccessLog

pytestmark = pytest.mark.unit


def access(line: str) -> logging.LogRecord:
    return logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "%s - - [date] %s", ("127.0.0.1", line), None)


@pytest.mark.parametrize("line", ['"GET /health HTTP/1.1" 200 -', '"GET /health/ready HTTP/1.1" 503 -',
                                  '"GET /health/live HTTP/1.1" 200 -', '"GET /metrics HTTP/1.1" 200 -',
                                  '"GET /api/status?x=1 HTTP/1.1" 200 -'])
def test_polled_endpoints_are_not_logged(line: str) -> None:
    assert not QuietPollingAccessLog().filter(access(line))


@pytest.mark.parametrize("line", ['"GET / HTTP/1.1" 200 -', '"GET /static/dashboard.js HTTP/1.1" 200 -',
                                  '"POST /health HTTP/1.1" 405 -', '"GET /healthz HTTP/1.1" 404 -'])
def test_other_requests_are_logged(line: str) -> None:
    assert QuietPollingAccessLog().filter(access(line))
