"""Delivery outcome counting and the fatal rule: failed attempts paced by a backoff (seed S3.1-e)."""
from __future__ import annotations

import threading

import pytest

from publishers.publish_tracker import (
    CAUSE_AUTHENTICATION,
    CAUSE_OTHER,
    CAUSE_QUEUE_FULL,
    CAUSE_REJECTED,
    CAUSE_TIMEOUT,
    CAUSE_UNREACHABLE,
    PublishTracker,
    failure_cause,
    outage_gaps,
)

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failed_publish(tracker: PublishTracker, records: int = 3, error: str = "KafkaTimeoutError") -> None:
    attempt = tracker.begin(records)
    tracker.handed(attempt, records)
    for i in range(records):
        tracker.failed(attempt, "upbit:KRW-BTC", i, error, cause=CAUSE_TIMEOUT)


def ok_publish(tracker: PublishTracker, records: int = 3) -> None:
    attempt = tracker.begin(records)
    tracker.handed(attempt, records)
    for _ in range(records):
        tracker.succeeded(attempt)


def test_gaps_double_and_span_the_outage_bound() -> None:
    gaps = outage_gaps(10, 120.0)
    assert len(gaps) == 9
    assert sum(gaps) == pytest.approx(120.0)
    assert all(b == pytest.approx(2 * a) for a, b in zip(gaps, gaps[1:], strict=False))
    assert outage_gaps(2, 30.0) == (30.0,) and outage_gaps(1, 30.0) == ()


def test_S3_1_e_continuous_failures_are_fatal_at_the_tenth_attempt_after_max_outage() -> None:
    clock = Clock()
    tracker = PublishTracker(10, 120.0, clock)
    start = clock.now
    seen = []
    while not tracker.snapshot().fatal:
        failed_publish(tracker)  # a batch fails every 0.5 s, as records expire during an outage
        seen.append(tracker.snapshot().consecutive_failures)
        if not tracker.snapshot().fatal:
            clock.now += 0.5
    elapsed = clock.now - start
    snap = tracker.snapshot()
    assert 120.0 <= elapsed < 120.5, elapsed  # the first failure at or after the bound, not before
    assert snap.consecutive_failures == 10 and snap.cause == CAUSE_TIMEOUT
    assert snap.failing_for_s == pytest.approx(elapsed)
    assert seen == sorted(seen) and len(set(seen)) == 10  # attempts grow one at a time
    assert snap.failed == 3 * len(seen) and snap.succeeded == 0
    assert snap.last_error == "KafkaTimeoutError"


def test_S3_1_e_a_burst_of_failures_at_one_moment_is_one_attempt() -> None:
    # a broker pause fails every record in flight at once: thousands of failures, one attempt
    clock = Clock()
    tracker = PublishTracker(10, 120.0, clock)
    for _ in range(1000):
        failed_publish(tracker, records=5)
    snap = tracker.snapshot()
    assert (snap.failed, snap.consecutive_failures, snap.fatal) == (5000, 1, False)


def test_S3_1_h_a_one_minute_outage_then_a_delivery_keeps_the_service_up() -> None:
    clock = Clock()
    tracker = PublishTracker(10, 120.0, clock)
    for _ in range(600):  # failures every 0.1 s for 60 s
        failed_publish(tracker, records=1)
        clock.now += 0.1
    snap = tracker.snapshot()
    assert not snap.fatal and 1 < snap.consecutive_failures < 10
    ok_publish(tracker, records=1)
    snap = tracker.snapshot()
    assert (snap.consecutive_failures, snap.fatal, snap.cause, snap.failing_for_s) == (0, False, "", 0.0)
    # the next outage starts from zero: another 119 s of failures is still not fatal
    for _ in range(119):
        failed_publish(tracker, records=1)
        clock.now += 1.0
    assert not tracker.snapshot().fatal
    assert (tracker.snapshot().succeeded, tracker.snapshot().failed) == (1, 719)


