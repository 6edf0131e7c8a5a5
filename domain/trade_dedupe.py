"""Duplicate-trade filter with bounded, compact memory.

Every (re)subscription starts with a trade SNAPSHOT per code: the latest trade, which krwfeed may
already have sent, and a REST backfill after a reconnect fetches trades the stream may deliver
too. Trades are named by ``(code, sequential_id)``; ids are unique but not ordered, so a "highest
id seen" watermark would be wrong. Instead each code remembers its last ``per_code`` ids and
forgets the oldest.

The ids are kept packed, not as Python objects: an ``OrderedDict`` of ints costs about 115 bytes
per id, so 2,048 ids for each of 200 markets held about 47 MiB per connection once every market
had traded that often, and the process grew for as long as that took (hours at the real load).
Here a code's window is a ring of 8-byte ids plus a table of one-byte counters, indexed by a hash
of the id, of how many remembered ids fall in each slot; a counter of 0 proves an id unseen without
looking further, which is what nearly every new trade gets. Only when the counter is not 0 is the
ring searched (``bytearray.find``, in C). About 24 bytes per remembered id in all.
"""
from __future__ import annotations

_ID_BYTES = 8
_ID_MASK = (1 << 64) - 1  # ids are unsigned 64-bit (validated at parse); masking keeps the packing total
_SLOTS_PER_ID = 16  # counter slots per remembered id: few false "maybe seen" answers, each a ring search
_SATURATED = 255  # a counter that reaches this is never decremented again: it only costs searches
_MIX = 0x9E3779B97F4A7C15  # Fibonacci hashing: the product's high bits depend on every bit of the id,
# so ids that share their low digits (some exchanges build them from a time and a counter) spread out


def _slot_count(per_code: int) -> int:
    slots = 64
    while slots < per_code * _SLOTS_PER_ID:
        slots *= 2
    return slots


class _Window:
    """The last ``capacity`` ids of one code."""

    __slots__ = ("capacity_bytes", "ring", "next_overwrite", "counters", "shift")

    def __init__(self, capacity: int, slots: int) -> None:
        self.capacity_bytes = capacity * _ID_BYTES
        self.ring = bytearray()  # grows to capacity_bytes, then the oldest id is overwritten
        self.next_overwrite = 0
        self.counters = bytearray(slots)
        self.shift = 64 - (slots.bit_length() - 1)

    def slot(self, sequential_id: int) -> int:
        return ((sequential_id * _MIX) & _ID_MASK) >> self.shift

    def contains(self, key: bytes) -> bool:
        ring = self.ring
        at = ring.find(key)
        while at != -1 and at % _ID_BYTES:  # a match across two ids' bytes is not a match
            at = ring.find(key, at + 1)
        return at != -1

    def add(self, sequential_id: int, key: bytes, slot: int) -> None:
        ring, counters = self.ring, self.counters
        if len(ring) < self.capacity_bytes:
            ring += key
        else:
            at = self.next_overwrite
            oldest = int.from_bytes(ring[at:at + _ID_BYTES], "little")
            ring[at:at + _ID_BYTES] = key
            self.next_overwrite = (at + _ID_BYTES) % self.capacity_bytes
            old_slot = self.slot(oldest)
            if counters[old_slot] != _SATURATED:
                counters[old_slot] -= 1
        if counters[slot] != _SATURATED:
            counters[slot] += 1

    def __len__(self) -> int:
        return len(self.ring) // _ID_BYTES


class TradeDedupe:
    def __init__(self, per_code: int = 2048) -> None:
        if per_code < 1:
            raise ValueError("per_code must be at least 1")
        self.per_code = per_code
        self._slots = _slot_count(per_code)
        self._seen: dict[str, _Window] = {}

    def is_duplicate(self, code: str, sequential_id: int) -> bool:
        """Return True if this trade was seen recently; otherwise remember it and return False.

        An id of 0 means the exchange gave none (Bithumb legacy): such trades cannot be told
        apart, so they are never treated as duplicates.
        """
        if sequential_id == 0:
            return False
        window = self._seen.get(code)
        if window is None:
            window = self._seen[code] = _Window(self.per_code, self._slots)
        sequential_id &= _ID_MASK
        slot = window.slot(sequential_id)
        key = sequential_id.to_bytes(_ID_BYTES, "little")
        if window.counters[slot] and window.contains(key):
            return True
        window.add(sequential_id, key, slot)
        return False

    def seen(self, code: str, sequential_id: int) -> bool:
        """Whether this trade is remembered, without remembering it (id 0 is never seen)."""
        window = self._seen.get(code)
        if sequential_id == 0 or window is None:
            return False
        sequential_id &= _ID_MASK
        return bool(window.counters[window.slot(sequential_id)]) and window.contains(
            sequential_id.to_bytes(_ID_BYTES, "little"))

    def forget_codes_except(self, codes: frozenset[str]) -> None:
        """Drop the memory of codes no longer subscribed."""
        for code in [c for c in self._seen if c not in codes]:
            del self._seen[code]

    def remembered(self) -> int:
        """How many ids are held in total (for tests and memory checks)."""
        return sum(len(window) for window in self._seen.values())

    def memory_bytes(self) -> int:
        """Bytes held by the windows' rings and counters (for memory checks)."""
        return sum(len(w.ring) + len(w.counters) for w in self._seen.values())
