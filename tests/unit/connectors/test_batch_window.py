"""Batches: full batches go at once, small ones after the window, never above the cap."""
from __future__ import annotations

import pytest

from connectors.batch_window import BatchWindow
from domain.market_data import MarketDataMessage
from tests.unit.connectors.fakes import FakeAdapter, encode, trade

pytestmark = pytest.mark.unit


def records(n: int) -> list[MarketDataMessage]:
    adapter = FakeAdapter()
    return [encode(adapter.decode(trade("KRW-BTC", i + 1), 1).records[0]) for i in range(n)]


def test_first_records_are_due_at_once_then_wait_for_the_window() -> None:
    w = BatchWindow(max_records=500, min_interval_s=0.005)
    w.add(records(3))
    assert w.due(10.0)
    assert len(w.take(10.0)) == 3
    w.add(records(2))
    assert not w.due(10.001)
    assert w.wait_s(10.001) == pytest.approx(0.004)
    assert w.due(10.006)


def test_full_batch_is_due_immediately_and_capped() -> None:
    w = BatchWindow(max_records=100, min_interval_s=1.0)
    w.take(0.0)
    w.add(records(250))
    assert w.due(0.0)
    sizes = []
    while w.pending:
        sizes.append(len(w.take(0.0)))
    assert sizes == [100, 100, 50]


def test_empty_window_is_never_due() -> None:
    assert not BatchWindow().due(100.0)


def test_reads_follow_the_window_while_frames_flow_and_the_socket_is_watched_again_when_idle() -> None:
    window = BatchWindow(max_records=500, min_interval_s=0.01)
    assert not window.polling
    # a first frame after a quiet spell: its records go at once, the next read is one window later
    window.add(records(1))
    assert window.due(100.0)
    window.take(100.0)
    assert window.after_read(1, 100.0) == pytest.approx(0.01) and window.polling
    # records read before their window ends: the next read comes when they fall due
    window.add(records(1))
    assert not window.due(100.004)
    assert window.after_read(3, 100.004) == pytest.approx(0.006) and window.polling
    # a read that finds nothing: back to watching, no timer
    assert window.after_read(0, 100.010) is None and not window.polling
    # never a busy loop: a read that is already late still waits a moment
    window.add(records(1))
    assert window.after_read(2, 200.0) == pytest.approx(0.001)
