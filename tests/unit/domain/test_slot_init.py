"""``slot_init`` gives a frozen, slotted dataclass the ``__init__`` dataclasses would have generated,
storing through the slots: same parameters and defaults, default factories called per instance,
``__post_init__`` last, instances as frozen as before; what it cannot reproduce it refuses."""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field

import pytest

from domain.market_data import MarketDataMessage
from domain.records import OrderbookRecord, TradeRecord
from domain.slot_init import slot_init
from exchanges.base import DecodedFrame

pytestmark = pytest.mark.unit


@dataclass(frozen=True, slots=True)
class Plain:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)


@slot_init
@dataclass(frozen=True, slots=True)
class Fast:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.a < 0:
            object.__setattr__(self, "a", -self.a)


def test_the_signature_is_the_dataclass_one() -> None:
    assert str(inspect.signature(Fast.__init__)) == str(inspect.signature(Plain.__init__))
    for cls in (TradeRecord, OrderbookRecord, DecodedFrame, MarketDataMessage):
        assert list(inspect.signature(cls.__init__).parameters)[1:] == [f.name for f in dataclasses.fields(cls)]


def test_values_defaults_factories_and_post_init() -> None:
    assert (Fast(1).a, Fast(1).b, Fast(1).c) == (1, "b", [])
    assert Fast(1).c is not Fast(1).c  # a new list per instance
    assert Fast(2, c=[3]) == Fast(a=2, b="b", c=[3])
    assert Fast(-4).a == 4  # __post_init__ ran, after every field was set
    with pytest.raises(TypeError):
        Fast()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Fast(1, "b", [], 5)  # type: ignore[call-arg]


def test_instances_stay_frozen_and_replace_works() -> None:
    fast = Fast(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.a = 2  # type: ignore[misc]
    assert dataclasses.replace(fast, b="x") == Fast(1, "x")
    assert hash(Fast(1, "b", None)) == hash(Fast(1, "b", None))  # type: ignore[arg-type]


def test_what_it_cannot_reproduce_is_refused() -> None:
    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordOnly:
        a: int

    @dataclass(frozen=True, slots=True)
    class Hidden:
        a: int
        b: int = field(default=0, init=False)

    @dataclass(frozen=True, slots=True)
    class Pseudo:
        a: int
        b: dataclasses.InitVar[int]

    for cls in (Mutable, NoSlots, KeywordOnly, Hidden, Pseudo):
        with pytest.raises(TypeError):
            slot_init(cls)
