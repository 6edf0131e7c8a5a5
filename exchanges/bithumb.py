"""Bithumb's public WebSocket v1 (wss://ws-api.bithumb.com/websocket/v1), an Upbit-style protocol.

Differences handled: camelCase ``isOnly*`` options (snake_case is ignored on the wire), orderbook
timestamps in microseconds (trade timestamps stay milliseconds; ``epoch_to_us`` tells them apart by
magnitude), trade_date/trade_time in KST, and books of at most 15 levels.
"""
from __future__ import annotations

from domain.capabilities import CAPABILITIES
from domain.records import Exchange
from exchanges.fields import KST
from exchanges.quotation import QuotationAdapter

WS_URL = "wss://ws-api.bithumb.com/websocket/v1"
REST_URL = "https://api.bithumb.com"
DEPTHS = frozenset(CAPABILITIES["bithumb"].orderbook_depths)


def make_adapter() -> QuotationAdapter:
    return QuotationAdapter("bithumb", Exchange.BITHUMB, camel_case_options=True, depths=DEPTHS, date_zone=KST)
