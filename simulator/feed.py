"""The clock that drives a venue: generated events at the configured rate, or recorded frames replayed."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from simulator.session import Session
from simulator.venue import Venue

TICK_SECONDS = 0.005  # events are produced in small batches; frames are still sent one by one
# At most this much time's worth of events per tick: when the process is saturated the offered rate
# drops (visible in /control/stats) instead of production starving the writers.
MAX_CATCH_UP_SECONDS = 0.02


async def run_generator(venue: Venue) -> None:
    """Produce `rate` events per second in batches every few milliseconds (carrying the fraction over)."""
    carry = 0.0
    last = time.monotonic()
    while True:
        await asyncio.sleep(TICK_SECONDS)
        now = time.monotonic()
        elapsed, last = now - last, now
        if venue.faults.stalled(now) or venue.replay_lines:
            carry = 0.0
            continue
        due = venue.options.rate * min(elapsed, MAX_CATCH_UP_SECONDS) + carry
        count = int(due)
        carry = due - count
        if count:
            venue.produce(count, int(time.time() * 1000))


def load_replay(paths: list[str]) -> list[tuple[bytes, str | None, str | None]]:
    """Lines of JSON Lines files as (raw bytes, type, code); type/code read from DEFAULT or SIMPLE keys."""
    lines: list[tuple[bytes, str | None, str | None]] = []
    for path in paths:
        for raw in Path(path).read_bytes().splitlines():
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = None
            kind = code = None
            if isinstance(obj, dict):
                kind = obj.get("type", obj.get("ty"))
                code = obj.get("code", obj.get("cd"))
            lines.append((raw, kind, code))
    return lines


def _wanted(session: Session, kind: str | None, code: str | None) -> bool:
    sub = session.subscription
    if sub is None:
        return False
    if kind is None or code is None:
        return True  # frames without type/code (status, errors) go to every subscriber
    return any(stream.type == kind and code in stream.codes for stream in sub.streams)


async def play_replay(venue: Venue, session: Session) -> None:
    """Send the recorded frames that match the session's subscription, verbatim, at the venue's rate."""
    interval = 1.0 / venue.options.rate if venue.options.rate > 0 else 0.0
    for raw, kind, code in venue.replay_lines:
        if not _wanted(session, kind, code):
            continue
        while venue.faults.stalled():
            await asyncio.sleep(0.05)
        session.enqueue_raw(raw)
        if interval:
            await asyncio.sleep(interval)
