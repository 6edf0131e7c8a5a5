"""The data path's batches, derived from the Kafka client's batch settings (seed S2.6-d). Pure.

The Kafka client collects each partition's records into a batch of at most ``batch.size`` bytes
(uncompressed) and sends it when it is full or ``linger.ms`` after its first record; a broker
connection carries at most ``max.in.flight.requests.per.connection`` requests awaiting an answer.
krwfeed's own batching follows from those settings:

* Connector -> buffer: records go in one channel write per ``window_s``, which is
  ``buffer.linger_ms`` (default 10 ms), or sooner when ``MAX_WINDOW_RECORDS`` are pending. Every
  channel write wakes the buffer and then a producer, and each wake-up of an actor process costs
  about 0.25 ms of CPU here whatever it carries, so this window, not the records, sets most of the
  buffer's and the producers' cost. Measured at 2,000 msgs/s (``bench/throughput.py``, confluent-
  kafka, two 20 s steps each): 5 ms windows gave 0.35-0.41 CPU s per 1,000 messages and a receive
  -> ack p99 of 14-19 ms; 10 ms 0.30-0.33 and 20-26 ms; 20 ms 0.27 and 29-32 ms. The default
  takes the middle; the Kafka client's own ``linger.ms`` batches behind it as before.
* Buffer -> producer: the producer grants credit in steps of ``step`` records, the records of its
  data type that fill one Kafka batch on every request a broker connection may have in flight:
  ``batch.size // RECORD_BYTES[data type] * max.in.flight.requests.per.connection``. It allows
  ``IN_FLIGHT_STEPS`` steps' worth unacknowledged or granted (``cap``), so the client holds a few
  rounds of full batches and no more: beyond that, records wait in the buffer, where the TTL
  applies, instead of in the client's queue, where it does not. With the defaults (16 KiB batches,
  5 requests in flight) that is 510 trades (2,040 in flight) and 55 orderbooks (220 in flight),
  about 80 KiB per step and 320 KiB in flight for either type.

``kafka.pull_batch_size``, when set, replaces the derived step for every data type.
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.settings import BufferSettings, KafkaSettings

# A typical record as the Kafka client counts it: the serialised krwfeed.v1 message, its key (the
# market code) and the record's own framing (about 30 bytes). Orderbooks are sized for Upbit's
# 30-level book, the largest either exchange sends (about 1,400 bytes serialised; 15 levels are
# half that); trades are 95-180 bytes serialised, most about 120.
RECORD_BYTES = {"trade": 160, "orderbook": 1_450}
IN_FLIGHT_STEPS = 4
MAX_WINDOW_RECORDS = 2000  # records per channel write at most


@dataclass(frozen=True, slots=True)
class CreditPlan:
    step: int  # records granted at a time
    cap: int  # records allowed unacknowledged or granted


def record_bytes(data_type: str) -> int:
    """Unknown data types are sized like the largest known one, so they never get more credit."""
    return RECORD_BYTES.get(data_type, max(RECORD_BYTES.values()))


def credit_plan(kafka: KafkaSettings, data_type: str) -> CreditPlan:
    per_batch = max(1, kafka.batch_size // record_bytes(data_type))
    step = kafka.pull_batch_size or per_batch * kafka.max_in_flight_requests_per_connection
    return CreditPlan(step, step * IN_FLIGHT_STEPS)


def connector_window_s(buffer: BufferSettings) -> float:
    return buffer.linger_ms / 1000
