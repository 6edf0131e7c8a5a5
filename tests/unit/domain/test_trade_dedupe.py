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


def test_S2_2_k_memory_is_packed_about_24_bytes_per_id() -> None:
    """200 markets' full windows in under 10 MiB (the ints in an OrderedDict took about 47 MiB)."""
    dedupe = TradeDedupe(per_code=2048)
    for n in range(2048 * 200 + 1000):
        dedupe.is_duplicate(f"KRW-C{n % 200}", 17_183_947_220_000_000 + n * 10_000)
    assert dedupe.remembered() == 2048 * 200
    assert dedupe.memory_bytes() <= 200 * 2048 * 24


def test_a_window_that_wraps_many_times_stays_exact() -> None:
    """Against a model of the rule (the last ``per_code`` ids, in order): ids that collide in the
    counter table, repeat, are large or wrap the ring give the same answers."""
    from collections import OrderedDict
    from random import Random

    rng = Random(7)
    per_code = 32
    dedupe = TradeDedupe(per_code=per_code)
    model: OrderedDict[int, None] = OrderedDict()
    pool = [rng.randrange(1, 2**64) for _ in range(200)] + list(range(1, 50)) + [2**64 - 1]
    for _ in range(20_000):
        sid = rng.choice(pool)
        expected = sid in model
        if not expected:
            model[sid] = None
            if len(model) > per_code:
                model.popitem(last=False)
        assert dedupe.is_duplicate("KRW-BTC", sid) is expected
        probe = rng.choice(pool)
        assert dedupe.seen("KRW-BTC", probe) is (probe in model)


def test_a_match_across_two_packed_ids_is_not_a_duplicate() -> None:
    """The bytes of one id can appear straddling two neighbours in the packed ring."""
    dedupe = TradeDedupe(per_code=8)
    first, second = 0x1111_1111_2222_2222, 0x3333_3333_4444_4444
    dedupe.is_duplicate("KRW-BTC", first)
    dedupe.is_duplicate("KRW-BTC", second)
    straddling = int.from_bytes((first.to_bytes(8, "little") + second.to_bytes(8, "little"))[4:12], "little")
    window = dedupe._seen["KRW-BTC"]
    assert window.ring.find(straddling.to_bytes(8, "little")) == 4  # the bytes are there...
    assert not window.contains(straddling.to_bytes(8, "little"))  # ...but not as an id
    assert not dedupe.is_duplicate("KRW-BTC", straddling)
