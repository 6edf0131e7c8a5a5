"""Fault state of one venue: what tests can switch on to see how a client copes."""
from __future__ import annotations

import time
from dataclasses import dataclass

# A cut-off trade frame: valid UTF-8, invalid JSON.
MALFORMED_JSON = b'{"type":"trade","code":"KRW-BTC","trade_price":1.16539E8,"trade_volume":'
# Bytes that are not UTF-8 at all.
BINARY_GARBAGE = bytes([0xFF, 0xFE, 0x00, 0xC3, 0x28, 0xA0, 0xA1, 0xE2, 0x28, 0xA1, 0xF0, 0x28, 0x8C, 0xBC])
GARBAGE_KINDS = ("json", "binary", "text")


def garbage_frame(kind: str) -> bytes | str:
    """The frame injected for `kind`: binary malformed JSON, binary non-UTF-8 bytes, or a text frame."""
    if kind == "json":
        return MALFORMED_JSON
    if kind == "binary":
        return BINARY_GARBAGE
    if kind == "text":
        return MALFORMED_JSON.decode()
    raise ValueError(f"unknown garbage kind {kind!r}; expected one of {GARBAGE_KINDS}")


@dataclass
class FaultState:
    stall_until: float = 0.0  # monotonic time until which nothing is sent
    frozen: bool = False  # during the stall, stop reading too (pings go unanswered)
    refuse_until: float = 0.0  # monotonic time until which upgrades are refused
    refuse_status: int = 503
    rest_fail_until: float = 0.0  # monotonic time until which REST answers with rest_fail_status
    rest_fail_status: int = 500

    def stalled(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) < self.stall_until

    def refusing(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) < self.refuse_until

    def rest_failing(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) < self.rest_fail_until

    def fail_rest(self, seconds: float, status: int = 500) -> None:
        if not 500 <= status <= 599:
            raise ValueError("REST failure status must be a 5xx code")
        self.rest_fail_until = time.monotonic() + seconds
        self.rest_fail_status = status

    def stall(self, seconds: float, freeze: bool = False) -> None:
        self.stall_until = time.monotonic() + seconds
        self.frozen = freeze

    def refuse(self, seconds: float, status: int = 503) -> None:
        if status not in (429, 503):
            raise ValueError("refusal status must be 429 or 503")
        self.refuse_until = time.monotonic() + seconds
        self.refuse_status = status

    def clear(self) -> None:
        self.stall_until = 0.0
        self.frozen = False
        self.refuse_until = 0.0
        self.rest_fail_until = 0.0
