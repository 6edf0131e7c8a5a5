"""Malformed frames: thousands of mutated real exchange frames thrown at the decoders (hypothesis).

The frames in tests/faults/data/ are the real ones from the golden fixtures. Each example takes one
and damages it, either as bytes (flips, cuts, inserted bytes) or as JSON (a field deleted, or its
value swapped for something of the wrong type, size or sign: negative, zero, NaN, absurd
exponents such as 1e9999999 or 1e-999999999, a thousand digits, brackets nested a thousand deep),
or swaps two levels of a book. The properties:

* a decoder returns a ``DecodedFrame`` or raises ``ValidationException`` - nothing else, ever;
* every record a decoder does accept holds decimals as texts no longer than the frame, or than 64
  characters where an exponent form was written out;
* through the frame pipeline, no invalid value reaches the encoder (each record the encoder sees
  passes an independent exact check written with Decimal), the pipeline never raises, every frame
  is counted exactly once (data, status, error, ignored or malformed) and every record a frame
  held is either forwarded or dropped with a reason;
* each frame costs bounded work by construction: numbers are bounded (64 characters as sent and
  written out) before they are read, so what comes out is at most a constant times what came in,
  which the test checks on the bytes (no timing assertions).

These are pure (no I/O) but live in the fault suite; they run in a few seconds.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.frame_pipeline import MALFORMED, FramePipeline
from domain.exceptions import ValidationException
from domain.market_data import MarketDataMessage
from domain.records import MarketRecord, OrderbookRecord, TradeRecord
from exchanges.base import DecodedFrame, FrameKind
from exchanges.fields import MAX_NUMBER_CHARS
from exchanges.registry import get_adapter
from proto.serializer import encode_record

pytestmark = [pytest.mark.faults]

DATA = Path(__file__).parent / "data"
EXAMPLES = int(os.environ.get("KRWFEED_FUZZ_EXAMPLES", "1500"))
RECEIVED_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def _adapter_for(file_name: str) -> str:
    if file_name.startswith("upbit"):
        return "upbit"
    return "bithumb-legacy" if file_name.startswith("bithumb_v1") else "bithumb"


def _load_frames() -> list[tuple[str, bytes]]:
    frames = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                frames.append((_adapter_for(path.name), line.strip()))
    return frames


FRAMES = _load_frames()

# Values a damaged exchange frame might carry where something else is expected.
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["NaN", "Infinity", "-1", "0", "1e400", "1E-400", "", " ", "12,000", "0x10", "١٢٣"]),
    st.integers(min_value=-(2**64), max_value=0), st.just(0.0), st.just(-0.5),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a decoded JSON document."""
    found: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        found.append((*prefix, key))
        found += _paths(child, (*prefix, key))
    return found


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def json_mutation(draw: st.DrawFn) -> tuple[str, bytes]:
    exchange, frame = draw(st.sampled_from(FRAMES))
    doc = json.loads(frame)
    paths = _paths(doc)
    for _ in range(draw(st.integers(1, 3))):
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        try:
            parent = _parent(doc, path)
            if draw(st.booleans()) and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(ODD_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
        paths = _paths(doc)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    # Numbers json.dumps cannot write: spliced in as raw wire text in place of a value.
    if draw(st.booleans()) and '": ' in text:
        raw = draw(RAW_NUMBERS)
        at = draw(st.integers(0, text.count('": ') - 1))
        head, *rest = text.split('": ')
        pieces = [head]
        for index, piece in enumerate(rest):
            if index == at:
                end = next((i for i, ch in enumerate(piece) if ch in ",}]"), len(piece))
                if not piece.startswith(("{", "[")):
                    piece = raw + piece[end:]
            pieces.append(piece)
        text = '": '.join(pieces)
    return exchange, text.encode()


RAW_NUMBERS = st.one_of(
    st.sampled_from(["1e9999999", "1e-999999999", "1e-50000000", "-1e9999999", "9" * 1000, "0." + "0" * 500 + "1",
                     "0e-99999", "1E+64", "1e-62", "-0.0", "0.0", "1.5E-3", "-0", "1" + "0" * 80]),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-9, 9), st.integers(-(10**9), 10**9)),
)


