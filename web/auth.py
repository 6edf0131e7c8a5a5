"""Optional access control for the web interface: one token from the environment (``KRWFEED_WEB_TOKEN``).

A request is let in when it carries the token as ``Authorization: Bearer <token>`` (scripts,
monitors) or as the password of HTTP basic auth, any user name (browsers: they prompt once and
send it with every request to the dashboard, including its own ``/api/status`` polls). The
comparison is constant-time, and the token is never logged or echoed.

What needs the token is the ``web.auth_scope``: ``dashboard`` guards the dashboard, its static
files and ``/api/status`` and leaves ``/health*`` and ``/metrics`` open for probes and Prometheus;
``all`` guards every endpoint. Without a token nothing is guarded.
"""
from __future__ import annotations

import base64
import binascii
import hmac

OPEN_PATHS = ("/health", "/metrics")  # and what lies below them
CHALLENGE = 'Basic realm="krwfeed", charset="UTF-8"'


def needs_token(path: str, scope: str) -> bool:
    if scope == "all":
        return True
    return not any(path == p or path.startswith(p + "/") for p in OPEN_PATHS)


def _presented(authorization: str) -> bytes | None:
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials.encode("utf-8", "surrogateescape")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            return None
        _user, sep, password = decoded.partition(b":")
        return password if sep else None
    return None


def token_matches(authorization: str | None, token: str) -> bool:
    if not authorization:
        return False
    presented = _presented(authorization)
    if presented is None:
        return False
    return hmac.compare_digest(presented, token.encode("utf-8"))
