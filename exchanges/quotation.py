"""The adapter for Upbit-style quotation WebSockets (Upbit and Bithumb's ws-api v1).

The two exchanges share the request and frame layout; they differ in how the ``is_only_*`` options
must be spelled (Upbit: snake_case; Bithumb: camelCase, snake_case is silently ignored), the
orderbook depths offered, and the zone of the trade date/time strings.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timezone
from types import MappingProxyType
from typing import Any

import msgspec

from domain.capabilities import CAPABILITIES, DATA_TYPES
from domain.exceptions import ValidationException
from domain.records import DataType, Exchange, MarketRecord
from exchanges.base import DecodedFrame, FrameKind, SubscriptionRequest
from exchanges.fields import frame_text
from exchanges.jsonparse import loads_exact
from exchanges.quotation_parse import (
    ORDERBOOK_DEFAULT,
    ORDERBOOK_SIMPLE,
    TRADE_DEFAULT,
    TRADE_SIMPLE,
    parse_orderbook,
    parse_trade,
)

# Errors a malformed or incomplete frame can raise while being read; all become ValidationException.
PARSE_ERRORS = (KeyError, IndexError, TypeError, ValueError, ArithmeticError, AttributeError)
_STATUS_UP = DecodedFrame(FrameKind.STATUS, status="UP")
_encode = msgspec.json.Encoder().encode
# The format a data frame was in, shared by all such frames (read-only).
_DEFAULT: Mapping[str, str] = MappingProxyType({"format": "DEFAULT"})
_SIMPLE: Mapping[str, str] = MappingProxyType({"format": "SIMPLE"})
# Read once: on CPython 3.11 each read of an Enum member (DataType.TRADE) is a Python-level lookup,
# about 0.05 us, and every frame made two or three.
_TRADE, _ORDERBOOK, _DATA = DataType.TRADE.value, DataType.ORDERBOOK.value, FrameKind.DATA


class QuotationAdapter:
    def __init__(self, name: str, exchange: Exchange, *, camel_case_options: bool,
                 depths: frozenset[int], date_zone: timezone) -> None:
        self.name = name
        self.exchange = exchange
        self._snapshot_key = "isOnlySnapshot" if camel_case_options else "is_only_snapshot"
        self._realtime_key = "isOnlyRealtime" if camel_case_options else "is_only_realtime"
        self._depths = depths
        self._date_zone = date_zone

    def subscription_request(
        self,
        codes: Sequence[str],
        data_types: Sequence[str] = DATA_TYPES,
        *,
        fmt: str = "DEFAULT",
        only_realtime: bool = False,
        only_snapshot: bool = False,
        depth: int | None = None,
    ) -> SubscriptionRequest:
        """One request with every type: a new request replaces the connection's whole subscription."""
        wanted = tuple(dict.fromkeys(str(code).strip().upper() for code in codes))
        types = tuple(dict.fromkeys(data_types))
        fmt = fmt.upper()
        if not wanted or not all(wanted):
            raise ValueError("a subscription needs at least one market code")
        caps = CAPABILITIES[self.name]
        if not types or not set(types) <= set(caps.data_types):
            raise ValueError(f"data types must be a non-empty subset of {caps.data_types}, got {data_types!r}")
        if fmt not in caps.formats:
            raise ValueError(f"format must be one of {caps.formats}, got {fmt!r}")
        if only_realtime and only_snapshot:
            raise ValueError("only_realtime and only_snapshot exclude each other")
        if depth is not None and depth not in self._depths:
            raise ValueError(f"{self.name} orderbook depth must be one of {sorted(self._depths)}, got {depth}")
        ticket = str(uuid.uuid4())
        request: list[dict[str, Any]] = [{"ticket": ticket}]
        for data_type in types:
            suffix = f".{depth}" if data_type == DataType.ORDERBOOK and depth is not None else ""
            request.append({
                "type": data_type,
                "codes": [code + suffix for code in wanted],
                self._snapshot_key: only_snapshot,
                self._realtime_key: only_realtime,
            })
        request.append({"format": fmt})
        return SubscriptionRequest(ticket=ticket, codes=wanted, text=_encode(request).decode())

    def decode(self, frame: bytes | str, received_time_us: int) -> DecodedFrame:
        try:
            obj = loads_exact(frame if type(frame) is bytes or type(frame) is str else frame_text(frame))
        except (ValueError, TypeError) as err:
            raise ValidationException("frame is not valid UTF-8 JSON", exchange=self.name,
                                      value=frame) from err
        if type(obj) is list:  # JSON_LIST / SIMPLE_LIST formats: several messages per frame
            decoded = [self._decode_object(item, frame, received_time_us) for item in obj]
            records = tuple(r for d in decoded for r in d.records)
            if records or not decoded:
                return DecodedFrame(FrameKind.DATA, records=records)
            return decoded[0]
        return self._decode_object(obj, frame, received_time_us)

    def _decode_object(self, obj: Any, frame: bytes | str, received_time_us: int) -> DecodedFrame:
        if type(obj) is not dict:
            raise ValidationException("frame is not a JSON object", exchange=self.name, value=frame)
        simple = "ty" in obj
        data_type = obj.get("ty") if simple else obj.get("type")
        try:
            record: MarketRecord
            if data_type == _TRADE:
                record = parse_trade(obj, TRADE_SIMPLE if simple else TRADE_DEFAULT, self.exchange,
                                     self._date_zone, received_time_us)
            elif data_type == _ORDERBOOK:
                record = parse_orderbook(obj, ORDERBOOK_SIMPLE if simple else ORDERBOOK_DEFAULT,
                                         self.exchange, received_time_us)
            else:
                return self._non_data(obj, data_type, frame)
        except PARSE_ERRORS as err:
            code = obj.get("cd" if simple else "code")
            raise ValidationException(f"cannot read {data_type} frame: {type(err).__name__}: {err}",
                                      exchange=self.name, code=code, data_type=data_type, value=frame) from err
        return DecodedFrame(_DATA, (record,), extra=_SIMPLE if simple else _DEFAULT)

    def _non_data(self, obj: dict[str, Any], data_type: Any, frame: bytes | str) -> DecodedFrame:
        if isinstance(data_type, str) and data_type:
            return DecodedFrame(FrameKind.IGNORED, ignored_type=data_type)  # ticker, candle.*, ...
        status = obj.get("status")
        if status is not None:
            return _STATUS_UP if status == "UP" else DecodedFrame(FrameKind.STATUS, status=str(status))
        error = obj.get("error")
        if isinstance(error, dict):
            return DecodedFrame(FrameKind.ERROR, error_name=str(error.get("name", "")),
                                error_message=str(error.get("message", "")))
        method = obj.get("method", obj.get("mthd"))
        if isinstance(method, str):  # LIST_SUBSCRIPTIONS reply
            return DecodedFrame(FrameKind.IGNORED, ignored_type=method)
        raise ValidationException("frame has no type, status or error field", exchange=self.name, value=frame)