@st.composite
def byte_mutation(draw: st.DrawFn) -> tuple[str, bytes]:
    exchange, frame = draw(st.sampled_from(FRAMES))
    data = bytearray(frame)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif op == "delete" and data:
            del data[at:at + draw(st.integers(1, 8))]
    return exchange, bytes(data)


@st.composite
def structural_mutation(draw: st.DrawFn) -> tuple[str, bytes]:
    """Deep nesting put in a value's place, or two price levels of a book swapped."""
    exchange, frame = draw(st.sampled_from(FRAMES))
    text = frame.decode()
    if draw(st.booleans()):
        depth = draw(st.integers(50, 3000))
        at = text.find(":", draw(st.integers(0, max(0, len(text) - 1))))
        if at >= 0:
            text = text[:at + 1] + "[" * depth + "]" * depth + "," + text[at + 1:]
        return exchange, text.encode()
    doc = json.loads(text)
    for key in ("orderbook_units", "obu"):
        units = doc.get(key) if isinstance(doc, dict) else None
        if isinstance(units, list) and len(units) > 1:
            i, j = draw(st.integers(0, len(units) - 1)), draw(st.integers(0, len(units) - 1))
            units[i], units[j] = units[j], units[i]
    return exchange, json.dumps(doc).encode()


MUTATED = st.one_of(json_mutation(), byte_mutation(), structural_mutation())


_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def _decimals(record: MarketRecord) -> list[str | None]:
    if isinstance(record, TradeRecord):
        return [record.price, record.volume, record.prev_closing_price, record.change_price, record.best_ask_price,
                record.best_ask_size, record.best_bid_price, record.best_bid_size]
    return [record.total_ask_size, record.total_bid_size, record.level,
            *(text for level in (*record.asks, *record.bids) for text in level)]


def _check_record(record: Any, frame: bytes) -> None:
    assert isinstance(record, TradeRecord | OrderbookRecord), type(record)
    assert record.received_time_us == RECEIVED_US
    for text in _decimals(record):
        # a text as sent, or an exponent form written out within the bound: never a blow-up
        assert text is None or type(text) is str and len(text) <= max(MAX_NUMBER_CHARS, len(frame)), text
    # a record the wire contract rejects raises ValidationException; the pipeline counts it as malformed
    with contextlib.suppress(ValidationException):
        encode_record(record)


def _assert_valid(record: MarketRecord) -> None:
    """An independent, exact statement of what may reach Kafka, written with Decimal."""
    texts = _decimals(record)
    assert all(t is None or _PLAIN.fullmatch(t) and len(t) <= MAX_NUMBER_CHARS for t in texts), texts
    assert min(record.received_time_us, record.event_time_us) > 0
    if isinstance(record, TradeRecord):
        assert Decimal(record.price) > 0 and Decimal(record.volume) > 0 and record.trade_time_us > 0
    else:
        for side, ascending in ((record.asks, True), (record.bids, False)):
            prices = [Decimal(price) for price, _ in side]
            assert all(p > 0 for p in prices) and all(Decimal(size) > 0 for _, size in side)
            assert prices == sorted(prices, reverse=not ascending) and len(set(prices)) == len(prices)


class CheckingEncoder:
    """The real encoder, behind a check of everything handed to it."""

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, record: MarketRecord) -> MarketDataMessage:
        _assert_valid(record)
        self.seen += 1
        return encode_record(record)