def test_a_failure_after_a_quiet_spell_counts_one_attempt_only() -> None:
    clock = Clock()
    tracker = PublishTracker(10, 120.0, clock)
    failed_publish(tracker, records=1)
    clock.now += 500.0  # nothing published meanwhile
    failed_publish(tracker, records=1)
    assert tracker.snapshot().consecutive_failures == 2


def test_the_bound_is_configurable_and_one_attempt_can_be_the_limit() -> None:
    clock = Clock()
    tracker = PublishTracker(3, 8.0, clock)  # gaps 2.67 s and 5.33 s
    failed_publish(tracker)
    clock.now += 7.9
    failed_publish(tracker)
    assert tracker.snapshot().consecutive_failures == 2 and not tracker.snapshot().fatal
    clock.now += 0.1
    failed_publish(tracker)
    assert tracker.snapshot().fatal
    strict = PublishTracker(1, 8.0, clock)
    failed_publish(strict, records=1)
    assert strict.snapshot().fatal


def test_one_publish_call_is_one_log_attempt_that_completes_when_every_record_is_resolved() -> None:
    tracker = PublishTracker(2, 10.0, Clock())
    attempt = tracker.begin(3)
    tracker.handed(attempt, 3)
    assert not tracker.succeeded(attempt)
    assert not tracker.failed(attempt, "upbit:KRW-BTC", 5, "RequestTimedOutError", cause=CAUSE_TIMEOUT)
    assert tracker.succeeded(attempt)  # completes it
    snap = tracker.snapshot()
    assert snap.in_flight == 0 and (snap.succeeded, snap.failed) == (2, 1)
    assert attempt.errors == [("upbit:KRW-BTC", 5, "RequestTimedOutError")]


def test_in_flight_counts_handed_unresolved_records_only() -> None:
    tracker = PublishTracker()
    attempt = tracker.begin(4)
    tracker.handed(attempt, 2)
    assert tracker.in_flight == 2
    tracker.failed(attempt, "upbit:KRW-BTC", 0, "KafkaTimeoutError", handed=False)
    tracker.failed(attempt, "upbit:KRW-BTC", 0, "KafkaTimeoutError", handed=False)
    assert tracker.in_flight == 2
    tracker.succeeded(attempt)
    tracker.succeeded(attempt)
    assert tracker.in_flight == 0 and attempt.complete


def test_giving_up_counts_what_is_in_flight_as_failed_once_and_late_callbacks_change_nothing() -> None:
    tracker = PublishTracker()
    old = tracker.begin(3)
    tracker.handed(old, 3)
    tracker.succeeded(old)
    assert tracker.abandon("Unresolved: stop") == 2
    snap = tracker.snapshot()
    assert (snap.succeeded, snap.failed, snap.in_flight) == (1, 2, 0)
    assert snap.last_error == "Unresolved: stop"
    assert not tracker.succeeded(old) and not tracker.failed(old, "upbit:KRW-BTC", 1, "late")  # late callbacks
    assert (tracker.snapshot().succeeded, tracker.snapshot().failed) == (1, 2)
    assert tracker.abandon("again") == 0  # nothing left: nothing counted twice
    new = tracker.begin(1)  # records handed after giving up are counted as usual
    tracker.handed(new, 1)
    assert tracker.succeeded(new) and tracker.snapshot().succeeded == 2 and tracker.in_flight == 0


