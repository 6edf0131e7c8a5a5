"""Counting Kafka delivery outcomes and deciding when publishing has failed for good.

Pure (no I/O; the clock is passed in) but thread-safe: kafka-python resolves delivery futures on
its sender thread while the producer actor reads the counts on its own thread, so every access
takes one lock.

Records are counted one by one: cumulative ``succeeded`` and ``failed``. A ``publish()`` call is a
``PublishAttempt`` only for logging: one line per call that had failures, once it completes.

**The fatal rule** ("stop after N consecutive failures") counts failed *attempts paced by a
backoff*, not failed calls or records. A broker pause fails every record in flight at once and
the producer keeps publishing through it, so counting calls turned any pause longer than the
request timeout into a stop within seconds. Instead (``OutageRule``):

* the first failure after a success opens an outage and is failed attempt 1;
* failed attempt k+1 is the first failure at or after ``outage start + gaps[0] + ... + gaps[k-1]``,
  the gaps doubling and summing to ``max_outage_s``; failures in between belong to the attempt
  already counted;
* any acknowledged record ends the outage (the count returns to 0);
* the N-th failed attempt is fatal.

**Overdue records.** A client is trusted to resolve every record it took within its delivery
timeout, but nothing outside it proves that it does: after a broker SIGKILL kafka-python 3.0 was
once seen holding records for over 90 s with a delivery timeout of 3 s, and while the service runs
such records would be counted nowhere. ``overdue`` therefore counts as failed every record of a
call that has been in flight longer than a bound the caller sets (the delivery timeout plus a
margin), exactly as ``abandon`` does at a stop: a callback that still comes changes nothing.

So an outage shorter than ``max_outage_s`` never stops the service, whatever the load and however
many records fail meanwhile (each one counted), and one that keeps failing deliveries stops it at
the first failure after ``max_outage_s``, that is within ``max_outage_s`` plus the client's delivery
timeout.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Why deliveries fail, as health and the status name it.
CAUSE_AUTHENTICATION = "authentication failed"
CAUSE_UNREACHABLE = "broker unreachable"
CAUSE_TIMEOUT = "timed out"
CAUSE_REJECTED = "rejected by the broker"
CAUSE_QUEUE_FULL = "client queue full"
CAUSE_OTHER = "error"

_AUTH_MARKS = ("authentication", "authorization", "sasl", "ssl", "certificate", "auth_")
_UNREACHABLE_MARKS = ("nobrokersavailable", "connection", "transport", "all_brokers_down", "resolve",
                      "refused", "nodenotready", "unreachable", "broker transport failure")
_TIMEOUT_MARKS = ("timeout", "timedout", "timed_out", "timed out", "expir")
_REJECTED_MARKS = ("toolarge", "too_large", "invalid", "unknown_topic", "unknowntopic", "record_list")
_QUEUE_FULL_MARKS = ("queue_full", "buffererror", "queue full")


def failure_cause(error_name: str, text: str = "") -> str:
    """Classify a client error (its type or code name and its message) into one of the causes.

    Both clients name errors differently (kafka-python's exception classes, librdkafka's error
    codes), so this matches marks shared by both; authentication wins over everything else since
    it never heals by waiting.
    """
    name = error_name.lower()
    full = f"{name} {text.lower()}"
    if any(mark in full for mark in _AUTH_MARKS):
        return CAUSE_AUTHENTICATION
    if any(mark in full for mark in _QUEUE_FULL_MARKS):
        return CAUSE_QUEUE_FULL
    if any(mark in name for mark in _UNREACHABLE_MARKS):
        return CAUSE_UNREACHABLE
    if any(mark in full for mark in _TIMEOUT_MARKS):
        return CAUSE_TIMEOUT
    if any(mark in name for mark in _REJECTED_MARKS):
        return CAUSE_REJECTED
    if any(mark in full for mark in _UNREACHABLE_MARKS):
        return CAUSE_UNREACHABLE
    return CAUSE_OTHER


def outage_gaps(max_attempts: int, max_outage_s: float) -> tuple[float, ...]:
    """The spacing between failed attempts: doubling, summing to ``max_outage_s``.

    With the defaults (10 attempts, 120 s) the gaps are 0.23, 0.47, 0.94, ... 60.1 s: the first
    attempts come quickly (the count shows a problem at once) and the last ones wait longest.
    """
    if max_attempts < 1:
        raise ValueError(f"max_consecutive_failures must be at least 1, got {max_attempts}")
    if max_outage_s <= 0:
        raise ValueError(f"max_outage_s must be more than 0, got {max_outage_s}")
    count = max_attempts - 1
    total = (1 << count) - 1
    return tuple(max_outage_s * (1 << k) / total for k in range(count))


class OutageRule:
    """N consecutive failed attempts paced by a backoff -> fatal. Not thread-safe on its own."""

    def __init__(self, max_attempts: int = 10, max_outage_s: float = 120.0) -> None:
        self.max_attempts = max_attempts
        self.max_outage_s = max_outage_s
        gaps = outage_gaps(max_attempts, max_outage_s)
        # due[k]: seconds after the outage began from which failed attempt k+2 may be counted
        self._due = tuple(sum(gaps[: k + 1]) for k in range(len(gaps)))
        self.attempts = 0
        self.since: float | None = None  # when the current outage began

    def failed(self, now: float) -> None:
        if self.since is None:
            self.since, self.attempts = now, 1
        elif self.attempts < self.max_attempts and now - self.since >= self._due[self.attempts - 1]:
            self.attempts += 1

    def succeeded(self) -> None:
        self.since, self.attempts = None, 0

    @property
    def fatal(self) -> bool:
        return self.attempts >= self.max_attempts

    def failing_for(self, now: float) -> float:
        return 0.0 if self.since is None else max(0.0, now - self.since)


@dataclass(frozen=True, slots=True)
class TrackerSnapshot:
    succeeded: int
    failed: int
    consecutive_failures: int  # failed attempts in the current outage (see the module docstring)
    in_flight: int
    last_error: str
    fatal: bool
    cause: str = ""  # why the current outage's deliveries fail; "" when publishing works
    failing_for_s: float = 0.0  # how long the current outage has lasted


@dataclass(slots=True)
class PublishAttempt:
    """One ``publish()`` call's records; ``errors`` keeps (code, sequential_id, error) per failure.

    It completes when every record is resolved: acknowledged, failed in delivery, or failed
    before reaching the client.
    """

    attempt_id: int
    expected: int
    began_at: float = 0.0  # the tracker's clock when the call began
    resolved: int = 0
    errors: list[tuple[str, int, str]] = field(default_factory=list)
    abandoned: bool = False  # its unresolved records were counted as failed (``abandon``, ``overdue``)
    records: Sequence[Any] = ()  # the call's records, for whoever must name what was given up

    @property
    def complete(self) -> bool:
        return self.resolved >= self.expected


class PublishTracker:
    def __init__(self, max_consecutive_failures: int = 10, max_outage_s: float = 120.0,
                 clock: Callable[[], float] | None = None) -> None:
        self._rule = OutageRule(max_consecutive_failures, max_outage_s)
        self.max_consecutive_failures = max_consecutive_failures
        if clock is None:
            import time  # the default clock only; callers under test pass their own

            clock = time.monotonic
        self._clock = clock
        self._lock = threading.Lock()
        self._next_id = 0
        self._open: dict[int, PublishAttempt] = {}  # attempts with records not yet resolved
        self._succeeded = 0
        self._failed = 0
        self._in_flight = 0  # handed to the client, not yet resolved
        self._last_error = ""
        self._cause = ""
        self._version = 0  # bumps on every change; lets readers skip unchanged reports

    def begin(self, expected: int) -> PublishAttempt:
        with self._lock:
            self._next_id += 1
            attempt = PublishAttempt(self._next_id, expected, self._clock())
            if expected > 0:
                self._open[attempt.attempt_id] = attempt
            return attempt

    def handed(self, attempt: PublishAttempt, count: int = 1) -> None:
        """``count`` records went to the client; their outcomes will come through callbacks."""
        with self._lock:
            self._in_flight += count

    def succeeded(self, attempt: PublishAttempt) -> bool:
        """One handed record was acknowledged; True when this completed the attempt."""
        with self._lock:
            if attempt.abandoned:  # already counted as failed; the record may well have landed
                return False
            self._succeeded += 1
            self._in_flight -= 1
            self._rule.succeeded()
            self._cause = ""
            return self._resolve(attempt)

    def failed(
        self, attempt: PublishAttempt, code: str, sequential_id: int, error: str, *, handed: bool = True,
        cause: str = CAUSE_OTHER,
    ) -> bool:
        """One record failed (``handed=False``: before reaching the client); True when this
        completed the attempt."""
        with self._lock:
            if attempt.abandoned:
                return False
            self._failed += 1
            if handed:
                self._in_flight -= 1
            self._last_error = error
            self._cause = cause
            self._rule.failed(self._clock())
            attempt.errors.append((code, sequential_id, error))
            return self._resolve(attempt)

    def abandon(self, error: str, cause: str = CAUSE_OTHER) -> int:
        """Counts every record still in flight as failed, now: the client will not be waited for
        any longer (a stop whose time is up, a client being closed). Their callbacks, should they
        still come, change nothing. Returns how many records were given up."""
        with self._lock:
            count = self._in_flight
            for attempt in self._open.values():
                attempt.abandoned = True
            self._open.clear()
            if count <= 0:
                return 0
            self._failed += count
            self._in_flight = 0
            self._last_error = error
            self._cause = cause
            self._version += 1
            return count

    def overdue(self, older_than_s: float, error: str) -> list[tuple[PublishAttempt, int]]:
        """Counts as failed, now, every unresolved record of the calls that began more than
        ``older_than_s`` ago (see the module docstring); returns those calls with how many of
        their records were given up. Their outcomes, should they still come, change nothing.
        Cheap when nothing is overdue: open calls are kept in the order they began."""
        now = self._clock()
        given_up: list[tuple[PublishAttempt, int]] = []
        with self._lock:
            for attempt in self._open.values():
                if now - attempt.began_at <= older_than_s:
                    break
                given_up.append((attempt, attempt.expected - attempt.resolved))
            if not given_up:
                return given_up
            for attempt, count in given_up:
                del self._open[attempt.attempt_id]
                attempt.abandoned = True
                self._failed += count
                self._in_flight -= count
            self._last_error = error
            self._cause = CAUSE_TIMEOUT
            self._rule.failed(now)
            self._version += 1
        return given_up

    def snapshot(self) -> TrackerSnapshot:
        with self._lock:
            rule = self._rule
            return TrackerSnapshot(
                self._succeeded, self._failed, rule.attempts, self._in_flight,
                self._last_error, rule.fatal, self._cause, rule.failing_for(self._clock()),
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
        if attempt.complete:
            self._open.pop(attempt.attempt_id, None)
        return attempt.complete