class CountingAdapter:
    """The real adapter, counting the records it decodes so each can be accounted for."""

    def __init__(self, exchange: str) -> None:
        self.inner = get_adapter(exchange)
        self.name = self.inner.name
        self.records = 0

    def subscription_request(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.subscription_request(*args, **kwargs)

    def decode(self, frame: bytes | str, received_time_us: int) -> DecodedFrame:
        decoded = self.inner.decode(frame, received_time_us)
        self.records += len(decoded.records)
        return decoded


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MUTATED, st.booleans())
def test_S2_2_f_mutated_frames_decode_or_raise_validation_exception(
        mutated: tuple[str, bytes], as_text: bool) -> None:
    exchange, frame = mutated
    payload: bytes | str = frame
    if as_text:
        payload = frame.decode("utf-8", errors="replace")
    try:
        decoded = get_adapter(exchange).decode(payload, RECEIVED_US)
    except ValidationException as err:
        assert err.message, "a ValidationException says what is wrong"
        return
    assert isinstance(decoded, DecodedFrame)
    for record in decoded.records:
        _check_record(record, frame)


CODES = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "USDT-BTC", "BTC-ETH"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(MUTATED, st.sampled_from(FRAMES)), min_size=1, max_size=8))
def test_S2_2_f_frame_pipeline_counts_every_bad_frame_and_never_raises(frames: list[tuple[str, bytes]]) -> None:
    pipelines: dict[str, tuple[FramePipeline, CountingAdapter, CheckingEncoder]] = {}
    outcomes: dict[str, list[str]] = {}
    forwarded: dict[str, int] = {}
    for exchange, frame in frames:
        if exchange not in pipelines:
            adapter, encoder = CountingAdapter(exchange), CheckingEncoder()
            pipelines[exchange] = (FramePipeline(adapter, CODES, encoder), adapter, encoder)
        pipeline = pipelines[exchange][0]
        outcome = pipeline.process(frame, RECEIVED_US)
        outcomes.setdefault(exchange, []).append(outcome.kind)
        forwarded[exchange] = forwarded.get(exchange, 0) + len(outcome.records)
        # bounded by construction: what comes out is at most a constant times what came in
        assert sum(len(r.raw_data) for r in outcome.records) <= 4 * len(frame) + 256
        if outcome.kind == MALFORMED:
            assert outcome.detail, "a malformed frame carries the reason"
    for exchange, (pipeline, adapter, encoder) in pipelines.items():
        c = pipeline.counters
        kinds = outcomes[exchange]
        assert c.frames == len(kinds)
        assert c.malformed >= kinds.count(MALFORMED)
        assert kinds.count(FrameKind.STATUS.value) == c.status_frames
        assert kinds.count(FrameKind.ERROR.value) == c.error_frames
        assert kinds.count(FrameKind.IGNORED.value) == c.ignored_types
        data_frames = kinds.count(FrameKind.DATA.value)
        # every frame is one of the five outcomes: none vanished without a count
        assert c.frames == (kinds.count(MALFORMED) + c.status_frames + c.error_frames + c.ignored_types
                            + data_frames)
        # every record decoded was forwarded (through the checking encoder) or dropped with a reason
        record_drops = sum(n for (data_type, _), n in c.dropped.items() if data_type != "other")
        assert adapter.records == c.received + record_drops == forwarded[exchange] + record_drops
        assert encoder.seen >= c.received == forwarded[exchange]
        assert c.invalid == sum(n for (_, reason), n in c.dropped.items() if reason == "invalid")


def test_S2_2_f_the_fuzz_corpus_holds_real_frames_of_every_kind() -> None:
    kinds = set()
    for exchange, frame in FRAMES:
        try:
            kinds.add(get_adapter(exchange).decode(frame, RECEIVED_US).kind)
        except ValidationException:
            continue
    assert {FrameKind.DATA, FrameKind.STATUS, FrameKind.ERROR, FrameKind.IGNORED} <= kinds
    assert {e for e, _ in FRAMES} == {"upbit", "bithumb", "bithumb-legacy"}
