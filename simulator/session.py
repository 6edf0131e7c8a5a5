"""One client connection: its subscription, its outgoing queue, and the log of what it was sent.

Frames wait in the outbox as templates and get their ``timestamp`` (send time)
only when they are written, so a latency benchmark can subtract it from its
receive time. Trades are logged by ``sequential_id`` and orderbooks counted per
code when written, so a test can tell exactly what left the simulator.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, defaultdict, deque
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from simulator.faults import garbage_frame
from simulator.subscription import Subscription

if TYPE_CHECKING:
    from simulator.venue import Venue

KIND_TRADE, KIND_ORDERBOOK, KIND_OTHER = 0, 1, 2
# (head, tail, code, sequential id or 0, kind); tail None = head is the whole frame
OutItem = tuple[bytes | str, bytes | None, str, int, int]
BATCH = 256
_ids = itertools.count(1)


class TrackedConnection(ServerConnection):
    """Records when the client last sent anything at all (data, ping or pong) for the idle timeout."""

    last_received = 0.0

    def data_received(self, data: bytes) -> None:
        self.last_received = time.monotonic()
        super().data_received(data)


class Session:
    def __init__(self, ws: ServerConnection, venue: Venue) -> None:
        self.id = next(_ids)
        self.ws = ws
        self.venue = venue
        remote = ws.remote_address
        self.peer = f"{remote[0]}:{remote[1]}" if remote else "?"
        self.subscription: Subscription | None = None
        self.outbox: deque[OutItem] = deque()
        self.wake = asyncio.Event()
        self.sent_trades: defaultdict[str, list[int]] = defaultdict(list)
        self.sent_orderbooks: Counter[str] = Counter()
        self.frames_sent = 0
        self.garbage_pending = 0
        self.garbage_kind = "json"
        self.last_sent = time.monotonic()
        self.replay_task: asyncio.Task[None] | None = None

    # ---- queueing ----------------------------------------------------------
    def enqueue(self, item: OutItem) -> None:
        if len(self.outbox) >= self.venue.max_backlog:
            # a reader this far behind would be cut off by a real venue too
            self.abort()
            return
        self.outbox.append(item)
        self.wake.set()

    def enqueue_raw(self, frame: bytes | str) -> None:
        self.enqueue((frame, None, "", 0, KIND_OTHER))

    def inject_garbage(self, count: int, kind: str) -> None:
        garbage_frame(kind)  # validates the kind before anything is queued
        self.garbage_pending += count
        self.garbage_kind = kind

    # ---- writing -----------------------------------------------------------
    async def run_sender(self) -> None:
        faults = self.venue.faults
        micros = self.venue.profile.orderbook_timestamp_micros
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                while self.outbox:
                    if faults.stalled():
                        await asyncio.sleep(max(0.0, faults.stall_until - time.monotonic()))
                        continue
                    for _ in range(min(BATCH, len(self.outbox))):
                        await self._write(self.outbox.popleft(), micros)
        except ConnectionClosed:
            pass

    async def _write(self, item: OutItem, micros: bool) -> None:
        head, tail, code, sid, kind = item
        if tail is None:
            frame: bytes | str = head
        else:
            now = time.time()
            stamp = int(now * 1_000_000) if micros and kind == KIND_ORDERBOOK else int(now * 1000)
            frame = b"".join((head, str(stamp).encode(), tail))  # type: ignore[arg-type]
        await self.ws.send(frame)
        self.frames_sent += 1
        self.last_sent = time.monotonic()
        if kind == KIND_TRADE:
            self.sent_trades[code].append(sid)
        elif kind == KIND_ORDERBOOK:
            self.sent_orderbooks[code] += 1
        if self.garbage_pending and tail is not None:
            self.garbage_pending -= 1
            await self.ws.send(garbage_frame(self.garbage_kind))

    # ---- ending ------------------------------------------------------------
    def abort(self) -> None:
        """Cut the TCP connection without a close frame (what clients see as 1006)."""
        self.ws.transport.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)

    def idle_for(self) -> float:
        received = getattr(self.ws, "last_received", 0.0)
        return time.monotonic() - max(received, self.last_sent)

    def sent_log(self) -> dict[str, object]:
        return {
            "id": self.id,
            "peer": self.peer,
            "frames": self.frames_sent,
            "trades": dict(self.sent_trades),
            "orderbooks": dict(self.sent_orderbooks),
        }
