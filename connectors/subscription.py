"""Opening one exchange socket and subscribing its codes, and the record of recent subscriptions.

Each subscription request carries a ticket; the last few tickets and their codes are kept so a
report can show which request is active (seed S2.2-l) and what came before it after reconnects.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

from exchanges.base import ExchangeAdapter
from messages.config import ExchangeConfig

KEPT_TICKETS = 16


class SubscriptionTickets(OrderedDict[str, tuple[str, ...]]):
    """Ticket -> codes of recent subscription requests, oldest first, at most ``KEPT_TICKETS``."""

    def remember(self, ticket: str, codes: tuple[str, ...]) -> None:
        self[ticket] = codes
        while len(self) > KEPT_TICKETS:
            self.popitem(last=False)


def open_and_subscribe(
    ws: Any, config: ExchangeConfig, adapter: ExchangeAdapter, codes: tuple[str, ...], tickets: SubscriptionTickets
) -> None:
    """Blocking handshake plus subscription; the socket is left non-blocking."""
    if config.tls_ca_file:  # this CA file replaces the system's trust store
        ws.sock_opt.sslopt["ca_certs"] = config.tls_ca_file
    # No Origin header: Upbit throttles requests carrying one to 1 per 10 s (protocols §1.2).
    ws.connect(config.ws_url, timeout=config.connect_timeout_s, suppress_origin=True)
    request = adapter.subscription_request(
        codes, config.data_types, fmt=config.format, depth=config.orderbook_depth
    )
    ws.send(request.text)
    ws.settimeout(0)
    tickets.remember(request.ticket, request.codes)
