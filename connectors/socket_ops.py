"""Creating websocket-client sockets with a message size cap, and releasing them without ever
raising (every failure path calls these).

websocket-client reads a frame of whatever length its header announces (a 1 GB frame took a
connector to 2.9 GB) and joins the fragments of a message by repeated ``bytes +=`` (quadratic: a
20 MB message in 4 KiB fragments cost 6-33 s of CPU). The sockets made here refuse, with
``MessageTooLarge``, a frame whose header announces more than ``max_frame_bytes`` before reading
its payload, and a message whose fragments add up to more; fragments are kept in a list and
joined once. The stream cannot be resumed after either (the rest of the frame or message is still
on the wire), so the reader counts the message and the connection is closed and reconnected.
"""
from __future__ import annotations

import contextlib
import socket
from typing import Any

import websocket
from websocket._abnf import ABNF, continuous_frame, frame_buffer

# Far above any real frame (a 30-level book is about 3 KB; a LIST_SUBSCRIPTIONS reply for every
# market a few hundred KB), far below what would strain a small machine.
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024


class MessageTooLarge(websocket.WebSocketProtocolException):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"message of {size} bytes or more exceeds max_frame_bytes ({limit})")
        self.size = size
        self.limit = limit


class _CappedFrameBuffer(frame_buffer):
    def __init__(self, ws: websocket.WebSocket, max_bytes: int) -> None:
        super().__init__(ws._recv, True)
        self.max_bytes = max_bytes

    def recv_length(self) -> None:
        super().recv_length()
        if self.length is not None and self.length > self.max_bytes:
            raise MessageTooLarge(self.length, self.max_bytes)


class _LinearContinuation(continuous_frame):
    """Fragments of one message collected in a list, joined once, their total capped."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(False, True)
        self.max_bytes = max_bytes
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, frame: ABNF) -> None:
        if self.cont_data is None:
            if frame.opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY):
                self.recving_frames = frame.opcode
            self.cont_data = [frame.opcode, b""]
            self._parts, self._size = [], 0
        data = frame.data if isinstance(frame.data, bytes) else frame.data.encode()
        self._parts.append(data)
        self._size += len(data)
        if frame.fin:
            self.recving_frames = None
        if self._size > self.max_bytes:
            size = self._size
            self.cont_data, self.recving_frames, self._parts, self._size = None, None, [], 0
            raise MessageTooLarge(size, self.max_bytes)

    def extract(self, frame: ABNF) -> tuple[int, ABNF]:
        if self.cont_data is None:
            raise websocket.WebSocketProtocolException("No continuation data available")
        opcode = self.cont_data[0]
        frame.data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self.cont_data, self._parts, self._size = None, [], 0
        return opcode, frame


def new_socket(max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> websocket.WebSocket:
    # UTF-8 is checked by the adapter's decode (a bad frame is counted, the connection kept);
    # websocket-client's own check is pure Python per byte and would drop the connection instead.
    ws = websocket.WebSocket(enable_multithread=False, skip_utf8_validation=True)
    ws.frame_buffer = _CappedFrameBuffer(ws, max_frame_bytes)
    ws.cont_frame = _LinearContinuation(max_frame_bytes)
    return ws


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
