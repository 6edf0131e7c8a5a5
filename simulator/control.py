"""Fault injection and inspection, shared by the HTTP control endpoints and the Python API.

Every action takes plain string/number parameters and returns a JSON-able dict,
so ``GET /control/<action>?k=v`` and ``Simulator.control(action, k=v)`` behave alike.
"""
from __future__ import annotations

import asyncio

from simulator.faults import GARBAGE_KINDS
from simulator.venue import Venue

ACTIONS = ("drop", "stall", "garbage", "refuse", "rate", "reset", "sent", "stats", "clear")


class ControlError(ValueError):
    """Bad action or parameter (HTTP 400)."""


def _number(params: dict[str, str], key: str, default: float | None = None) -> float:
    raw = params.get(key)
    if raw is None or raw == "":
        if default is None:
            raise ControlError(f"missing parameter {key!r}")
        return default
    try:
        return float(raw)
    except ValueError:
        raise ControlError(f"parameter {key!r} must be a number, got {raw!r}") from None


def _flag(params: dict[str, str], key: str) -> bool:
    return str(params.get(key, "")).lower() in ("1", "true", "yes")


def apply(venue: Venue, action: str, params: dict[str, str]) -> dict[str, object]:
    """Run one control action on one venue (called on the event loop's thread)."""
    name = venue.profile.name
    if action == "drop":
        mode = params.get("mode", "abort")
        code = int(_number(params, "code", 1001))
        sessions = list(venue.sessions)
        for session in sessions:
            if mode == "abort":
                session.abort()
            elif mode == "close":
                asyncio.get_running_loop().create_task(session.close(code, "simulated drop"))
            else:
                raise ControlError("mode must be 'abort' (no close frame) or 'close' (close frame)")
        return {"exchange": name, "dropped": len(sessions), "mode": mode}
    if action == "stall":
        seconds = _number(params, "seconds")
        freeze = _flag(params, "freeze")
        venue.faults.stall(seconds, freeze)
        if freeze:
            for session in venue.sessions:
                session.ws.transport.pause_reading()
            asyncio.get_running_loop().call_later(seconds, _resume_reading, venue)
        return {"exchange": name, "stalled_for": seconds, "freeze": freeze}
    if action == "garbage":
        count = int(_number(params, "count", 1))
        kind = params.get("kind", "json")
        if kind not in GARBAGE_KINDS:
            raise ControlError(f"kind must be one of {GARBAGE_KINDS}")
        for session in venue.sessions:
            session.inject_garbage(count, kind)
        return {"exchange": name, "connections": len(venue.sessions), "count": count, "kind": kind}
    if action == "refuse":
        seconds = _number(params, "seconds")
        status = int(_number(params, "status", 503))
        try:
            venue.faults.refuse(seconds, status)
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        return {"exchange": name, "refusing_for": seconds, "status": status}
    if action == "rate":
        rate = _number(params, "value")
        if rate < 0:
            raise ControlError("rate must be >= 0")
        venue.options.rate = rate
        if "trade_ratio" in params:
            venue.options.trade_ratio = min(1.0, max(0.0, _number(params, "trade_ratio")))
        return {"exchange": name, "rate": rate, "trade_ratio": venue.options.trade_ratio}
    if action == "reset":
        venue.reset_logs()
        return {"exchange": name, "reset": True}
    if action == "clear":
        venue.faults.clear()
        _resume_reading(venue)
        return {"exchange": name, "cleared": True}
    if action == "sent":
        return venue.sent_log(per_connection=_flag(params, "per_connection"))
    if action == "stats":
        return {
            "exchange": name,
            "connections": len(venue.sessions),
            "events_produced": venue.events_produced,
            "rate": venue.options.rate,
            "backlog": sum(len(s.outbox) for s in venue.sessions),
            # written but still in the socket buffers (load mode writes straight into them)
            "buffered_bytes": sum(s.ws.transport.get_write_buffer_size() for s in venue.sessions
                                  if not s.ws.transport.is_closing()),
            "load": venue.load is not None,
            "logged": venue.logged_count(),  # trade and orderbook frames in the sent log
            "shed": sum(s.frames_shed for s in venue.sessions),
            "subscribed_codes": len(venue.active_codes),
        }
    raise ControlError(f"unknown action {action!r}; expected one of {ACTIONS}")


def _resume_reading(venue: Venue) -> None:
    venue.faults.frozen = False
    for session in venue.sessions:
        if not session.ws.transport.is_closing():
            session.ws.transport.resume_reading()
