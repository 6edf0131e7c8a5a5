"""Small stand-ins for the exchange adapter, the Protobuf encoder, the socket and the clock.

The fake frames are JSON: {"type": "trade", "code": ..., "sid": ...}, {"type": "orderbook",
"code": ...}, {"status": "UP"}, {"error": {...}}, {"type": "ticker"}; anything else is malformed.
"""
from __future__ import annotations

import contextlib
import json
import os
import struct
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

import websocket

from domain.config import ExchangeConfig
from domain.exceptions import ValidationException
from domain.market_data import MarketDataMessage
from domain.records import Exchange, MarketRecord, OrderbookRecord, PriceLevel, TradeRecord
from exchanges.base import DecodedFrame, FrameKind, SubscriptionRequest

BINARY = websocket.ABNF.OPCODE_BINARY
TEXT = websocket.ABNF.OPCODE_TEXT
CLOSE = websocket.ABNF.OPCODE_CLOSE
PONG = websocket.ABNF.OPCODE_PONG


def config(**overrides: Any) -> ExchangeConfig:
    values: dict[str, Any] = {
        "name": "upbit", "ws_url": "ws://127.0.0.1:9/websocket/v1", "rest_url": "http://127.0.0.1:9",
        "markets": ("KRW-BTC", "KRW-ETH"), "backoff_jitter": 0.0,
    }
    values.update(overrides)
    return ExchangeConfig(**values)


def trade(code: str, sid: int) -> bytes:
    return json.dumps({"type": "trade", "code": code, "sid": sid}).encode()


def book(code: str) -> bytes:
    return json.dumps({"type": "orderbook", "code": code}).encode()


class FakeAdapter:
    name = "upbit"

    def __init__(self) -> None:
        self.requests: list[SubscriptionRequest] = []

    def subscription_request(
        self, codes: Sequence[str], data_types: Sequence[str] = ("trade", "orderbook"), *,
        fmt: str = "DEFAULT", only_realtime: bool = False, only_snapshot: bool = False, depth: int | None = None,
    ) -> SubscriptionRequest:
        ticket = str(uuid.uuid4())
        text = json.dumps([{"ticket": ticket}] + [{"type": t, "codes": list(codes)} for t in data_types])
        request = SubscriptionRequest(ticket, tuple(codes), text)
        self.requests.append(request)
        return request

    def decode(self, frame: bytes | str, received_time_us: int) -> DecodedFrame:
        try:
            obj = json.loads(frame)
        except ValueError as err:
            raise ValidationException("frame is not JSON", exchange="upbit", value=frame) from err
        if "status" in obj:
            return DecodedFrame(FrameKind.STATUS, status=obj["status"])
        if "error" in obj:
            return DecodedFrame(FrameKind.ERROR, error_name=obj["error"]["name"],
                                error_message=obj["error"]["message"])
        record: MarketRecord
        if obj.get("type") == "trade":
            record = TradeRecord(Exchange.UPBIT, obj["code"], "1", "1", "BID", 1, 1,
                                 received_time_us, obj["sid"], "REALTIME")
        elif obj.get("type") == "orderbook":
            level = (PriceLevel("1", "1"),)
            record = OrderbookRecord(Exchange.UPBIT, obj["code"], level, level, "1", "1",
                                     1, received_time_us, "REALTIME")
        else:
            return DecodedFrame(FrameKind.IGNORED, ignored_type=str(obj.get("type")))
        return DecodedFrame(FrameKind.DATA, (record,))


def encode(record: MarketRecord) -> MarketDataMessage:
    sid = record.sequential_id if isinstance(record, TradeRecord) else 0
    return MarketDataMessage(record.exchange.value, record.data_type.value, record.code,
                             f"{record.code}:{sid}".encode(), record.received_time_us, sid)


class FakeSock:
    """A real descriptor that never becomes readable, so waits on it time out instead of spinning."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()

    def fileno(self) -> int:
        return self.read_fd

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def server_frame(opcode: int, payload: bytes, fin: bool = True, first: int = 0) -> bytes:
    """A server frame (unmasked) with the 7-, 16- or 64-bit length form as RFC 6455 gives it;
    ``first`` adds bits to the first byte (the reserved ones, to build a bad frame)."""
    head = bytes([(0x80 if fin else 0) | opcode | first])
    n = len(payload)
    if n < 126:
        return head + bytes([n]) + payload
    if n < 65536:
        return head + bytes([126]) + struct.pack("!H", n) + payload
    return head + bytes([127]) + struct.pack("!Q", n) + payload


class FakeWebSocket:
    """Messages queued in ``inbox`` are returned by next_message; an empty inbox would block."""

    created = 0

    def __init__(self, connect_error: Exception | None = None, hold: threading.Event | None = None) -> None:
        FakeWebSocket.created += 1
        self.connect_error = connect_error
        self.hold = hold  # connect() waits for this event (a slow handshake)
        self.connect_calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[str] = []
        self.pings = 0
        self.timeout: float | None = None
        self.inbox: deque[tuple[int, bytes] | Exception] = deque()
        self.closed = False
        self.sock: FakeSock | None = None

    def connect(self, url: str, **options: Any) -> None:
        self.connect_calls.append((url, options))
        if self.hold is not None:
            self.hold.wait(5)
        if self.connect_error is not None:
            raise self.connect_error
        if self.closed:
            raise OSError("socket closed during the handshake")
        self.sock = FakeSock()

    def send(self, text: str) -> None:
        self.sent.append(text)

    def settimeout(self, timeout: float) -> None:
        self.timeout = timeout

    def next_message(self) -> tuple[int, bytes]:
        if not self.inbox:
            raise BlockingIOError("would block")
        item = self.inbox.popleft()
        if isinstance(item, Exception):
            raise item
        return item

    def feed(self, *frames: bytes, opcode: int = BINARY) -> None:
        self.inbox.extend((opcode, f) for f in frames)

    def ping(self, payload: str = "") -> None:
        self.pings += 1

    def close(self, timeout: float = 3) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def shutdown(self) -> None:
        self.closed = True
        if self.sock is not None:
            self.sock.close()
        self.sock = None


class SocketFactory:
    """Hands out FakeWebSockets; ``errors`` makes the next connects fail in turn."""

    def __init__(self) -> None:
        self.made: list[FakeWebSocket] = []
        self.errors: deque[Exception] = deque()
        self.script: deque[list[bytes]] = deque()  # frames for the next sockets, one list each
        self.hold: threading.Event | None = None

    def __call__(self) -> FakeWebSocket:
        ws = FakeWebSocket(self.errors.popleft() if self.errors else None, self.hold)
        if self.script:
            ws.feed(*self.script.popleft())
        self.made.append(ws)
        return ws

    @property
    def last(self) -> FakeWebSocket:
        return self.made[-1]


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
