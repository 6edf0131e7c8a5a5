"""Progress lines: exactly one per ``every`` messages, with the rate since the previous
line. Counts arrive in batches, so one batch may cross several multiples; each gets its own line."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProgressLine:
    count: int  # an exact multiple of ``every``
    rate_per_s: float  # messages per second since the previous line

    def text(self) -> str:
        return f"progress: {self.count} messages received ({self.rate_per_s:.1f} msg/s)"


class ProgressMeter:
    def __init__(self, every: int = 1000, start_s: float = 0.0) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = every
        self.total = 0
        self._last_mark = 0
        self._last_at = start_s

    def add(self, n: int, now_s: float) -> list[ProgressLine]:
        """Count ``n`` more messages seen by ``now_s``; return the lines now due."""
        if n <= 0:
            return []
        self.total += n
        lines: list[ProgressLine] = []
        next_mark = self._last_mark + self.every
        while next_mark <= self.total:
            elapsed = now_s - self._last_at
            # Crossings inside one batch share its arrival time; report the batch's average rate.
            rate = (next_mark - self._last_mark) / elapsed if elapsed > 0 else 0.0
            lines.append(ProgressLine(next_mark, rate))
            self._last_mark = next_mark
            if elapsed > 0:
                self._last_at = now_s
            next_mark += self.every
        return lines
