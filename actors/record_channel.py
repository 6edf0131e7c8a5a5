"""The record channel: how market data messages travel between the actor processes.

Thespian carries control, supervision, state changes and status between the actors; records do
not ride on it. A Thespian message costs about 0.4 ms of CPU to send and 0.2 ms to receive
whatever it holds (pickling, transmit scheduling and the TCP hop through the transport), so with
records on it the transport, not the data, decided what the service could carry. Instead the
buffer actor listens on a private Unix socket (in a directory only the service's user can enter)
and every connector and producer keeps one stream connection to it. Each actor watches its
socket's descriptor with ``ThespianWatch``, exactly as the connector watches the exchange's
socket, so no handler ever blocks; a write is one ``send()`` of an already framed batch.

Wire format, one frame after another on the stream::

    frame   = length:u32le kind:u8 body          (length counts kind and body)
    HELLO   body = the peer's role, UTF-8 ("connector:upbit-0", "producer:trade")
    RECORDS body = record*                       (connector -> buffer, buffer -> producer)
    CREDIT  body = n:u32le                       (producer -> buffer: n more records welcome)
    DRAINED body = empty                         (buffer -> producer: the stop's drain is complete)
    record  = received_us:i64le sequential_id:i64le raw_data_len:u32le
              exchange_len:u8 data_type_len:u8 code_len:u8 source_len:u8
              exchange data_type code source raw_data      (source: "" streamed, "rest" backfilled)

The framing (``encode_*``, ``FrameDecoder``) is pure; ``ChannelEnd`` and ``ChannelListener`` own
the sockets. Nothing here unpickles anything: a peer can only send records, credits and roles.
"""
from __future__ import annotations

import contextlib
import errno
import os
import socket
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from domain.market_data import MarketDataMessage

HELLO, RECORDS, CREDIT, DRAINED = 1, 2, 3, 4
_KINDS = frozenset((HELLO, RECORDS, CREDIT, DRAINED))
_FRAME_HEAD = struct.Struct("<IB")
_RECORD_HEAD = struct.Struct("<qqIBBBB")
_U32 = struct.Struct("<I")
MAX_FRAME_BYTES = 64 * 1024 * 1024  # a longer length prefix can only be corruption
MAX_RECORDS_FRAME_BYTES = 1024 * 1024  # writers split record batches at about this size
READ_CHUNK = 256 * 1024
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024


class ChannelError(Exception):
    """The peer sent something that is not a channel frame: the connection is closed."""


# --- framing (pure) ----------------------------------------------------------------------
def encode_frame(kind: int, body: bytes = b"") -> bytes:
    return _FRAME_HEAD.pack(len(body) + 1, kind) + body


def encode_hello(role: str) -> bytes:
    return encode_frame(HELLO, role.encode())


def encode_credit(n: int) -> bytes:
    return encode_frame(CREDIT, _U32.pack(n))


def encode_records(records: Iterable[MarketDataMessage]) -> list[bytes]:
    """RECORDS frames for ``records``, each at most about ``MAX_RECORDS_FRAME_BYTES`` long."""
    frames: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    pack = _RECORD_HEAD.pack
    for r in records:
        exchange, data_type, code = r.exchange.encode(), r.data_type.encode(), r.code.encode()
        source = r.source.encode() if r.source else b""
        part = b"".join((pack(r.received_time_us, r.sequential_id, len(r.raw_data), len(exchange),
                              len(data_type), len(code), len(source)), exchange, data_type, code, source,
                         r.raw_data))
        if parts and size + len(part) > MAX_RECORDS_FRAME_BYTES:
            frames.append(encode_frame(RECORDS, b"".join(parts)))
            parts, size = [], 0
        parts.append(part)
        size += len(part)
    if parts:
        frames.append(encode_frame(RECORDS, b"".join(parts)))
    return frames


def decode_records(body: bytes | memoryview) -> list[MarketDataMessage]:
    view = memoryview(body)
    out: list[MarketDataMessage] = []
    pos, end = 0, len(view)
    head, unpack = _RECORD_HEAD.size, _RECORD_HEAD.unpack_from
    strings: dict[bytes, str] = {}  # exchange and data-type names repeat: decode each once
    try:
        while pos < end:
            received_us, seq, raw_len, ex_len, dt_len, code_len, src_len = unpack(view, pos)
            pos += head
            ex_end = pos + ex_len
            dt_end = ex_end + dt_len
            code_end = dt_end + code_len
            src_end = code_end + src_len
            stop = src_end + raw_len
            if stop > end:
                raise ChannelError("a record runs past the end of its frame")
            ex_raw, dt_raw = bytes(view[pos:ex_end]), bytes(view[ex_end:dt_end])
            exchange = strings.get(ex_raw) or strings.setdefault(ex_raw, ex_raw.decode())
            data_type = strings.get(dt_raw) or strings.setdefault(dt_raw, dt_raw.decode())
            source = "" if not src_len else (strings.get(src_raw := bytes(view[code_end:src_end]))
                                             or strings.setdefault(src_raw, src_raw.decode()))
            out.append(MarketDataMessage(exchange, data_type, bytes(view[dt_end:code_end]).decode(),
                                         bytes(view[src_end:stop]), received_us, seq, source))
            pos = stop
    except (struct.error, UnicodeDecodeError) as err:
        raise ChannelError(f"malformed record: {err}") from err
    return out


