"""The exchanges' REST quotation API, as far as krwfeed reads it: the market list and trade ticks.

Pure: request parameters in, response bodies in, records out. Upbit and Bithumb serve the same shapes
at the same paths (``GET /v1/market/all``, ``GET /v1/trades/ticks``), so one reader serves both.

A REST tick (``market, trade_date_utc, trade_time_utc, timestamp, trade_price, trade_volume,
prev_closing_price, change_price, ask_bid, sequential_id``) becomes the same ``TradeRecord`` the
WebSocket path makes of the same trade, read with the same exactness rules: prices and sizes from
their wire text, ids as exact integers, ``timestamp`` (the trade's time, ms) as the trade time.
What the REST shape lacks is filled in by definition or left empty:

* ``change`` (RISE / EVEN / FALL) is the sign of ``trade_price - prev_closing_price``, which is what
  the WebSocket field says; REST's ``change_price`` is that difference signed, records carry it
  unsigned (as the WebSocket sends it);
* the message time is the trade time (REST has no message of its own per trade);
* ``stream_type`` is empty and the best bid/ask fields absent (REST does not send them).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

from domain.exceptions import ValidationException
from domain.records import Exchange, TradeRecord
from exchanges.fields import date_and_time_to_us, decimal_text, epoch_to_us, frame_text
from exchanges.jsonparse import loads_exact

TRADE_TICKS_PATH = "/v1/trades/ticks"
MARKET_ALL_PATH = "/v1/market/all"
MAX_TICKS_PER_REQUEST = 500  # the documented upper bound of ``count``
MAX_DAYS_AGO = 7  # ``days_ago`` reaches at most seven UTC dates back
# REST requests per second per client address for the trade group (Upbit: "trade" group 10/s;
# Bithumb: 150/s per category of its public API, trades being one).
TRADE_REQUESTS_PER_SECOND = {Exchange.UPBIT: 10, Exchange.BITHUMB: 150}
DEFAULT_QUOTES = ("KRW",)

_CODE = re.compile(r"[A-Z0-9]+-[A-Z0-9]+")
_UINT64_MAX = 2**64 - 1
_SIDES = frozenset({"ASK", "BID"})
# Errors a malformed tick can raise while being read; each becomes a ValidationException.
_PARSE_ERRORS = (KeyError, IndexError, TypeError, ValueError, ArithmeticError, AttributeError)


@dataclass(frozen=True, slots=True)
class TickPage:
    """One ``/v1/trades/ticks`` answer read: its records in the order sent (newest first) and the
    ticks refused, each with its reason, so that every one is counted."""

    records: tuple[TradeRecord, ...]
    rejected: tuple[ValidationException, ...] = ()

    @property
    def size(self) -> int:
        """Ticks the answer held, read or refused (a short page means the history ends here)."""
        return len(self.records) + len(self.rejected)


def trade_ticks_query(code: str, count: int, cursor: int | None = None, days_ago: int | None = None) -> dict[str, str]:
    """The query parameters of one ``/v1/trades/ticks`` request (raises ValueError when out of range)."""
    if not _CODE.fullmatch(code):
        raise ValueError(f"market code must be upper-case QUOTE-BASE, got {code!r}")
    if not 1 <= count <= MAX_TICKS_PER_REQUEST:
        raise ValueError(f"count must be 1..{MAX_TICKS_PER_REQUEST}, got {count}")
    query = {"market": code, "count": str(count)}
    if cursor is not None:
        if not 0 <= cursor <= _UINT64_MAX:
            raise ValueError(f"cursor must be a sequential_id, got {cursor}")
        query["cursor"] = str(cursor)
    if days_ago is not None:
        if not 1 <= days_ago <= MAX_DAYS_AGO:
            raise ValueError(f"days_ago must be 1..{MAX_DAYS_AGO}, got {days_ago}")
        query["days_ago"] = str(days_ago)
    return query


def _body(body: bytes | str, exchange: Exchange, what: str) -> Any:
    try:
        obj = loads_exact(frame_text(body))
    except (ValueError, TypeError) as err:
        raise ValidationException(f"{what} answer is not valid UTF-8 JSON", exchange=exchange.value,
                                  value=body) from err
    if type(obj) is dict and type(obj.get("error")) is dict:
        error = obj["error"]
        raise ValidationException(f"{what} answered an error", exchange=exchange.value,
                                  error_name=str(error.get("name", "")), error_message=str(error.get("message", "")))
    if type(obj) is not list:
        raise ValidationException(f"{what} answer is not a JSON array", exchange=exchange.value, value=body)
    return obj


def parse_trade_tick(obj: Any, exchange: Exchange, received_time_us: int) -> TradeRecord:
    """One REST tick -> the trade's record (raises ValueError, TypeError or KeyError when malformed)."""
    if type(obj) is not dict:
        raise TypeError("a tick must be a JSON object")
    code = obj["market"]
    if type(code) is not str or not _CODE.fullmatch(code):
        raise ValueError(f"market must be an upper-case QUOTE-BASE code, got {code!r}")
    raw_ts = obj.get("timestamp")
    if raw_ts is not None:
        trade_time_us = epoch_to_us(raw_ts)
    else:
        trade_time_us = date_and_time_to_us(obj["trade_date_utc"], obj["trade_time_utc"], UTC)
    sequential_id = obj["sequential_id"]
    if type(sequential_id) is not int or not 0 <= sequential_id <= _UINT64_MAX:
        raise ValueError(f"sequential_id must be an unsigned 64-bit integer, got {sequential_id!r}")
    price = decimal_text(obj["trade_price"])
    side = obj.get("ask_bid")
    if side is not None and side not in _SIDES:
        raise ValueError(f"ask_bid must be ASK or BID, got {side!r}")
    raw_prev = obj.get("prev_closing_price")
    prev = None if raw_prev is None else decimal_text(raw_prev)
    change = ""
    if prev is not None:
        difference = Decimal(price) - Decimal(prev)
        change = "RISE" if difference > 0 else "FALL" if difference < 0 else "EVEN"
    raw_change = obj.get("change_price")
    change_price = None if raw_change is None else decimal_text(raw_change)
    if change_price is not None and change_price.startswith("-"):
        change_price = change_price[1:]  # signed on REST; records carry its size, as the WebSocket sends it
    return TradeRecord(
        exchange=exchange,
        code=code,
        price=price,
        volume=decimal_text(obj["trade_volume"]),
        side=side or "",
        trade_time_us=trade_time_us,
        event_time_us=trade_time_us,
        received_time_us=received_time_us,
        sequential_id=sequential_id,
        stream_type="",
        prev_closing_price=prev,
        change=change,
        change_price=change_price,
    )


