"""Fault injection and inspection, shared by the HTTP control endpoints and the Python API.

Every action takes plain string/number parameters and returns a JSON-able dict,
so ``GET /control/<action>?k=v`` and ``Simulator.control(action, k=v)`` behave alike.
"""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal, InvalidOperation

from simulator.faults import GARBAGE_KINDS
from simulator.markets import CODE_PATTERN, Market, generated_markets
from simulator.venue import Venue

ACTIONS = ("drop", "stall", "garbage", "refuse", "rate", "reset", "sent", "tape", "stats", "clear", "list", "delist",
           "rest_fail")


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
    if action == "tape":
        return venue.tape_log()
    if action == "list":
        market = _market(params)
        listed = venue.list_market(market, int(time.time() * 1000))
        return {"exchange": name, "code": market.code, "listed": listed, "markets": len(venue.markets)}
    if action == "delist":
        delisted = params.get("code", "")
        if not delisted:
            raise ControlError("missing parameter 'code'")
        return {"exchange": name, "code": delisted, "delisted": venue.delist(delisted), "markets": len(venue.markets)}
    if action == "rest_fail":
        seconds = _number(params, "seconds")
        status = int(_number(params, "status", 500))
        try:
            venue.faults.fail_rest(seconds, status)
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        return {"exchange": name, "rest_failing_for": seconds, "status": status}
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
            "listed_codes": len(venue.markets),
            "tape_trades": sum(len(sids) for sids in venue.tape.values()),
        }
    raise ControlError(f"unknown action {action!r}; expected one of {ACTIONS}")


def _market(params: dict[str, str]) -> Market:
    """The market a `list` action names: `code`, optional `korean_name`, `english_name`, `price` (KRW)."""
    code = params.get("code", "")
    if not CODE_PATTERN.match(code):
        raise ControlError(f"code must be upper-case QUOTE-BASE, got {code!r}")
    known = next((m for m in generated_markets(10_000) if m.code == code), None)
    try:
        price = Decimal(params["price"]) if params.get("price") else (known.base_price if known else Decimal(10_000))
    except InvalidOperation:
        raise ControlError(f"price must be a number, got {params['price']!r}") from None
    if not price.is_finite() or price <= 0:
        raise ControlError("price must be positive")
    return Market(code, params.get("korean_name") or (known.korean_name if known else code),
                  params.get("english_name") or (known.english_name if known else code), price)


def _resume_reading(venue: Venue) -> None:
    venue.faults.frozen = False
    for session in venue.sessions:
        if not session.ws.transport.is_closing():
            session.ws.transport.resume_reading()
