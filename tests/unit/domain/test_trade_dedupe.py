"""Duplicate trades after a resubscribe are dropped with bounded memory."""
from __future__ import annotations

import pytest

from domain.trade_dedupe import TradeDedupe

pytestmark = pytest.mark.unit


def test_S2_3_b_same_code_and_id_is_a_duplicate() -> None:
    dedupe = TradeDedupe()
    assert not dedupe.is_duplicate("KRW-BTC", 17)
    assert dedupe.is_duplicate("KRW-BTC", 17)
    assert not dedupe.is_duplicate("KRW-ETH", 17)  # ids are per code


def test_S2_2_k_memory_is_bounded_per_code() -> None:
    dedupe = TradeDedupe(per_code=100)
    for sid in range(1, 100_001):
        dedupe.is_duplicate("KRW-BTC", sid)
    assert dedupe.remembered() == 100
    assert dedupe.is_duplicate("KRW-BTC", 100_000)
    assert not dedupe.is_duplicate("KRW-BTC", 1)  # long forgotten


def test_unordered_ids_are_recognised() -> None:
    dedupe = TradeDedupe(per_code=10)
    for sid in (50, 10, 40, 20):
        dedupe.is_duplicate("KRW-XRP", sid)
    assert dedupe.is_duplicate("KRW-XRP", 10)  # lower than the highest: still known


def test_trades_without_an_id_are_never_duplicates() -> None:
    dedupe = TradeDedupe()
    assert not dedupe.is_duplicate("KRW-BTC", 0)
    assert not dedupe.is_duplicate("KRW-BTC", 0)


def test_forgetting_unsubscribed_codes_frees_memory() -> None:
    dedupe = TradeDedupe()
    dedupe.is_duplicate("KRW-BTC", 1)
    dedupe.is_duplicate("KRW-ETH", 1)
    dedupe.forget_codes_except(frozenset({"KRW-ETH"}))
    assert dedupe.remembered() == 1
    assert not dedupe.is_duplicate("KRW-BTC", 1)
