"""The contract every exchange protocol adapter fulfils. Pure: no sockets, no clocks.

A connector owns the socket; it hands each frame's bytes to ``decode`` with the time it read
the frame and gets back a ``DecodedFrame``. ``decode`` never raises anything but
``ValidationException`` (from ``domain.exceptions``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from domain.capabilities import DATA_TYPES
from domain.records import MarketRecord
from domain.slot_init import slot_init


class FrameKind(str, Enum):  # noqa: UP042 - contract kept as is; StrEnum would change str()
    DATA = "data"  # records holds the parsed trades/orderbooks
    STATUS = "status"  # keep-alive reply such as {"status":"UP"}
    ERROR = "error"  # the exchange's {"error":{...}} frame; the server will close
    IGNORED = "ignored"  # a valid frame of a data type krwfeed does not carry (ticker, ...)


@slot_init
@dataclass(frozen=True, slots=True)
class DecodedFrame:
    kind: FrameKind
    records: tuple[MarketRecord, ...] = ()
    status: str = ""
    error_name: str = ""
    error_message: str = ""
    ignored_type: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)  # read-only


@dataclass(frozen=True, slots=True)
class SubscriptionRequest:
    ticket: str  # a fresh UUID each time
    codes: tuple[str, ...]
    text: str  # the JSON text to send as one WebSocket text message
    # Further text messages to send after ``text``, in order. Empty for Upbit and Bithumb v2 (one
    # array holds every type); Bithumb's legacy pubwss takes one JSON object per type.
    extra_texts: tuple[str, ...] = ()


class ExchangeAdapter(Protocol):
    name: str

    def subscription_request(
        self,
        codes: Sequence[str],
        data_types: Sequence[str] = DATA_TYPES,
        *,
        fmt: str = "DEFAULT",
        only_realtime: bool = False,
        only_snapshot: bool = False,
        depth: int | None = None,
    ) -> SubscriptionRequest: ...

    def decode(self, frame: bytes | str, received_time_us: int) -> DecodedFrame: ...
