"""Protobuf wire-format primitives for krwfeed.v1 Trade and Orderbook.

Building 30-60 PriceLevel messages per book through the protobuf runtime costs more than parsing
the frame; the wire form of these flat messages is simple enough to write here. Everything is
built as a ``str`` holding one character per byte and encoded once as latin-1 at the end (decimal
texts are ASCII; market codes are UTF-8 encoded first). The tests compare every byte with the
protobuf runtime's own serialisation of the same message.

Decimal fields are written exactly as the record holds them: records carry exact decimal texts in
plain notation (``domain.records``), which ``validate_record`` checks before anything is written.
"""
from __future__ import annotations

from domain.records import Levels

_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1


def varint(value: int) -> str:
    """Base-128 varint of a uint64 (a negative int64 as its 64-bit two's complement)."""
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    if not _INT64_MIN <= value <= _UINT64_MAX:
        raise ValueError(f"{value} does not fit in 64 bits")
    value &= _UINT64_MAX
    out = []
    while value > 0x7F:
        out.append(chr(0x80 | (value & 0x7F)))
        value >>= 7
    out.append(chr(value))
    return "".join(out)


_VARINTS = tuple(varint(n) for n in range(1024))  # length prefixes, looked up instead of computed


def prefix(length: int) -> str:
    return _VARINTS[length] if length < 1024 else varint(length)


def decimal_field(tag: str, value: str | None) -> str:
    """An optional decimal string field; ``None`` is proto3's empty string, which is not written."""
    if value is None:
        return ""
    try:  # the length prefix from the table without a call to prefix(): trades write up to eight
        return f"{tag}{_VARINTS[len(value)]}{value}"
    except IndexError:
        return f"{tag}{varint(len(value))}{value}"


# Timestamp {int64 seconds = 1; int32 nanos = 2;}. Messages of one second share their seconds,
# so the encoded seconds are remembered (bounded); millisecond nanos come from a table.
_SECONDS: dict[int, str] = {}
_MILLI_NANOS = tuple(f"\x10{varint(ms * 1_000_000)}" if ms else "" for ms in range(1000))


def timestamp_field(tag: str, time_us: int) -> str:
    """A Timestamp field for microseconds since the epoch (always written, as the runtime does for
    a sub-message that was set, even when it is all zeros)."""
    if type(time_us) is not int:
        raise TypeError(f"time must be integer microseconds, got {type(time_us).__name__}")
    seconds, micros = divmod(time_us, 1_000_000)
    body = _SECONDS.get(seconds)
    if body is None:
        if not _INT64_MIN <= seconds <= _INT64_MAX:
            raise ValueError(f"time {time_us} us is out of the Timestamp range")
        body = f"\x08{varint(seconds)}" if seconds else ""
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        _SECONDS[seconds] = body
    if micros:
        millis, rest = divmod(micros, 1000)
        body += f"\x10{varint(micros * 1000)}" if rest else _MILLI_NANOS[millis]
    return f"{tag}{chr(len(body))}{body}"  # at most 17 bytes: a one-byte length


ASKS_TAG, BIDS_TAG = chr(3 << 3 | 2), chr(4 << 3 | 2)  # Orderbook fields 3 and 4, length-delimited
_PRICE_TAG, _SIZE_TAG = chr(1 << 3 | 2), chr(2 << 3 | 2)
# Every piece of a level's wire form that depends only on the lengths of its two texts, for texts
# shorter than _TABLE_LENGTH (real prices and sizes take 1-20 characters): per side, by price length
# then size length, the side's tag, the level's length, the price tag and the price's length; and by
# size length, the size tag and the size's length. Every length is then a one-byte varint.
_TABLE_LENGTH = 32
_LEVEL_HEADS = {tag: tuple(tuple(f"{tag}{chr(lp + ls + 4)}{_PRICE_TAG}{chr(lp)}" for ls in range(_TABLE_LENGTH))
                           for lp in range(_TABLE_LENGTH))
                for tag in (ASKS_TAG, BIDS_TAG)}
_SIZE_HEADS = tuple(f"{_SIZE_TAG}{chr(ls)}" for ls in range(_TABLE_LENGTH))


def levels_wire(tag: str, levels: Levels) -> str:
    """One repeated PriceLevel field (``tag`` = ASKS_TAG or BIDS_TAG), read from the side's columns.

    The common case (texts shorter than _TABLE_LENGTH) writes each level as four pieces, two of
    them looked up by length; a longer text (IndexError) sends the side to the general path.
    ``len`` refuses anything but a text (a Decimal or float raises TypeError). Measured faster than
    per-level length arithmetic, map()/%-format/chained-join variants on CPython 3.11.
    """
    heads, size_heads = _LEVEL_HEADS[tag], _SIZE_HEADS
    try:
        return "".join([f"{heads[len(p)][ls := len(s)]}{p}{size_heads[ls]}{s}"
                        for p, s in zip(levels.prices, levels.sizes, strict=True)])
    except IndexError:
        return _levels_general(tag, levels)


def _levels_general(tag: str, levels: Levels) -> str:
    parts = []
    for price, size in zip(levels.prices, levels.sizes, strict=True):
        inner = f"{_PRICE_TAG}{prefix(len(price))}{price}{_SIZE_TAG}{prefix(len(size))}{size}"
        parts.append(f"{tag}{prefix(len(inner))}{inner}")
    return "".join(parts)
