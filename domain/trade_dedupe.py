"""Duplicate-trade filter with bounded memory.

Every (re)subscription starts with a trade SNAPSHOT per code: the latest trade, which krwfeed may
already have sent. Trades are named by ``(code, sequential_id)``; ids are unique but not ordered
so a "highest id seen" watermark would be wrong. Instead each code keeps the last
``per_code`` ids in insertion order and forgets the oldest. Memory is therefore at most
``per_code * codes``, and the connector only admits subscribed codes.
"""
from __future__ import annotations

from collections import OrderedDict


class TradeDedupe:
    def __init__(self, per_code: int = 2048) -> None:
        if per_code < 1:
            raise ValueError("per_code must be at least 1")
        self.per_code = per_code
        self._seen: dict[str, OrderedDict[int, None]] = {}

    def is_duplicate(self, code: str, sequential_id: int) -> bool:
        """Return True if this trade was seen recently; otherwise remember it and return False.

        An id of 0 means the exchange gave none (Bithumb legacy): such trades cannot be told
        apart, so they are never treated as duplicates.
        """
        if sequential_id == 0:
            return False
        ids = self._seen.get(code)
        if ids is None:
            ids = self._seen[code] = OrderedDict()
        elif sequential_id in ids:
            return True
        ids[sequential_id] = None
        if len(ids) > self.per_code:
            ids.popitem(last=False)
        return False

    def seen(self, code: str, sequential_id: int) -> bool:
        """Whether this trade is remembered, without remembering it (id 0 is never seen)."""
        ids = self._seen.get(code)
        return sequential_id != 0 and ids is not None and sequential_id in ids

    def forget_codes_except(self, codes: frozenset[str]) -> None:
        """Drop the memory of codes no longer subscribed."""
        for code in [c for c in self._seen if c not in codes]:
            del self._seen[code]

    def remembered(self) -> int:
        """How many ids are held in total (for tests and memory checks)."""
        return sum(len(ids) for ids in self._seen.values())
