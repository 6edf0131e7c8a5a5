"""Creating websocket-client sockets, and releasing them without ever raising (every failure path
calls these)."""
from __future__ import annotations

import contextlib
import socket
from typing import Any

import websocket


def new_socket() -> websocket.WebSocket:
    # UTF-8 is checked by the adapter's decode (a bad frame is counted, the connection kept);
    # websocket-client's own check is pure Python per byte and would drop the connection instead.
    return websocket.WebSocket(enable_multithread=False, skip_utf8_validation=True)


def release(ws: Any) -> None:
    """Close a socket that is already lost: no close handshake."""
    with contextlib.suppress(Exception):  # releasing must never fail
        ws.shutdown()


def abort(ws: Any) -> None:
    """Stop a handshake running in another thread: shutdown() wakes a blocked recv, close() does not."""
    sock = getattr(ws, "sock", None)
    if sock is not None:
        with contextlib.suppress(Exception):  # not connected yet, or already closed
            sock.shutdown(socket.SHUT_RDWR)
    release(ws)


def close(ws: Any, timeout_s: float) -> None:
    """Polite close (close frame, wait up to ``timeout_s`` for the reply), then release."""
    with contextlib.suppress(Exception):  # the peer may already be gone
        ws.close(timeout=timeout_s)
    release(ws)


def close_text(data: bytes) -> str:
    """A close frame's status code and reason, for logs."""
    if len(data) >= 2:
        return f"code {int.from_bytes(data[:2], 'big')} {data[2:].decode('utf-8', 'replace')}".strip()
    return "no code"
