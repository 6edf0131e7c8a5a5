"""Parsing a subscription request into what the connection must stream, or the venue's error.

Pure code. Rules:
* one JSON array: a ticket object, one or more type objects, an optional format object;
* unknown or lower-case codes are dropped silently; an empty result is not an error;
* the only-snapshot / only-realtime options are read in the venue's spelling only;
* ``{"method": "LIST_SUBSCRIPTIONS"}`` asks for the current subscription instead.
"""
from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field

from simulator.profiles import ExchangeProfile

DATA_TYPES = ("trade", "orderbook", "ticker")
FORMATS = ("DEFAULT", "SIMPLE")


class RequestError(Exception):
    """A malformed request: the venue answers with this error frame, then closes (1000)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message

    def frame(self) -> bytes:
        return json.dumps({"error": {"name": self.name, "message": self.message}}, ensure_ascii=False,
                          separators=(",", ":")).encode()


@dataclass(frozen=True)
class Stream:
    type: str
    codes: dict[str, int]  # code -> orderbook depth (0 for trade/ticker)
    only_snapshot: bool = False
    only_realtime: bool = False


@dataclass(frozen=True)
class Subscription:
    ticket: str
    format: str = "DEFAULT"
    streams: tuple[Stream, ...] = ()
    list_subscriptions: bool = False  # the request was LIST_SUBSCRIPTIONS, not a new subscription
    raw_codes: dict[str, list[str]] = field(default_factory=dict)  # type -> codes as requested

    def codes_for(self, data_type: str) -> dict[str, int]:
        merged: dict[str, int] = {}
        for stream in self.streams:
            if stream.type == data_type:
                merged.update(stream.codes)
        return merged


def _depth(profile: ExchangeProfile, suffix: str) -> int:
    try:
        wanted = int(suffix)
    except ValueError:
        return profile.default_depth
    return wanted if wanted in profile.allowed_depths else profile.default_depth


def _codes(profile: ExchangeProfile, data_type: str, requested: list[str], known: Collection[str]) -> dict[str, int]:
    codes: dict[str, int] = {}
    for item in requested:
        base, dot, suffix = item.partition(".")
        if base not in known:  # exact match: lower-case or unknown codes produce nothing
            continue
        if data_type == "orderbook":
            codes[base] = _depth(profile, suffix) if dot else profile.default_depth
        elif not dot:
            codes[base] = 0
    return codes


def _flag(obj: dict[str, object], key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise RequestError("WRONG_FORMAT", "Format 이 맞지 않습니다.")
    return value


def parse_request(text: str | bytes, profile: ExchangeProfile, known: Collection[str]) -> Subscription:
    """Parse one request; raise RequestError with the venue's error name when it is malformed."""
    wrong = RequestError("WRONG_FORMAT", "Format 이 맞지 않습니다.")
    try:
        items = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise wrong from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise wrong
    tickets = [item["ticket"] for item in items if "ticket" in item]
    if not tickets or not isinstance(tickets[0], str) or not tickets[0]:
        raise RequestError("NO_TICKET", "티켓이 존재하지 않거나, 유효하지 않습니다.")
    fmt = "DEFAULT"
    for item in items:
        if "format" in item:
            value = item["format"]
            if value in FORMATS:
                fmt = value
            elif profile.unknown_format_is_error:
                raise RequestError("INVALID_PARAM", f"{value} 은 지원하지 않는 포맷입니다.")
    if any(item.get("method") == "LIST_SUBSCRIPTIONS" for item in items):
        return Subscription(ticket=tickets[0], format=fmt, list_subscriptions=True)
    typed = [item for item in items if "type" in item]
    if not typed:
        raise RequestError("NO_TYPE", "type 필드가 존재하지 않습니다.")
    streams = []
    raw: dict[str, list[str]] = {}
    for item in typed:
        data_type = item["type"]
        if data_type not in DATA_TYPES:
            raise RequestError("INVALID_PARAM", f"{data_type} 은 지원하지 않는 타입입니다.")
        if "codes" not in item:
            raise RequestError("NO_CODES", "codes 필드가 존재하지 않습니다.")
        requested = item["codes"]
        if not isinstance(requested, list) or not requested:
            raise RequestError("INVALID_PARAM", "codes 필드가 비어 있습니다.")
        if not all(isinstance(code, str) for code in requested):
            raise wrong
        raw.setdefault(data_type, []).extend(requested)
        streams.append(Stream(
            type=data_type,
            codes=_codes(profile, data_type, requested, known),
            only_snapshot=_flag(item, profile.snapshot_option),
            only_realtime=_flag(item, profile.realtime_option),
        ))
    return Subscription(ticket=tickets[0], format=fmt, streams=tuple(streams), raw_codes=raw)