def parse_trade_ticks(body: bytes | str, exchange: Exchange, received_time_us: int,
                      code: str | None = None) -> TickPage:
    """A ``/v1/trades/ticks`` answer -> its records, newest first as sent.

    Raises ``ValidationException`` when the answer as a whole is unusable (not JSON, not an array,
    or the exchange's ``{"error": ...}``). A malformed tick, or one of another market than ``code``,
    is refused on its own and returned in ``rejected``.
    """
    ticks = _body(body, exchange, "trade ticks")
    records: list[TradeRecord] = []
    rejected: list[ValidationException] = []
    for tick in ticks:
        try:
            record = parse_trade_tick(tick, exchange, received_time_us)
        except _PARSE_ERRORS as err:
            rejected.append(ValidationException(f"cannot read trade tick: {type(err).__name__}: {err}",
                                                exchange=exchange.value, code=code, value=tick))
            continue
        if code is not None and record.code != code:
            rejected.append(ValidationException("trade tick of another market", exchange=exchange.value,
                                                code=code, value=record.code))
            continue
        records.append(record)
    return TickPage(tuple(records), tuple(rejected))


def parse_market_list(body: bytes | str, exchange: Exchange,
                      quote_currencies: Iterable[str] = DEFAULT_QUOTES) -> tuple[str, ...]:
    """A ``/v1/market/all`` answer -> the codes of the wanted quote currencies, in the order listed.

    Raises ``ValidationException`` when any entry is unreadable: a listing krwfeed cannot trust in
    full must not delist markets, so the caller keeps the last list it knew.
    """
    entries = _body(body, exchange, "market list")
    quotes = {quote.strip().upper() for quote in quote_currencies}
    codes: dict[str, None] = {}
    for entry in entries:
        code = entry.get("market") if type(entry) is dict else None
        if type(code) is not str or not _CODE.fullmatch(code):
            raise ValidationException("market list entry without a QUOTE-BASE market code",
                                      exchange=exchange.value, value=entry)
        if code.split("-", 1)[0] in quotes:
            codes[code] = None
    return tuple(codes)

