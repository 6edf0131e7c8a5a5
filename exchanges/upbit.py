"""Upbit's public quotation WebSocket (wss://api.upbit.com/websocket/v1)."""
from __future__ import annotations

from datetime import UTC

from domain.capabilities import CAPABILITIES
from domain.records import Exchange
from exchanges.quotation import QuotationAdapter

WS_URL = "wss://api.upbit.com/websocket/v1"
REST_URL = "https://api.upbit.com"
DEPTHS = frozenset(CAPABILITIES["upbit"].orderbook_depths)


def make_adapter() -> QuotationAdapter:
    # Current docs and wire probes use snake_case is_only_*; trade_date/trade_time are UTC.
    return QuotationAdapter("upbit", Exchange.UPBIT, camel_case_options=False, depths=DEPTHS, date_zone=UTC)
