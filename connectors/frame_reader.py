"""Reading a connected, non-blocking socket: frames until it would block, and the keep-alive ping.

``read_frames`` also empties the TLS layer's buffer, which ``select`` cannot see (thespian notes
§2): it stops only when the socket would block, the connection is lost, or ``max_frames`` were
read. Any frame at all counts as a sign of life; control frames carry no records.
"""
from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import websocket

from connectors.backoff import Backoff
from connectors.frame_pipeline import MALFORMED, FramePipeline
from connectors.liveness import Liveness
from connectors.socket_ops import MessageTooLarge, close_text
from exchanges.base import FrameKind
from messages.records import EncodedRecord

WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
_LOG = logging.getLogger("krwfeed.connector.frames")


@dataclass(frozen=True, slots=True)
class DrainResult:
    records: tuple[EncodedRecord, ...]
    frames: int
    more: bool  # stopped at max_frames: data may still wait (possibly inside TLS), read again
    lost: str  # why the connection was lost during this drain, or ""


def read_frames(
    ws: Any,
    max_frames: int,
    pipeline: FramePipeline,
    liveness: Liveness,
    backoff: Backoff,
    clock: Callable[[], float],
    now_us: Callable[[], int],
) -> tuple[list[EncodedRecord], int, str]:
    """(records, frames read, why the connection was lost or "")."""
    records: list[EncodedRecord] = []
    frames = 0
    lost = ""
    while frames < max_frames:
        try:
            opcode, frame = ws.recv_data_frame(True)
        except WOULD_BLOCK:
            break
        except MessageTooLarge as err:  # counted; the rest of it is still on the wire: reconnect
            frames += 1
            pipeline.oversized(str(err), now_us())
            lost = f"connection closed: {err}"
            break
        except (websocket.WebSocketException, OSError, ValueError) as err:
            lost = f"connection lost: {type(err).__name__}: {err}"
            break
        frames += 1
        now = clock()
        liveness.alive(now)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            lost = f"close frame from the server: {close_text(frame.data)}"
            break
        if opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
            continue
        outcome = pipeline.process(frame.data, now_us())
        if outcome.kind == FrameKind.ERROR.value:
            lost = f"error frame: {outcome.detail}"
            break
        if outcome.kind != MALFORMED:
            backoff.still_connected(now)
        records.extend(outcome.records)
    for line in pipeline.notices.take():
        _LOG.warning(line)
    return records, frames, lost


def ping_or_stall(ws: Any, liveness: Liveness, now: float) -> str:
    """Send a due ping, or tell why the connection counts as dead ("" while it is healthy)."""
    reason = liveness.stall_reason(now)
    if not reason and liveness.ping_due(now):
        try:
            ws.ping()
            liveness.pinged(now)
        except WOULD_BLOCK:
            pass  # send buffer full: the next tick tries again
        except (websocket.WebSocketException, OSError) as err:
            reason = f"ping failed: {type(err).__name__}: {err}"
    return reason
