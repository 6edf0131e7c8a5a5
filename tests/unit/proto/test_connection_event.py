"""ConnectionEvent: the hand-written wire encoding equals the protobuf runtime's, byte for byte, and
parses back to the same record; the Kafka headers of events and of backfilled trades."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.exceptions import SerializationException
from domain.records import ConnectionEventKind, ConnectionEventRecord, Exchange
from proto import serializer
from proto.krwfeed.v1 import market_data_pb2 as pb
from proto.serializer import event_headers, event_to_record, kafka_headers, parse_event, serialize_event

pytestmark = pytest.mark.unit
times = st.one_of(st.integers(-(10**17), 10**17), st.sampled_from([0, 1, 999_999, 1_000_000, -1]),
                  st.integers(0, 2**40).map(lambda ms: ms * 1000))
texts = st.one_of(st.sampled_from(["", "KRW-BTC", "horizon", "upbit-0"]), st.text(max_size=200))
code_lists = st.lists(st.one_of(st.sampled_from(["KRW-BTC", "KRW-ETH"]), st.text(min_size=1, max_size=30)),
                      max_size=20).map(tuple)


def runtime_event(event: ConnectionEventRecord) -> bytes:
    msg = pb.ConnectionEvent(exchange=serializer.EXCHANGE_TO_PB[event.exchange], connection_id=event.connection_id,
                             codes=list(event.codes), kind=pb.ConnectionEvent.Kind.Value(event.kind.value),
                             trades_recovered=event.trades_recovered, gap_closed=event.gap_closed,
                             reason=event.reason, added_codes=list(event.added_codes),
                             removed_codes=list(event.removed_codes))
    for field, time_us in (("from_time", event.from_time_us), ("to_time", event.to_time_us),
                           ("event_time", event.event_time_us)):
        if time_us is not None:
            stamp = getattr(msg, field)
            stamp.seconds, micros = divmod(time_us, 1_000_000)
            stamp.nanos = micros * 1000
    return msg.SerializeToString()


@settings(max_examples=300, deadline=None)
@given(st.builds(ConnectionEventRecord, st.sampled_from(list(Exchange)), texts,
                 st.sampled_from(list(ConnectionEventKind)), times, code_lists, st.one_of(st.none(), times),
                 st.one_of(st.none(), times), st.integers(0, 2**64 - 1), st.booleans(), texts, code_lists,
                 code_lists))
def test_event_bytes_equal_runtime_and_round_trip(event: ConnectionEventRecord) -> None:
    data = serialize_event(event)
    assert data == runtime_event(event)
    assert event_to_record(parse_event(data)) == event


def test_gap_event_reads_as_documented() -> None:
    event = ConnectionEventRecord(Exchange.UPBIT, "upbit-0", ConnectionEventKind.GAP, 1_790_134_800_000_000,
                                  ("KRW-BTC",), 1_790_134_742_106_000, 1_790_134_790_000_000, 1500, False, "horizon")
    msg = parse_event(serialize_event(event))
    assert msg.kind == pb.ConnectionEvent.GAP and not msg.gap_closed and msg.reason == "horizon"
    assert msg.from_time.ToMicroseconds() == 1_790_134_742_106_000 and msg.trades_recovered == 1500
    unset = parse_event(serialize_event(ConnectionEventRecord(Exchange.BITHUMB, "b", ConnectionEventKind.CONNECTED, 5)))
    assert not unset.HasField("from_time") and not unset.HasField("to_time")


@pytest.mark.parametrize("change", [{"trades_recovered": -1}, {"trades_recovered": 2**64}, {"gap_closed": 1},
                                    {"codes": (b"KRW-BTC",)}, {"event_time_us": 1.5}, {"kind": "LOST"},
                                    {"exchange": "kraken"}])
def test_invalid_event_raises(change: dict[str, object]) -> None:
    base = ConnectionEventRecord(Exchange.UPBIT, "u", ConnectionEventKind.GAP, 1)
    with pytest.raises(SerializationException):
        serialize_event(ConnectionEventRecord(**{**{f: getattr(base, f) for f in base.__slots__}, **change}))


def test_headers_of_events_and_backfilled_trades() -> None:
    assert event_headers("upbit") == [("schema", b"krwfeed.v1.ConnectionEvent"), ("exchange", b"upbit"),
                                      ("data_type", b"event")]
    streamed = kafka_headers("upbit", "trade")
    assert kafka_headers("upbit", "trade", source=serializer.SOURCE_REST) == [*streamed, ("source", b"rest")]
    assert all(name != "source" for name, _ in streamed)
