"""The record channel's framing: records survive the trip byte for byte, frames split anywhere in
the stream are reassembled, and garbage is refused instead of being read as records."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.record_channel import (
    CREDIT,
    DRAINED,
    HELLO,
    MAX_RECORDS_FRAME_BYTES,
    RECORDS,
    ChannelError,
    FrameDecoder,
    decode_credit,
    decode_records,
    encode_credit,
    encode_frame,
    encode_hello,
    encode_records,
)
from domain.market_data import MarketDataMessage

pytestmark = pytest.mark.unit

record_st = st.builds(
    MarketDataMessage,
    exchange=st.sampled_from(["upbit", "bithumb"]),
    data_type=st.sampled_from(["trade", "orderbook"]),
    code=st.from_regex(r"KRW-[A-Z0-9]{1,10}", fullmatch=True),
    raw_data=st.binary(max_size=2000),
    received_time_us=st.integers(0, 2**62),
    sequential_id=st.integers(0, 2**62),
)


def fields(r: MarketDataMessage) -> tuple[object, ...]:
    return (r.exchange, r.data_type, r.code, r.raw_data, r.received_time_us, r.sequential_id)


@given(st.lists(record_st, max_size=50), st.integers(1, 97))
def test_records_survive_framing_split_at_any_point(records: list[MarketDataMessage], chunk: int) -> None:
    stream = b"".join(encode_records(records)) + encode_credit(7) + encode_frame(DRAINED)
    decoder = FrameDecoder()
    frames: list[tuple[int, bytes]] = []
    for start in range(0, len(stream), chunk):
        frames.extend(decoder.feed(stream[start:start + chunk]))
    got = [r for kind, body in frames if kind == RECORDS for r in decode_records(body)]
    assert [fields(r) for r in got] == [fields(r) for r in records]
    assert [kind for kind, _ in frames][-2:] == [CREDIT, DRAINED]
    assert decode_credit(frames[-2][1]) == 7
    assert decoder.buffered == 0


def test_large_batches_are_split_into_bounded_frames() -> None:
    records = [MarketDataMessage("upbit", "orderbook", "KRW-BTC", b"x" * 5000, 1, 0) for _ in range(1000)]
    frames = encode_records(records)
    assert len(frames) > 1
    assert all(len(f) <= MAX_RECORDS_FRAME_BYTES + 6000 for f in frames)
    decoder = FrameDecoder()
    got = [r for f in frames for kind, body in decoder.feed(f) for r in decode_records(body)]
    assert len(got) == 1000


@pytest.mark.parametrize("garbage", [
    b"\x00\x00\x00\x00\x02",  # zero length
    b"\xff\xff\xff\xff\x02",  # longer than any frame may be
    b"\x05\x00\x00\x00\x63abcd",  # unknown kind
])
def test_garbage_is_refused_not_read_as_records(garbage: bytes) -> None:
    with pytest.raises(ChannelError):
        FrameDecoder().feed(garbage)


def test_a_truncated_record_inside_a_frame_is_refused() -> None:
    body = encode_records([MarketDataMessage("upbit", "trade", "KRW-BTC", b"payload", 1, 2)])[0][5:]
    with pytest.raises(ChannelError):
        decode_records(body[:-3])


def test_hello_names_the_role() -> None:
    [(kind, body)] = FrameDecoder().feed(encode_hello("producer:trade"))
    assert (kind, body) == (HELLO, b"producer:trade")
