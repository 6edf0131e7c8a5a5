"""Between the supervisor and the producers: start, publish reports and the final flush (records
arrive on the record channel)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StartProducer:
    data_type: str
    kafka: Any  # KafkaSettings (plain data)
    channel_path: str  # the buffer's record-channel socket
    supervisor: Any


@dataclass(frozen=True, slots=True)
class PublishReport:
    data_type: str
    succeeded: int  # cumulative
    failed: int  # cumulative
    consecutive_failures: int  # failed attempts of the current outage
    last_error: str = ""
    cause: str = ""  # why deliveries fail now (``publishers.publish_tracker.CAUSE_*``); "" when they work
    failing_for_s: float = 0.0  # how long the current outage has lasted


@dataclass(frozen=True, slots=True)
class FlushProducer:
    timeout_s: float = 3.0


@dataclass(frozen=True, slots=True)
class ProducerFlushed:
    data_type: str
    pending: int
