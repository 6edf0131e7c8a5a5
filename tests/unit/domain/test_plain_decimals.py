"""The whole-column checks of validation decide exactly as a text-by-text reference does.

``plain_decimals`` decides form, length and sign for many texts at once from their comma-joined
bytes, and book validation orders prices by their floats; both are shortcuts that must never accept
what the exact rule refuses. Random texts (valid numbers, near misses, separators, non-ASCII digits,
texts around the length bound) and random books are compared with a straightforward reference.
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.exceptions import ValidationException
from domain.market_data import validate_record
from domain.records import MAX_NUMBER_CHARS, Exchange, Levels, OrderbookRecord, plain_decimals

pytestmark = pytest.mark.unit
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def reference(text: object, positive: bool) -> bool:
    return (type(text) is str and _PLAIN.fullmatch(text) is not None and len(text) <= MAX_NUMBER_CHARS
            and (not positive or Decimal(text) > 0))


def texts() -> st.SearchStrategy[str]:
    near = st.text("0123456789.", max_size=8)
    odd = st.text("0123456789.,-+eE ٣_", max_size=8)
    long = st.integers(MAX_NUMBER_CHARS - 2, MAX_NUMBER_CHARS + 2).flatmap(
        lambda n: st.sampled_from(["1" * n, "0." + "0" * (n - 3) + "1", "9" * (n - 1) + ".", "0" * n]))
    valid = st.from_regex(r"[0-9]{1,4}(\.[0-9]{0,4})?", fullmatch=True)
    commas = st.builds(lambda a, b: f"{a},{b}", valid, valid)  # two numbers in one text
    return st.one_of(near, odd, long, commas,
                     st.sampled_from(["", ".", "0", "00", "0.", ".0", "5.", ".5", "007", "1,", ",1", ","]))


@given(st.lists(texts(), max_size=12), st.booleans())
@settings(max_examples=1000, deadline=None)
def test_plain_decimals_decides_as_the_text_by_text_rule(items: list[str], positive: bool) -> None:
    assert plain_decimals(tuple(items), positive=positive) == all(reference(t, positive) for t in items)


def test_plain_decimals_refuses_what_is_no_text() -> None:
    assert not plain_decimals(("1", 1))  # type: ignore[arg-type]
    assert not plain_decimals(("1", None))  # type: ignore[arg-type]
    assert plain_decimals(()) and plain_decimals((), positive=True)


def reference_refusal(asks: list[tuple[str, str]], bids: list[tuple[str, str]], totals: tuple[str, str]) -> str | None:
    """The field a text-by-text Decimal check refuses first, or None when the book is valid."""
    for side, levels, ascending in (("ask", asks, True), ("bid", bids, False)):
        previous: Decimal | None = None
        for index, (price, size) in enumerate(levels):
            for name, text in (("price", price), ("size", size)):
                if not reference(text, False):
                    return f"{side}s[{index}].{name}"
            if not Decimal(price) > 0:
                return f"{side}s[{index}].price"
            if not Decimal(size) > 0:
                return f"{side}s[{index}].size"
            value = Decimal(price)
            if previous is not None and (value <= previous if ascending else value >= previous):
                return f"{side}s[{index}].price"
            previous = value
    for name, text in zip(("total_ask_size", "total_bid_size"), totals, strict=True):
        if not reference(text, False):  # zero allowed
            return name
    return None


def prices() -> st.SearchStrategy[str]:
    # Close and equal values in other spellings, so that float ties and near-ties come up often.
    close = st.sampled_from(["100", "100.0", "100.00000000000000001", "99.99999999999999999", "100.1",
                             "0.1", "0.10", ".1", "1" + "0" * 20, "1" + "0" * 19 + ".5", "0.0"])
    return st.one_of(close, texts())


@given(st.lists(st.tuples(prices(), texts()), max_size=6), st.lists(st.tuples(prices(), texts()), max_size=6),
       st.booleans(), st.tuples(st.one_of(st.sampled_from(["1.5", "0", "0.0"]), texts()),
                                st.one_of(st.sampled_from(["2", "0"]), texts())))
@settings(max_examples=600, deadline=None)
def test_book_validation_refuses_exactly_what_the_reference_refuses(
        asks: list[tuple[str, str]], bids: list[tuple[str, str]], sort: bool, totals: tuple[str, str]) -> None:
    if sort:  # mostly ordered books, where only ties and near-ties decide
        asks = sorted(asks, key=lambda level: Decimal(level[0]) if reference(level[0], False) else Decimal(0))
        bids = sorted(bids, key=lambda level: Decimal(level[0]) if reference(level[0], False) else Decimal(0),
                      reverse=True)
    record = OrderbookRecord(Exchange.UPBIT, "KRW-BTC", Levels.of(asks), Levels.of(bids), *totals,
                             1790134742106000, 1790134742200000, "SNAPSHOT", "0")
    expected = reference_refusal(asks, bids, totals)
    if expected is None:
        assert validate_record(record) is record
    else:
        with pytest.raises(ValidationException) as info:
            validate_record(record)
        assert info.value.context.get("field") == expected
