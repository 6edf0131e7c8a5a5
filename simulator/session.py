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
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

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
        self.frames_shed = 0  # realtime frames skipped because this reader was too far behind
        self.garbage_pending = 0
        self.garbage_kind = "json"
        self.last_sent = time.monotonic()
        self.replay_task: asyncio.Task[None] | None = None

    # ---- queueing ----------------------------------------------------------
    def enqueue(self, item: OutItem) -> None:
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
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                while self.outbox:
                    if faults.stalled():
                        await asyncio.sleep(max(0.0, faults.stall_until - time.monotonic()))
                        continue
                    if not await self._write_batch():
                        return
        except ConnectionClosed:
            pass

    async def _write_batch(self) -> bool:
        """Frame up to BATCH queued items and hand them to the socket in one write.

        Going through the Sans-I/O protocol directly (rather than one ``send()``
        per frame) saves a system call per frame; it is what lets one process
        offer tens of thousands of frames per second. Returns False once closed.
        """
        if self.ws.protocol.state is not State.OPEN:
            return False
        self.ws.transport.writelines(self.frame_queued(max(BATCH, self.venue.options.coalesce)))
        self.last_sent = time.monotonic()
        await self.ws.drain()
        return True

    def frame_queued(self, limit: int) -> list[bytes]:
        """Stamp, frame and log up to `limit` queued items; returns the bytes to write, in order.

        With ``coalesce`` N > 1 every N frames are joined into one buffer before the write. Over
        TLS each buffer becomes one record (up to 16 KiB), so a reader gets many frames decrypted
        at once, most of them into the TLS layer's buffer where ``select`` cannot see them.
        Frames are never held back to fill a group: a group holds what is queued.
        """
        protocol, outbox = self.ws.protocol, self.outbox
        micros = self.venue.profile.orderbook_timestamp_micros
        trades, books = self.sent_trades, self.sent_orderbooks
        coalesce = self.venue.options.coalesce
        chunks: list[bytes] = []
        for n in range(1, min(limit, len(outbox)) + 1):
            head, tail, code, sid, kind = outbox.popleft()
            if tail is None:
                frame = head
            else:
                now = time.time()
                stamp = int(now * 1_000_000) if micros and kind == KIND_ORDERBOOK else int(now * 1000)
                frame = b"".join((head, str(stamp).encode(), tail))  # type: ignore[arg-type]
            if isinstance(frame, str):
                protocol.send_text(frame.encode())
            else:
                protocol.send_binary(frame)
            self.frames_sent += 1
            if kind == KIND_TRADE:
                trades[code].append(sid)
            elif kind == KIND_ORDERBOOK:
                books[code] += 1
            if self.garbage_pending and tail is not None:
                self.garbage_pending -= 1
                garbage = garbage_frame(self.garbage_kind)
                if isinstance(garbage, str):
                    protocol.send_text(garbage.encode())
                else:
                    protocol.send_binary(garbage)
            if coalesce > 1 and n % coalesce == 0:
                chunks.append(b"".join(protocol.data_to_send()))
        rest = protocol.data_to_send()
        if coalesce > 1:
            if rest:
                chunks.append(b"".join(rest))
            return chunks
        return rest

    # ---- ending ------------------------------------------------------------
    def abort(self) -> None:
        """Cut the TCP connection without a close frame (what clients see as 1006)."""
        self.ws.transport.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)

    def idle_for(self) -> float:
        received = getattr(self.ws, "last_received", 0.0)
        return time.monotonic() - max(received, self.last_sent)

    def sent_log(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "peer": self.peer,
            "frames": self.frames_sent,
            "shed": self.frames_shed,
            "trades": dict(self.sent_trades),
            "orderbooks": dict(self.sent_orderbooks),
        }
