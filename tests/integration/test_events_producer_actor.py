"""The events producer actor in a real multiprocTCPBase actor system, publishing to the real broker
with either client: every event published in order on its exchange's events topic, and every one
counted, per exchange, as published or failed, GAP and BACKFILLED events' recovered trades and the
gaps too (the counts the backfill's events will make when it sends them)."""
from __future__ import annotations

import importlib.util
import time
from typing import Any

import pytest
from thespian.actors import Actor, ActorSystem

from actors.events_producer import EventsProducerActor
from domain.records import ConnectionEventKind as K
from domain.records import ConnectionEventRecord, Exchange
from domain.settings import KafkaSettings
from messages import EventsReport, FlushProducer, ProducerFlushed, PublishEvent, StartEvents
from proto.serializer import event_to_record, parse_event
from tests.integration.test_buffer_producer_actors import asys  # noqa: F401  (a fixture, used by name)
from tests.integration.test_publisher_kafka import (
    bootstrap,  # noqa: F401  (a fixture, used by name)
    consume,
    create_topics,
    unique_template,
)

pytestmark = pytest.mark.integration
CLIENTS = ["kafka-python", pytest.param("confluent-kafka", marks=pytest.mark.skipif(
    importlib.util.find_spec("confluent_kafka") is None, reason="confluent-kafka is not installed"))]


class Supervisor(Actor):
    """Plays the supervisor: keeps the latest events report."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.report: EventsReport | None = None

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, EventsReport):
            self.report = msg
        elif msg == "report":
            self.send(sender, self.report)


def wait_report(asys: ActorSystem, supervisor: Any, predicate: Any, timeout_s: float = 20.0) -> EventsReport:  # noqa: F811
    deadline = time.monotonic() + timeout_s
    report = asys.ask(supervisor, "report", 5)
    while not (report is not None and predicate(report)) and time.monotonic() < deadline:
        time.sleep(0.1)
        report = asys.ask(supervisor, "report", 5)
    assert report is not None and predicate(report), report
    return report


def event(kind: K, at_s: int, recovered: int = 0, exchange: Exchange = Exchange.UPBIT) -> ConnectionEventRecord:
    base = 1_700_000_000_000_000 + at_s * 1_000_000
    interval = (base - 1_000_000, base) if kind is not K.CONNECTED and kind is not K.MARKETS_CHANGED else (None, None)
    return ConnectionEventRecord(exchange, f"{exchange.value}-0", kind, base, ("KRW-BTC", "KRW-ETH"), *interval,
                                 trades_recovered=recovered, gap_closed=kind is K.BACKFILLED,
                                 reason="horizon" if kind is K.GAP else "",
                                 added_codes=("KRW-XRP",) if kind is K.MARKETS_CHANGED else ())


@pytest.mark.parametrize("client", CLIENTS)
def test_every_event_is_published_in_order_or_counted_failed_with_gaps_and_recovered_trades_per_exchange(
        asys: ActorSystem, bootstrap: str, client: str) -> None:  # noqa: F811
    kafka = KafkaSettings(client=client, bootstrap_servers=(bootstrap,), topic_template=unique_template("events"),
                          max_block_ms=500)
    topic = kafka.events_topic("upbit")
    create_topics(bootstrap, [topic])  # bithumb's events topic is left missing: its events must fail, counted
    supervisor = asys.createActor(Supervisor)
    producer = asys.createActor(EventsProducerActor)
    sent = [event(K.CONNECTED, 0), event(K.DISCONNECTED, 10), event(K.RESUBSCRIBED, 11),
            event(K.BACKFILLED, 12, recovered=40), event(K.GAP, 13, recovered=2), event(K.MARKETS_CHANGED, 14)]
    asys.tell(producer, PublishEvent(sent[0]))  # before the start: it waits, then goes first
    asys.tell(producer, StartEvents(kafka, supervisor, ("bithumb", "upbit")))
    for e in sent[1:]:
        asys.tell(producer, PublishEvent(e))
    asys.tell(producer, PublishEvent(ConnectionEventRecord(Exchange.UPBIT, "upbit-0", K.GAP, 1, trades_recovered=-1)))
    asys.tell(producer, PublishEvent(event(K.GAP, 20, exchange=Exchange.BITHUMB)))

    report = wait_report(asys, supervisor, lambda r: r.published.get("upbit", 0) == len(sent)
                         and r.failed.get("bithumb", 0) == 1 and r.in_flight == 0)
    # the unserialisable one failed; a GAP counts as a gap whether or not it could be published
    assert (report.published, report.failed) == ({"upbit": 6}, {"upbit": 1, "bithumb": 1})
    assert report.gaps == {"upbit": 2, "bithumb": 1}
    assert report.backfilled_trades == {"upbit": 42}
    assert [row["kind"] for row in report.recent] == ["CONNECTED", "DISCONNECTED", "RESUBSCRIBED", "BACKFILLED",
                                                      "GAP", "MARKETS_CHANGED", "GAP", "GAP"]

    reads = sorted(consume(bootstrap, topic, len(sent)), key=lambda m: m.offset)
    assert {(m.partition, m.key) for m in reads} == {(reads[0].partition, b"upbit-0")}  # one key, one partition
    assert [event_to_record(parse_event(m.value)) for m in reads] == sent  # in the order they came
    assert dict(reads[0].headers) == {"schema": b"krwfeed.v1.ConnectionEvent", "exchange": b"upbit",
                                      "data_type": b"event"}

    flushed = asys.ask(producer, FlushProducer(timeout_s=2.0), 10)
    assert flushed == ProducerFlushed("events", 0)
