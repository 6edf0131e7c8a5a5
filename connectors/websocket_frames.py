"""WebSocket frames (RFC 6455) as a client receives them, decoded from bytes already read.

websocket-client reads each frame with three or more ``recv`` calls (header, extended length,
payload), each through several layers of Python: about 14 µs per frame on one warm core, as much as
validating a trade. A connection here instead reads the socket in large chunks and this decoder
cuts them into messages, so the cost of a read is paid once per chunk, not three times per frame.

The decoder holds what the server sent and nothing else: no I/O, no clock. It refuses, before
buffering a payload, any frame whose header announces more than ``max_message_bytes``, and a
fragmented message whose parts add up to more (websocket-client would read a 1 GB frame whole, and
join fragments by repeated ``bytes +=``). It also refuses what a server may not send: masked
frames, reserved bits without an extension, unknown opcodes, fragmented or oversized control
frames, a continuation with no message under way and a new message inside a fragmented one. A
refusal is final: the rest of the stream cannot be framed again, so the caller closes the
connection. Payloads are returned as bytes: UTF-8 is checked by the exchange adapter's decoding,
where a bad frame is counted and the connection kept.
"""
from __future__ import annotations

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_DATA = frozenset((TEXT, BINARY))
_CONTROL = frozenset((CLOSE, PING, PONG))
_MAX_CONTROL_PAYLOAD = 125
# Consumed bytes are cut from the front of the buffer once they reach this size (and are more
# than half of it), so a long-lived connection neither regrows nor copies its buffer per frame.
_COMPACT_AT = 256 * 1024


class FrameProtocolError(ValueError):
    """The server broke the framing rules; the connection cannot continue."""


class MessageTooLarge(FrameProtocolError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"message of {size} bytes or more exceeds max_frame_bytes ({limit})")
        self.size = size
        self.limit = limit


class FrameDecoder:
    """Bytes in (``feed``), complete messages and control frames out (``next``)."""

    __slots__ = ("max_message_bytes", "_buf", "_pos", "_opcode", "_parts", "_size")

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes
        self._buf = bytearray()
        self._pos = 0  # start of the first byte not yet decoded
        self._opcode: int | None = None  # opcode of the fragmented message under way
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as part of a message (a partial frame's included)."""
        return len(self._buf) - self._pos + self._size

    def next(self) -> tuple[int, bytes] | None:
        """The next complete data message (TEXT or BINARY, fragments joined) or control frame,
        as (opcode, payload); None until more bytes are fed. Raises ``FrameProtocolError``."""
        while True:
            frame = self._next_frame()
            if frame is None:
                return None
            opcode, fin, payload = frame
            if opcode in _CONTROL:  # may arrive between the fragments of a message
                return opcode, payload
            if opcode == CONT:
                if self._opcode is None:
                    raise FrameProtocolError("continuation frame with no message under way")
            elif self._opcode is not None:
                raise FrameProtocolError("new message before the fragmented one ended")
            elif fin:
                return opcode, payload
            else:
                self._opcode = opcode
            self._parts.append(payload)
            self._size += len(payload)
            if self._size > self.max_message_bytes:
                raise MessageTooLarge(self._size, self.max_message_bytes)
            if fin:
                message = (self._opcode, b"".join(self._parts))
                self._opcode, self._parts, self._size = None, [], 0
                return message

    def _next_frame(self) -> tuple[int, bool, bytes] | None:
        buf, pos = self._buf, self._pos
        available = len(buf) - pos
        if available < 2:
            return None
        first, second = buf[pos], buf[pos + 1]
        if first & 0x70:
            raise FrameProtocolError("reserved bits set, and no extension was negotiated")
        if second & 0x80:
            raise FrameProtocolError("masked frame from the server")
        opcode, fin = first & 0x0F, bool(first & 0x80)
        length, head = second & 0x7F, 2
        if length == 126:
            if available < 4:
                return None
            length, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
        elif length == 127:
            if available < 10:
                return None
            length, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
        if opcode in _CONTROL:
            if not fin or length > _MAX_CONTROL_PAYLOAD:
                raise FrameProtocolError(f"control frame {opcode:#x} fragmented or over 125 bytes")
        elif opcode not in _DATA and opcode != CONT:
            raise FrameProtocolError(f"unknown opcode {opcode:#x}")
        if length > self.max_message_bytes:
            raise MessageTooLarge(length, self.max_message_bytes)
        end = pos + head + length
        if end > len(buf):
            return None
        payload = bytes(buf[pos + head:end])
        if end == len(buf):
            buf.clear()
            self._pos = 0
        elif end >= _COMPACT_AT and end * 2 > len(buf):
            del buf[:end]
            self._pos = 0
        else:
            self._pos = end
        return opcode, fin, payload
