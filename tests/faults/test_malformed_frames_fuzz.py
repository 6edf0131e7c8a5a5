"""Malformed frames: thousands of mutated real exchange frames thrown at the decoders (hypothesis).

The frames in tests/faults/data/ are the real ones from the golden fixtures. Each example takes one
and damages it, either as bytes (flips, cuts, inserted bytes) or as JSON (a field deleted, or its
value swapped for something of the wrong type, size or sign). The properties:

* a decoder returns a ``DecodedFrame`` or raises ``ValidationException`` - nothing else, ever;
* every record a decoder does accept is one the wire contract can carry or is rejected by the
  serializer with a ``ValidationException`` (the frame pipeline counts it as malformed);
* the frame pipeline never raises and counts every frame exactly once (data, status, error,
  ignored or malformed), so a bad frame is never silently lost.

These are pure (no I/O) but live in the fault suite; they run in a few seconds.
"""
from __future__ import annotations

import contextlib
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.frame_pipeline import MALFORMED, FramePipeline
from exchanges.base import DecodedFrame, FrameKind
from exchanges.registry import get_adapter
from messages.exceptions import ValidationException
from messages.records import OrderbookRecord, TradeRecord
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
    return exchange, text.encode()


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


MUTATED = st.one_of(json_mutation(), byte_mutation())


def _check_record(record: Any) -> None:
    assert isinstance(record, TradeRecord | OrderbookRecord), type(record)
    assert record.received_time_us == RECEIVED_US
    if isinstance(record, TradeRecord):
        assert isinstance(record.price, Decimal) and isinstance(record.volume, Decimal)
    # a record the wire contract rejects raises ValidationException; the pipeline counts it as malformed
    with contextlib.suppress(ValidationException):
        encode_record(record)


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
        _check_record(record)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MUTATED, min_size=1, max_size=8))
def test_S2_2_f_frame_pipeline_counts_every_bad_frame_and_never_raises(frames: list[tuple[str, bytes]]) -> None:
    pipelines: dict[str, FramePipeline] = {}
    outcomes: dict[str, list[str]] = {}
    for exchange, frame in frames:
        pipeline = pipelines.setdefault(
            exchange, FramePipeline(get_adapter(exchange), ["KRW-BTC", "KRW-ETH", "KRW-XRP", "BTC_KRW"]))
        outcome = pipeline.process(frame, RECEIVED_US)
        outcomes.setdefault(exchange, []).append(outcome.kind)
        if outcome.kind == MALFORMED:
            assert outcome.detail, "a malformed frame carries the reason"
    for exchange, pipeline in pipelines.items():
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


def test_S2_2_f_the_fuzz_corpus_holds_real_frames_of_every_kind() -> None:
    kinds = set()
    for exchange, frame in FRAMES:
        try:
            kinds.add(get_adapter(exchange).decode(frame, RECEIVED_US).kind)
        except ValidationException:
            continue
    assert {FrameKind.DATA, FrameKind.STATUS, FrameKind.ERROR, FrameKind.IGNORED} <= kinds
    assert {e for e, _ in FRAMES} == {"upbit", "bithumb", "bithumb-legacy"}
