"""Delivery outcome counting and the consecutive-failure threshold (seed S3.1-e)."""
from __future__ import annotations

import threading

import pytest

from pipeline.publish_tracker import PublishTracker

pytestmark = pytest.mark.unit


def failed_publish(tracker: PublishTracker, records: int = 3) -> None:
    attempt = tracker.begin(records)
    for _ in range(records):
        tracker.handed(attempt)
    for i in range(records):
        tracker.failed(attempt, "upbit:KRW-BTC", i, "KafkaTimeoutError")


def ok_publish(tracker: PublishTracker, records: int = 3) -> None:
    attempt = tracker.begin(records)
    for _ in range(records):
        tracker.handed(attempt)
        tracker.succeeded(attempt)


def test_S3_1_e_ten_consecutive_failed_publishes_are_fatal() -> None:
    tracker = PublishTracker(10)
    for n in range(1, 10):
        failed_publish(tracker)
        assert tracker.snapshot().consecutive_failures == n
        assert not tracker.snapshot().fatal
    failed_publish(tracker)
    snap = tracker.snapshot()
    assert snap.fatal and snap.consecutive_failures == 10
    assert snap.failed == 30 and snap.succeeded == 0
    assert snap.last_error == "KafkaTimeoutError"


def test_S3_1_h_a_success_resets_the_consecutive_count() -> None:
    tracker = PublishTracker(10)
    for _ in range(9):
        failed_publish(tracker)
    ok_publish(tracker)
    snap = tracker.snapshot()
    assert snap.consecutive_failures == 0 and not snap.fatal
    assert (snap.succeeded, snap.failed) == (3, 27)


def test_one_failed_record_fails_its_publish_but_counts_once() -> None:
    tracker = PublishTracker(2)
    attempt = tracker.begin(3)
    for _ in range(3):
        tracker.handed(attempt)
    assert not tracker.succeeded(attempt)
    assert not tracker.failed(attempt, "upbit:KRW-BTC", 5, "RequestTimedOutError")
    assert tracker.snapshot().consecutive_failures == 0  # not complete yet
    assert tracker.succeeded(attempt)  # completes it
    snap = tracker.snapshot()
    assert snap.consecutive_failures == 1 and snap.in_flight == 0
    assert attempt.errors == [("upbit:KRW-BTC", 5, "RequestTimedOutError")]


def test_in_flight_counts_handed_unresolved_records_only() -> None:
    tracker = PublishTracker()
    attempt = tracker.begin(4)
    tracker.handed(attempt)
    tracker.handed(attempt)
    assert tracker.in_flight == 2
    tracker.failed(attempt, "upbit:KRW-BTC", 0, "KafkaTimeoutError", handed=False)
    tracker.failed(attempt, "upbit:KRW-BTC", 0, "KafkaTimeoutError", handed=False)
    assert tracker.in_flight == 2
    tracker.succeeded(attempt)
    tracker.succeeded(attempt)
    assert tracker.in_flight == 0 and attempt.complete


def test_counts_are_exact_under_concurrent_callbacks() -> None:
    tracker = PublishTracker(10)
    attempts = [tracker.begin(1000) for _ in range(4)]
    for a in attempts:
        for _ in range(1000):
            tracker.handed(a)

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
    assert (snap.succeeded, snap.failed, snap.in_flight, snap.consecutive_failures) == (3960, 40, 0, 4)


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PublishTracker(0)
