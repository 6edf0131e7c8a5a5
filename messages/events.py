"""To the events producer: one connection or gap event for the exchange's events topic.

Events are few (a handful per drop), so they travel as actor messages, not on the record channel."""
from __future__ import annotations

from dataclasses import dataclass

from domain.records import ConnectionEventRecord


@dataclass(frozen=True, slots=True)
class PublishEvent:
    event: ConnectionEventRecord
