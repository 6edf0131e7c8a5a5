"""Finding the real tools the observability tests drive (promtool, prometheus, chromium, hadolint).

A missing tool skips the test on a developer machine; with KRWFEED_REQUIRE_REAL_PARTS=1 (CI) it fails.
"""
from __future__ import annotations

import os
import shutil
import socket

import pytest


def require_tool(name: str, hint: str = "run scripts/setup.sh") -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed ({hint})"
        if os.environ.get("KRWFEED_REQUIRE_REAL_PARTS"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port(first: int, last: int) -> int:
    """The first port in [first, last] nothing listens on (each engineer/test owns a range)."""
    for port in range(first, last + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last}")
