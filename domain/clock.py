"""Wall-clock time as krwfeed records it: integer microseconds since the Unix epoch, UTC."""
from __future__ import annotations

import time


def utc_now_us() -> int:
    return time.time_ns() // 1000