def test_records_in_flight_past_the_bound_count_as_failed_once_and_newer_calls_stay_open() -> None:
    clock = Clock()
    tracker = PublishTracker(10, 120.0, clock)
    old = tracker.begin(4)
    tracker.handed(old, 4)
    tracker.succeeded(old)  # one of its four resolved before the client went quiet
    clock.now += 10.0
    new = tracker.begin(2)
    tracker.handed(new, 2)
    assert tracker.overdue(13.5, "Unresolved: overdue") == []  # nothing older than the bound yet
    clock.now += 4.0  # old: 14 s in flight, new: 4 s
    given_up = tracker.overdue(13.5, "Unresolved: overdue")
    assert [(attempt.attempt_id, count) for attempt, count in given_up] == [(old.attempt_id, 3)]
    snap = tracker.snapshot()
    assert (snap.succeeded, snap.failed, snap.in_flight) == (1, 3, 2)
    assert (snap.cause, snap.last_error, snap.consecutive_failures) == (CAUSE_TIMEOUT, "Unresolved: overdue", 1)
    assert not tracker.succeeded(old) and not tracker.failed(old, "upbit:KRW-BTC", 2, "late")  # late outcomes
    assert tracker.overdue(13.5, "again") == []  # counted once
    assert tracker.succeeded(new) is False and tracker.succeeded(new) is True  # the newer call resolves as usual
    snap = tracker.snapshot()
    assert (snap.succeeded, snap.failed, snap.in_flight, snap.consecutive_failures) == (3, 3, 0, 0)


def test_counts_are_exact_under_concurrent_callbacks() -> None:
    tracker = PublishTracker(10)
    attempts = [tracker.begin(1000) for _ in range(4)]
    for a in attempts:
        tracker.handed(a, 1000)

    def resolve(a: object) -> None:
        for i in range(1000):
            if i % 100 == 0:
                tracker.failed(a, "upbit:KRW-BTC", i, "x")  # type: ignore[arg-type]
            else:
                tracker.succeeded(a)  # type: ignore[arg-type]

    threads = [threading.Thread(target=resolve, args=(a,)) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = tracker.snapshot()
    assert (snap.succeeded, snap.failed, snap.in_flight) == (3960, 40, 0)
    assert all(a.complete and len(a.errors) == 10 for a in attempts)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PublishTracker(0)
    with pytest.raises(ValueError):
        PublishTracker(10, 0.0)


@pytest.mark.parametrize(("name", "text", "cause"), [
    # kafka-python exception classes
    ("KafkaTimeoutError", "Expiring 5 record(s) for market.upbit.trade-0: 3005 ms has passed", CAUSE_TIMEOUT),
    ("RequestTimedOutError", "", CAUSE_TIMEOUT),
    ("NoBrokersAvailable", "NoBrokersAvailable", CAUSE_UNREACHABLE),
    ("KafkaConnectionError", "Connection refused", CAUSE_UNREACHABLE),
    ("NodeNotReadyError", "", CAUSE_UNREACHABLE),
    ("SaslAuthenticationFailedError", "Authentication failed during authentication", CAUSE_AUTHENTICATION),
    ("TopicAuthorizationFailedError", "", CAUSE_AUTHENTICATION),
    ("MessageSizeTooLargeError", "The message is 2000000 bytes", CAUSE_REJECTED),
    # librdkafka error code names
    ("_MSG_TIMED_OUT", "Local: Message timed out", CAUSE_TIMEOUT),
    ("_TRANSPORT", "127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused", CAUSE_UNREACHABLE),
    ("_ALL_BROKERS_DOWN", "1/1 brokers are down", CAUSE_UNREACHABLE),
    ("_AUTHENTICATION", "SASL authentication error: Authentication failed", CAUSE_AUTHENTICATION),
    ("SASL_AUTHENTICATION_FAILED", "", CAUSE_AUTHENTICATION),
    ("MSG_SIZE_TOO_LARGE", "Broker: Message size too large", CAUSE_REJECTED),
    ("_QUEUE_FULL", "Local: Queue full", CAUSE_QUEUE_FULL),
    ("BufferError", "", CAUSE_QUEUE_FULL),
    ("RuntimeError", "boom", CAUSE_OTHER),
])
def test_failure_causes_are_named_alike_for_both_clients(name: str, text: str, cause: str) -> None:
    assert failure_cause(name, text) == cause
