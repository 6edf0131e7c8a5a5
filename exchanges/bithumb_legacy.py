"""Bithumb's legacy public WebSocket (wss://pubwss.bithumb.com/pub/ws).

Quirks handled: symbols are ``BTC_KRW`` (normalised to ``KRW-BTC``); every value is a string;
one ``transaction`` frame holds several trades; ``contDtm`` is a zone-less KST time with
microseconds; ``buySellGb`` "1" is a sell (the taker sold: ASK) and "2" a buy (BID), as the
exchange documents (some libraries invert it); trades carry no id and no message time.
``orderbooksnapshot`` is a whole 30-level book. ``orderbookdepth`` only carries changed levels,
which cannot become a complete book without a REST snapshot, so it is reported as ignored.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import Any

import msgspec

from domain.capabilities import DATA_TYPES
from domain.exceptions import ValidationException
from domain.records import DataType, Exchange, Levels, MarketRecord, OrderbookRecord, TradeRecord
from exchanges.base import DecodedFrame, FrameKind, SubscriptionRequest
from exchanges.fields import (
    KST,
    MAX_NUMBER_CHARS,
    decimal_text,
    epoch_to_us,
    frame_text,
    local_time_to_us,
    plain,
    plain_levels,
)
from exchanges.jsonparse import loads_exact
from exchanges.quotation import PARSE_ERRORS

WS_URL = "wss://pubwss.bithumb.com/pub/ws"
REST_URL = "https://api.bithumb.com"
CHANNELS = {DataType.TRADE.value: "transaction", DataType.ORDERBOOK.value: "orderbooksnapshot"}
SIDES = {"1": "ASK", "2": "BID"}  # 1 = 매도체결 (taker sold), 2 = 매수체결 (taker bought)
_encode = msgspec.json.Encoder().encode


def symbol_to_code(symbol: Any) -> str:
    """``BTC_KRW`` ({BASE}_{QUOTE}) -> ``KRW-BTC`` ({QUOTE}-{BASE})."""
    base, quote = str(symbol).strip().upper().split("_")
    if not base or not quote:
        raise ValueError(f"symbol {symbol!r} is not BASE_QUOTE")
    return f"{quote}-{base}"


def code_to_symbol(code: str) -> str:
    quote, base = code.strip().upper().split("-")
    return f"{base}_{quote}"


def _levels(pairs: Any) -> Levels:
    return Levels.of(plain_levels([(price, size) for price, size in pairs]))  # each pair exactly two values


def _total(levels: Levels) -> str:
    with localcontext() as context:  # enough digits for any bounded sizes: the sum stays exact
        context.prec = 2 * MAX_NUMBER_CHARS
        return plain(sum((Decimal(level.size) for level in levels), Decimal(0)))


class BithumbLegacyAdapter:
    name = "bithumb-legacy"

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
        """One JSON object per channel. The legacy API has no format, snapshot or depth options;
        anything but their defaults is refused rather than silently dropped."""
        wanted = tuple(dict.fromkeys(str(code).strip().upper() for code in codes))
        if not wanted or not all(wanted):
            raise ValueError("a subscription needs at least one market code")
        types = tuple(dict.fromkeys(data_types))
        if not types or not set(types) <= set(CHANNELS):
            raise ValueError(f"data types must be a non-empty subset of {tuple(CHANNELS)}, got {data_types!r}")
        if fmt.upper() != "DEFAULT" or only_realtime or only_snapshot or depth is not None:
            raise ValueError("the legacy Bithumb API has no format, snapshot/realtime or depth options")
        symbols = [code_to_symbol(code) for code in wanted]
        texts = [_encode({"type": CHANNELS[t], "symbols": symbols}).decode() for t in types]
        return SubscriptionRequest(ticket=str(uuid.uuid4()), codes=wanted, text=texts[0],
                                   extra_texts=tuple(texts[1:]))

    def decode(self, frame: bytes | str, received_time_us: int) -> DecodedFrame:
        try:
            obj = loads_exact(frame_text(frame))
        except (ValueError, TypeError) as err:
            raise ValidationException("frame is not valid UTF-8 JSON", exchange=self.name, value=frame) from err
        if type(obj) is not dict:
            raise ValidationException("frame is not a JSON object", exchange=self.name, value=frame)
        kind = obj.get("type")
        try:
            if kind == "transaction":
                records: tuple[MarketRecord, ...] = self._trades(obj["content"], received_time_us)
            elif kind == "orderbooksnapshot":
                records = (self._snapshot(obj["content"], received_time_us),)
            elif isinstance(kind, str) and kind:
                return DecodedFrame(FrameKind.IGNORED, ignored_type=kind)  # ticker, orderbookdepth
            else:
                return self._status(obj, frame)
        except PARSE_ERRORS as err:
            raise ValidationException(f"cannot read {kind} frame: {type(err).__name__}: {err}",
                                      exchange=self.name, data_type=kind, value=frame) from err
        return DecodedFrame(FrameKind.DATA, records=records)

    def _status(self, obj: dict[str, Any], frame: bytes | str) -> DecodedFrame:
        status = obj.get("status")
        if not isinstance(status, str):
            raise ValidationException("frame has no type or status field", exchange=self.name, value=frame)
        message = str(obj.get("resmsg", ""))
        if status == "0000":  # "Connected Successfully", "Filter Registered Successfully"
            return DecodedFrame(FrameKind.STATUS, status=status, extra={"resmsg": message})
        return DecodedFrame(FrameKind.ERROR, error_name=status, error_message=message)

    def _trades(self, content: dict[str, Any], received_time_us: int) -> tuple[TradeRecord, ...]:
        trades = []
        for item in content["list"]:
            trade_time_us = local_time_to_us(item["contDtm"], KST)
            trades.append(TradeRecord(
                exchange=Exchange.BITHUMB,
                code=symbol_to_code(item["symbol"]),
                price=decimal_text(item["contPrice"]),
                volume=decimal_text(item["contQty"]),
                side=SIDES.get(item.get("buySellGb"), ""),
                trade_time_us=trade_time_us,
                event_time_us=trade_time_us,  # the frame has no message time of its own
                received_time_us=received_time_us,
                sequential_id=0,  # no trade id on this API
                stream_type="",
            ))
        return tuple(trades)

    def _snapshot(self, content: dict[str, Any], received_time_us: int) -> OrderbookRecord:
        asks, bids = _levels(content["asks"]), _levels(content["bids"])
        return OrderbookRecord(
            exchange=Exchange.BITHUMB,
            code=symbol_to_code(content["symbol"]),
            asks=asks,
            bids=bids,
            # The frame has no totals; like Upbit's, they sum the levels sent.
            total_ask_size=_total(asks),
            total_bid_size=_total(bids),
            event_time_us=epoch_to_us(content["datetime"]),
            received_time_us=received_time_us,
            stream_type="",
        )


def make_adapter() -> BithumbLegacyAdapter:
    return BithumbLegacyAdapter()
