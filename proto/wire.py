"""Direct protobuf wire encoding of ``repeated krwfeed.v1.PriceLevel`` (seed S2.5-j).

Creating 30-60 PriceLevel objects per book through the protobuf runtime costs more than the rest
of the record together; the wire form of ``{string price = 1; string size = 2;}`` is simple enough
to write here. ``test_S2_5_j_level_encoding_matches_protobuf_runtime`` checks the bytes against the
runtime's own encoding. Strings are built with one character per byte and encoded as latin-1.
"""
from __future__ import annotations

from decimal import Decimal

from messages.records import PriceLevel


def _varint(value: int) -> str:
    """Protobuf base-128 varint, one character per byte (encoded as latin-1 below)."""
    out = []
    while value > 0x7F:
        out.append(chr(0x80 | (value & 0x7F)))
        value >>= 7
    out.append(chr(value))
    return "".join(out)


ASKS_TAG, BIDS_TAG = chr(3 << 3 | 2), chr(4 << 3 | 2)  # Orderbook fields 3 and 4, length-delimited
_PRICE_TAG, _SIZE_TAG = chr(1 << 3 | 2), chr(2 << 3 | 2)
_VARINTS = tuple(_varint(n) for n in range(1024))  # length prefixes, looked up instead of computed


def _prefix(length: int) -> str:
    return _VARINTS[length] if length < 1024 else _varint(length)


def levels_wire(tag: str, levels: tuple[PriceLevel, ...]) -> str:
    """One repeated PriceLevel field (``tag`` = ASKS_TAG or BIDS_TAG), decimals in plain notation."""
    parts = []
    for level in levels:
        if type(level.price) is not Decimal or type(level.size) is not Decimal:
            raise TypeError("level price and size must be Decimals")
        price = str(level.price)
        if "E" in price:
            price = format(level.price, "f")
        size = str(level.size)
        if "E" in size:
            size = format(level.size, "f")
        inner = f"{_PRICE_TAG}{_prefix(len(price))}{price}{_SIZE_TAG}{_prefix(len(size))}{size}"
        parts.append(f"{tag}{_prefix(len(inner))}{inner}")
    return "".join(parts)
