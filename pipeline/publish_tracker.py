"""Counting Kafka delivery outcomes and deciding when publishing has failed for good (seed S3.1-e).

Pure (no I/O) but thread-safe: kafka-python resolves delivery futures on its sender thread while
the producer actor reads the counts on its own thread, so every access takes one lock.

Two levels are counted:

* **records**: cumulative ``succeeded`` and ``failed`` counts, one per record;
* **publishes**: one ``publish()`` call hands a pulled batch to the client. A publish *fails* when
  at least one of its records fails, and *succeeds* when all are acknowledged. ``consecutive_failures``
  counts failed publishes since the last successful one, in the order they complete.

The threshold applies to publishes, not records: with ``retries=0`` one broken connection fails
every record in flight at once (dozens to thousands), so a per-record count would turn any
broker restart into a service stop. Counting publishes makes "N consecutive failures" mean N
batches in a row with nothing getting through, which is what a lasting outage looks like.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TrackerSnapshot:
    succeeded: int
    failed: int
    consecutive_failures: int
    in_flight: int
    last_error: str
    fatal: bool


@dataclass(slots=True)
class PublishAttempt:
    """One ``publish()`` call's records; ``errors`` keeps (code, sequential_id, error) per failure.

    It completes when every record is resolved: acknowledged, failed in delivery, or failed
    before reaching the client.
    """

    attempt_id: int
    expected: int
    resolved: int = 0
    errors: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.resolved >= self.expected


class PublishTracker:
    def __init__(self, max_consecutive_failures: int = 10) -> None:
        if max_consecutive_failures < 1:
            raise ValueError(f"max_consecutive_failures must be at least 1, got {max_consecutive_failures}")
        self.max_consecutive_failures = max_consecutive_failures
        self._lock = threading.Lock()
        self._next_id = 0
        self._succeeded = 0
        self._failed = 0
        self._consecutive = 0
        self._in_flight = 0  # handed to the client, not yet resolved
        self._last_error = ""
        self._version = 0  # bumps on every change; lets readers skip unchanged reports

    def begin(self, expected: int) -> PublishAttempt:
        with self._lock:
            self._next_id += 1
            return PublishAttempt(self._next_id, expected)

    def handed(self, attempt: PublishAttempt) -> None:
        """One record went to the client; its outcome will come through a callback."""
        with self._lock:
            self._in_flight += 1

    def succeeded(self, attempt: PublishAttempt) -> bool:
        """One handed record was acknowledged; True when this completed the attempt."""
        with self._lock:
            self._succeeded += 1
            self._in_flight -= 1
            return self._resolve(attempt)

    def failed(
        self, attempt: PublishAttempt, code: str, sequential_id: int, error: str, *, handed: bool = True
    ) -> bool:
        """One record failed (``handed=False``: before reaching the client); True when this
        completed the attempt."""
        with self._lock:
            self._failed += 1
            if handed:
                self._in_flight -= 1
            self._last_error = error
            attempt.errors.append((code, sequential_id, error))
            return self._resolve(attempt)

    def snapshot(self) -> TrackerSnapshot:
        with self._lock:
            return TrackerSnapshot(
                self._succeeded, self._failed, self._consecutive, self._in_flight,
                self._last_error, self._consecutive >= self.max_consecutive_failures,
            )

    @property
    def version(self) -> int:
        return self._version

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _resolve(self, attempt: PublishAttempt) -> bool:
        attempt.resolved += 1
        self._version += 1
        if not attempt.complete:
            return False
        if attempt.errors:
            self._consecutive += 1
        else:
            self._consecutive = 0
        return True
