"""Request-rate limits per client address: WebSocket upgrades (Upbit 5/s, Bithumb 10/s) and REST
requests per rate-limit group (Upbit 10/s, Bithumb 150/s); excess is answered with HTTP 429."""
from __future__ import annotations

import time
from collections import defaultdict, deque


class ConnectRateLimiter:
    """Sliding one-second window of upgrade attempts per address; `limit` None or <= 0 disables it."""

    def __init__(self, limit: int | None, window: float = 1.0) -> None:
        self.limit = limit
        self.window = window
        self._attempts: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, address: str, now: float | None = None) -> bool:
        if not self.limit or self.limit <= 0:
            return True
        now = time.monotonic() if now is None else now
        attempts = self._attempts[address]
        while attempts and now - attempts[0] >= self.window:
            attempts.popleft()
        if len(attempts) >= self.limit:
            return False  # rejected attempts do not count, so the window keeps sliding
        attempts.append(now)
        return True

    def remaining(self, address: str, now: float | None = None) -> int:
        """Requests `address` may still make in the current window (the limit when disabled)."""
        if not self.limit or self.limit <= 0:
            return 0
        now = time.monotonic() if now is None else now
        attempts = self._attempts[address]
        while attempts and now - attempts[0] >= self.window:
            attempts.popleft()
        return max(0, self.limit - len(attempts))
