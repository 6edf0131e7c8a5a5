"""Events on the events topic: the record, its route, key and headers, and the per-exchange counts
of what became of each event (publishers.events, through the kafka-python publisher with an
in-memory stand-in for KafkaProducer)."""
from __future__ import annotations

from typing import Any

import pytest

from domain.exceptions import SerializationException
from domain.records import ConnectionEventKind as K
from domain.records import ConnectionEventRecord, Exchange
from domain.settings import KafkaSettings
from proto.serializer import event_to_record, parse_event
from publishers.events import EventTally, event_message
from publishers.kafka_publisher import KafkaPublisher
from tests.unit.publishers.test_kafka_publisher_callbacks import FakeProducer

pytestmark = pytest.mark.unit


def event(kind: K = K.DISCONNECTED, exchange: Exchange = Exchange.UPBIT, recovered: int = 0,
          connection_id: str = "upbit-0") -> ConnectionEventRecord:
    return ConnectionEventRecord(exchange, connection_id, kind, 1_700_000_002_000_000, ("KRW-BTC",),
                                 1_700_000_001_000_000, 1_700_000_002_000_000, trades_recovered=recovered,
                                 reason="drop")


def publisher(settings: KafkaSettings | None = None) -> tuple[KafkaPublisher, FakeProducer, EventTally]:
    made: list[FakeProducer] = []

    def factory(**kwargs: Any) -> FakeProducer:
        made.append(FakeProducer(**kwargs))
        return made[-1]

    tally = EventTally()
    pub = KafkaPublisher(settings or KafkaSettings(), "event", producer_factory=factory, observer=tally)
    return pub, made[0], tally


def test_an_event_goes_to_its_exchanges_events_topic_keyed_by_connection_with_event_headers() -> None:
    pub, producer, _ = publisher()
    pub.publish([event_message(event()), event_message(event(exchange=Exchange.BITHUMB, connection_id="bithumb-1"))])
    (topic, key, value, headers), (topic2, key2, _, headers2) = producer.sent
    assert (topic, key) == ("market.upbit.events", b"upbit-0")
    assert (topic2, key2) == ("market.bithumb.events", b"bithumb-1")
    assert dict(headers) == {"schema": b"krwfeed.v1.ConnectionEvent", "exchange": b"upbit", "data_type": b"event"}
    assert dict(headers2)["exchange"] == b"bithumb"
    assert event_to_record(parse_event(value)) == event()


def test_the_events_topic_follows_the_topic_template_and_its_prefix() -> None:
    settings = KafkaSettings(topic_template="tenant-7.feed.{exchange}.{data_type}")
    assert settings.events_topic("upbit") == "tenant-7.feed.upbit.events"
    pub, producer, _ = publisher(settings)
    pub.publish([event_message(event())])
    assert producer.sent[0][0] == "tenant-7.feed.upbit.events"


def test_published_and_failed_events_are_counted_per_exchange() -> None:
    pub, producer, tally = publisher()
    pub.publish([event_message(event()), event_message(event()),
                 event_message(event(exchange=Exchange.BITHUMB, connection_id="bithumb-0"))])
    assert tally.snapshot().in_flight == {"upbit": 2, "bithumb": 1}
    producer.futures[0].succeed()
    producer.futures[1].fail(RuntimeError("broker said no"))
    producer.futures[2].succeed()
    counts = tally.snapshot()
    assert (counts.published, counts.failed, counts.in_flight) == ({"upbit": 1, "bithumb": 1}, {"upbit": 1}, {})
    assert pub.snapshot().succeeded == 2 and pub.snapshot().failed == 1


def test_an_event_the_client_refuses_counts_as_failed() -> None:
    pub, producer, tally = publisher()
    producer.raise_on_send = RuntimeError("metadata timeout")
    pub.publish([event_message(event())])
    assert tally.snapshot().failed == {"upbit": 1} and tally.snapshot().in_flight == {}


def test_events_given_up_at_a_stop_count_as_failed_once_even_if_their_outcome_comes_later() -> None:
    pub, producer, tally = publisher()
    pub.publish([event_message(event()), event_message(event())])
    producer.futures[0].succeed()
    assert tally.abandon() == 1
    producer.futures[1].succeed()  # too late: already counted as failed
    counts = tally.snapshot()
    assert (counts.published, counts.failed) == ({"upbit": 1}, {"upbit": 1})


def test_an_event_the_client_never_resolves_counts_as_failed_once_its_deadline_has_passed() -> None:
    now = [100.0]
    made: list[FakeProducer] = []

    def factory(**kwargs: Any) -> FakeProducer:
        made.append(FakeProducer(**kwargs))
        return made[-1]

    tally = EventTally()
    pub = KafkaPublisher(KafkaSettings(), "event", producer_factory=factory, observer=tally,
                         monotonic=lambda: now[0])
    pub.publish([event_message(event())])
    now[0] += 1.0
    pub.publish([event_message(event(exchange=Exchange.BITHUMB, connection_id="bithumb-0"))])
    now[0] += 13.0  # the upbit event is 14 s in flight, past 3 s + 0.5 s + 10 s; the bithumb one is not
    pub.poll()
    counts = tally.snapshot()
    assert (counts.published, counts.failed, counts.in_flight) == ({}, {"upbit": 1}, {"bithumb": 1})
    made[0].futures[0].succeed()  # too late: already counted as failed
    made[0].futures[1].succeed()
    counts = tally.snapshot()
    assert (counts.published, counts.failed, counts.in_flight) == ({"bithumb": 1}, {"upbit": 1}, {})


def test_gaps_and_recovered_trades_are_counted_from_gap_and_backfilled_events() -> None:
    tally = EventTally()
    for e in (event(K.GAP, recovered=3), event(K.BACKFILLED, recovered=40), event(K.DISCONNECTED),
              event(K.GAP, Exchange.BITHUMB), event(K.RESUBSCRIBED, recovered=0)):
        tally.received(e)
    counts = tally.snapshot()
    assert counts.gaps == {"upbit": 1, "bithumb": 1}
    assert counts.backfilled_trades == {"upbit": 43}
    assert [row["kind"] for row in counts.recent] == ["GAP", "BACKFILLED", "DISCONNECTED", "GAP", "RESUBSCRIBED"]
    assert counts.recent[0] == {"kind": "GAP", "exchange": "upbit", "connection_id": "upbit-0",
                                "at_us": 1_700_000_002_000_000, "from_us": 1_700_000_001_000_000,
                                "to_us": 1_700_000_002_000_000, "trades_recovered": 3, "gap_closed": False,
                                "reason": "drop"}


def test_the_recent_events_are_bounded() -> None:
    tally = EventTally(recent_limit=3)
    for n in range(5):
        tally.received(event(connection_id=f"upbit-{n}"))
    assert [row["connection_id"] for row in tally.snapshot().recent] == ["upbit-2", "upbit-3", "upbit-4"]


def test_an_event_that_cannot_be_serialised_raises_and_is_counted_by_the_caller() -> None:
    bad = ConnectionEventRecord(Exchange.UPBIT, "upbit-0", K.GAP, 1, trades_recovered=-1)
    with pytest.raises(SerializationException):
        event_message(bad)
    tally = EventTally()
    tally.refused(bad)
    assert tally.snapshot().failed == {"upbit": 1}
