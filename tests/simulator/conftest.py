"""Helpers for the simulator's tests: a shared simulator per module and small websocket-client wrappers."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websocket

from tests.support.simulator_process import SimulatorProcess, start_simulator


@pytest.fixture(scope="module")
def shared_simulator() -> Iterator[SimulatorProcess]:
    """One simulator for a module's read-only protocol checks (no connection limit, modest rate)."""
    with start_simulator(no_connect_limit=True, rate=400) as process:
        yield process


def connect(url: str, timeout: float = 5.0) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=timeout)


def request(*types: dict[str, Any], fmt: str | None = None, ticket: str = "test-ticket") -> str:
    items: list[dict[str, Any]] = [{"ticket": ticket}, *types]
    if fmt:
        items.append({"format": fmt})
    return json.dumps(items)


def recv_frame(ws: websocket.WebSocket) -> tuple[int, bytes]:
    opcode, data = ws.recv_data()
    return opcode, data


def recv_json(ws: websocket.WebSocket) -> dict[str, Any]:
    opcode, data = ws.recv_data()
    assert opcode == websocket.ABNF.OPCODE_BINARY, f"expected a binary frame, got opcode {opcode}: {data[:80]!r}"
    return json.loads(data.decode("utf-8"))  # type: ignore[no-any-return]


def collect(ws: websocket.WebSocket, count: int | None = None, seconds: float = 3.0) -> list[dict[str, Any]]:
    """Decode frames until `count` are read or `seconds` pass (a read timeout ends early)."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (count is None or len(frames) < count):
        ws.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            frames.append(recv_json(ws))
        except websocket.WebSocketTimeoutException:
            break
    return frames


def raw_frames(ws: websocket.WebSocket, seconds: float) -> list[tuple[int, bytes]]:
    """Raw (opcode, bytes) frames received for `seconds`."""
    frames: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ws.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            frames.append(ws.recv_data())
        except websocket.WebSocketTimeoutException:
            break
    return frames


def wait_closed(ws: websocket.WebSocket, seconds: float) -> tuple[str, float]:
    """Read until the server ends the connection; returns ('close-frame'|'eof', elapsed seconds)."""
    start = time.monotonic()
    ws.settimeout(seconds)
    while True:
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return "eof", time.monotonic() - start
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return "close-frame:" + str(int.from_bytes(data[:2], "big") if data else ""), time.monotonic() - start


def drain(ws: websocket.WebSocket, quiet: float = 1.0, limit: float = 60.0) -> list[dict[str, Any]]:
    """Decode frames until none arrives for `quiet` seconds (or `limit` seconds pass)."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit
    ws.settimeout(quiet)
    while time.monotonic() < deadline:
        try:
            frames.append(recv_json(ws))
        except websocket.WebSocketTimeoutException:
            break
    return frames
