"""Reconnect pacing: 1 -> 2 -> 4 ... capped at 60 s, jitter bounds, attempt budget."""
from __future__ import annotations

import dataclasses
import random

import pytest

from connectors.backoff import Backoff, ReconnectBudget
from tests.unit.connectors.fakes import config

pytestmark = pytest.mark.unit


def failing_delays(backoff: Backoff, n: int) -> list[float | None]:
    """Delays of n failed attempts in a row (each attempt begins after its delay)."""
    delays: list[float | None] = []
    for _ in range(n):
        delay = backoff.next_delay()
        delays.append(delay)
        if delay is None:
            break
        backoff.begin_attempt()
    return delays


def test_S2_1_d_backoff_doubles_from_one_second() -> None:
    backoff = Backoff.from_config(config(backoff_jitter=0.0))
    assert failing_delays(backoff, 7) == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]


def test_S2_1_i_backoff_never_exceeds_sixty_seconds_even_with_jitter() -> None:
    backoff = Backoff.from_config(config(backoff_jitter=0.5), rng=random.Random(7))
    delays = [d for d in failing_delays(backoff, 200) if d is not None]
    assert len(delays) == 200
    assert max(delays) <= 60.0
    # Jitter stays inside +/- 50 % of the un-jittered value.
    for attempt, delay in enumerate(delays):
        base = min(2.0**attempt, 60.0)
        assert base * 0.5 <= delay <= min(base * 1.5, 60.0)


def test_S2_1_d_jitter_spreads_delays_within_bounds() -> None:
    delays = []
    for seed in range(200):
        backoff = Backoff.from_config(config(backoff_jitter=0.2), rng=random.Random(seed))
        delays.append(backoff.next_delay())
    assert all(d is not None and 0.8 <= d <= 1.2 for d in delays)
    assert len(set(delays)) > 100  # not one fixed value


def test_S2_1_e_budget_allows_exactly_max_attempts() -> None:
    backoff = Backoff.from_config(config(max_reconnect_attempts=3))
    assert failing_delays(backoff, 10) == [1.0, 2.0, 4.0, None]


def test_S1_3_d_zero_attempts_means_forever() -> None:
    backoff = Backoff.from_config(config(max_reconnect_attempts=0))
    delays = failing_delays(backoff, 5000)
    assert len(delays) == 5000 and None not in delays


def test_S1_1_b_flapping_connection_keeps_counting_until_healthy() -> None:
    backoff = Backoff.from_config(config(max_reconnect_attempts=2), healthy_after_s=60.0)
    backoff.next_delay()
    backoff.begin_attempt()
    backoff.connected(0.0)
    backoff.disconnected(5.0)  # dropped after 5 s: not healthy, the count stays
    assert backoff.next_delay() == 2.0
    backoff.begin_attempt()
    backoff.connected(10.0)
    backoff.disconnected(80.0)  # up for 70 s: healthy again, starts from 1 s
    assert backoff.next_delay() == 1.0


def test_a_drop_after_data_retries_from_the_first_delay_while_empty_sessions_keep_growing() -> None:
    backoff = Backoff.from_config(config(max_reconnect_attempts=3, backoff_jitter=0.0))
    for _ in range(2):  # two attempts that failed: the delay has grown
        backoff.next_delay()
        backoff.begin_attempt()
    assert backoff.next_delay() == 4.0
    backoff.begin_attempt()
    backoff.connected(0.0)
    backoff.streamed()  # this session delivered data
    backoff.disconnected(3.0)  # dropped after 3 s, far from healthy_after_s
    assert backoff.next_delay() == 1.0 and backoff.attempts == 0
    for _ in range(3):  # sessions that connect and drop without any data keep counting, to FAILED
        backoff.begin_attempt()
        backoff.connected(10.0)
        backoff.disconnected(10.5)
    assert backoff.next_delay() is None


def test_budget_resets_only_after_a_healthy_period() -> None:
    budget = ReconnectBudget(2, healthy_after_s=30)
    assert budget.begin_attempt() and budget.begin_attempt()
    assert budget.exhausted and not budget.begin_attempt()
    budget.connected(100.0)
    budget.still_connected(129.9)
    assert budget.attempts == 2
    budget.disconnected(130.0)
    assert budget.attempts == 0 and not budget.exhausted


def test_backoff_doubles_and_is_capped() -> None:
    budget = ReconnectBudget(0, initial_s=1, factor=2, max_delay_s=60, jitter=0.2)
    delays = []
    for _ in range(10):
        delays.append(budget.delay_s())
        budget.begin_attempt()
    assert delays[:6] == [1, 2, 4, 8, 16, 32] and max(delays) == 60
    budget.attempts = 1000
    assert budget.delay_s(1.0) == 60 and budget.delay_s(-1.0) == pytest.approx(48)
    budget.attempts = 2
    assert budget.delay_s(1.0) == pytest.approx(4.8) and budget.delay_s(-1.0) == pytest.approx(3.2)


def test_budget_is_plain_data_free_of_dataclass_magic() -> None:
    assert not dataclasses.is_dataclass(ReconnectBudget)
    with pytest.raises(ValueError):
        ReconnectBudget(-1)