def decode_credit(body: bytes | memoryview) -> int:
    if len(body) != _U32.size:
        raise ChannelError("a CREDIT frame holds exactly one u32")
    return int(_U32.unpack(body)[0])


@dataclass(slots=True)
class FrameDecoder:
    """Splits a byte stream into ``(kind, body)`` frames; keeps an incomplete tail for the next feed."""

    _buf: bytearray

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._buf
        buf += data
        frames: list[tuple[int, bytes]] = []
        pos, size, head = 0, len(buf), _FRAME_HEAD.size
        while size - pos >= head:
            length, kind = _FRAME_HEAD.unpack_from(buf, pos)
            if length < 1 or length > MAX_FRAME_BYTES or kind not in _KINDS:
                raise ChannelError(f"not a channel frame (length {length}, kind {kind})")
            if size - pos < 4 + length:
                break
            frames.append((kind, bytes(buf[pos + head:pos + 4 + length])))
            pos += 4 + length
        if pos:
            del buf[:pos]
        return frames

    @property
    def buffered(self) -> int:
        return len(self._buf)


# --- sockets -------------------------------------------------------------------------------
class ChannelEnd:
    """One end of a channel connection: non-blocking, with a bounded queue of unsent bytes.

    ``write`` never blocks: what the kernel does not take now waits in ``pending`` and goes on the
    next ``flush`` (the owner calls it from its handlers and timers, since ``ThespianWatch`` only
    reports readability). ``write`` refuses (returns False) past ``max_pending_bytes``, so a peer
    that stopped reading costs bounded memory and the caller counts what it could not hand on.
    """

    def __init__(self, sock: socket.socket, max_pending_bytes: int = 64 * 1024 * 1024) -> None:
        sock.setblocking(False)
        for opt in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            with contextlib.suppress(OSError):  # the kernel may cap it; the default still works
                sock.setsockopt(socket.SOL_SOCKET, opt, SOCKET_BUFFER_BYTES)
        self.sock: socket.socket | None = sock
        self.role = ""
        self.max_pending_bytes = max_pending_bytes
        self._out = bytearray()
        self._decoder = FrameDecoder()
        self.frames_sent = 0

    @classmethod
    def connect(cls, path: str, role: str) -> ChannelEnd:
        """Connects to the listener at ``path`` and introduces itself; raises ``OSError`` if nobody listens."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)  # a local Unix socket connects or fails at once
        except OSError:
            sock.close()
            raise
        end = cls(sock)
        end.role = role
        end.write(encode_hello(role))
        return end

    @property
    def closed(self) -> bool:
        return self.sock is None

    @property
    def pending(self) -> int:
        return len(self._out)

    def fileno(self) -> int | None:
        return self.sock.fileno() if self.sock is not None else None

    def write(self, frame: bytes) -> bool:
        if self.sock is None or len(self._out) + len(frame) > self.max_pending_bytes:
            return False
        self._out += frame
        self.frames_sent += 1
        self.flush()
        return True

    def write_all(self, frames: Sequence[bytes]) -> bool:
        size = sum(len(f) for f in frames)
        if self.sock is None or len(self._out) + size > self.max_pending_bytes:
            return False
        for frame in frames:
            self._out += frame
        self.frames_sent += len(frames)
        self.flush()
        return True

    def flush(self) -> bool:
        """Hands queued bytes to the kernel; True when nothing is left queued."""
        sock = self.sock
        while self._out and sock is not None:
            try:
                sent = sock.send(self._out)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                self.close()
                return False
            del self._out[:sent]
        return not self._out

    def flush_blocking(self, timeout_s: float) -> bool:
        """At a stop only: waits up to ``timeout_s`` for the kernel to take every queued byte."""
        sock = self.sock
        if sock is None or not self._out:
            return not self._out
        try:
            sock.settimeout(timeout_s)
            sock.sendall(self._out)
            self._out.clear()
        except OSError:
            return False
        finally:
            if self.sock is not None:
                self.sock.setblocking(False)
        return True

    def read(self, max_bytes: int = 8 * READ_CHUNK) -> list[tuple[int, bytes]]:
        """Frames that arrived, reading until the socket would block or ``max_bytes`` were read.
        A closed peer closes this end (check ``closed``); garbage raises ``ChannelError``."""
        frames: list[tuple[int, bytes]] = []
        got = 0
        while self.sock is not None and got < max_bytes:
            try:
                data = self.sock.recv(READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.close()
                break
            if not data:
                self.close()
                break
            got += len(data)
            frames.extend(self._decoder.feed(data))
        return frames

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None


class ChannelListener:
    """The buffer's listening socket. The path's directory must be private to the service's user."""

    def __init__(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a socket left by a crashed buffer
        self.path = path
        self.sock: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o600)
        self.sock.listen(64)
        self.sock.setblocking(False)

    def fileno(self) -> int | None:
        return self.sock.fileno() if self.sock is not None else None

    def accept_all(self) -> list[ChannelEnd]:
        accepted: list[ChannelEnd] = []
        while self.sock is not None:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as err:
                if err.errno in (errno.EMFILE, errno.ENFILE):
                    break
                raise
            accepted.append(ChannelEnd(conn))
        return accepted

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
