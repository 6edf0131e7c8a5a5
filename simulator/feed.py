"""The clock that drives a venue: generated events at the configured rate, or recorded frames replayed."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from simulator.session import Session
from simulator.venue import Venue

TICK_SECONDS = 0.005  # events are produced in small batches; frames are still sent one by one
# Producing may use at most this share of the wall-clock time; the rest is left to the writers. When
# the process is saturated the offered rate drops (visible in /control/stats) instead of the writers
# starving and the output collapsing.
PRODUCE_SHARE = 0.6
MAX_CARRY_SECONDS = 0.1  # events owed after a pause are caught up to this much, the rest is skipped


async def run_generator(venue: Venue) -> None:
    """Produce `rate` events per second in batches every few milliseconds (carrying the fraction over)."""
    carry = 0.0
    cost = 0.0  # smoothed seconds of CPU per produced event
    last = time.monotonic()
    while True:
        await asyncio.sleep(TICK_SECONDS)
        now = time.monotonic()
        elapsed, last = now - last, now
        if venue.faults.stalled(now) or venue.replay_lines:
            carry = 0.0
            continue
        rate = venue.options.rate
        due = rate * elapsed + carry
        count = int(due)
        if cost > 0:
            count = min(count, int(PRODUCE_SHARE * elapsed / cost) + 1)
        carry = min(due - count, rate * MAX_CARRY_SECONDS)
        if count:
            started = time.process_time()  # CPU time: being descheduled must not look like cost
            venue.produce(count, int(time.time() * 1000))
            per_event = (time.process_time() - started) / count
            cost = per_event if cost == 0 else 0.8 * cost + 0.2 * per_event


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
