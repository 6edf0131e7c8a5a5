"""Opening one exchange socket and subscribing its codes, and the record of recent subscriptions.

Each subscription request carries a ticket; the last few tickets are kept with their codes, data
types, the time they were sent and the time data first came under them, so a report can show which
request is active, whether it delivers, and what came before it after reconnects (seed S2.2-l).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from exchanges.base import ExchangeAdapter
from messages.config import ExchangeConfig
from messages.protocol import TicketReport
from messages.records import EncodedRecord
from pipeline.utc_clock import utc_now_us

KEPT_TICKETS = 16


@dataclass(slots=True)
class _Ticket:
    codes: tuple[str, ...]
    data_types: tuple[str, ...]
    sent_us: int
    first_data_by_type_us: dict[str, int] = field(default_factory=dict)


class SubscriptionTickets:
    """Recent subscription requests of one connection, oldest first, at most ``KEPT_TICKETS``.

    Records read after a request was sent belong to it: a connection carries one request, and a
    new request goes out only on a new socket, once the old one's frames are all read. Noting
    data costs one attribute test per drain once every subscribed data type has arrived, so the
    frame path pays nothing for it. ``version`` changes whenever the report would.
    """

    def __init__(self, now_us: Callable[[], int] = utc_now_us) -> None:
        self._now_us = now_us
        self._tickets: OrderedDict[str, _Ticket] = OrderedDict()
        self._missing: set[str] = set()  # data types of the newest ticket with no record yet
        self.waiting = False  # the newest ticket still misses a data type
        self.version = 0

    def remember(self, ticket: str, codes: tuple[str, ...], data_types: Iterable[str] = ()) -> None:
        types = tuple(data_types)
        self._tickets[ticket] = _Ticket(tuple(codes), types, self._now_us())
        while len(self._tickets) > KEPT_TICKETS:
            self._tickets.popitem(last=False)
        self._missing = set(types)
        self.waiting = bool(types)
        self.version += 1

    def data(self, records: Iterable[EncodedRecord]) -> None:
        """Records just read: the newest ticket's first record of each data type is timed."""
        missing = self._missing
        if not missing or not self._tickets:
            return
        first = self._tickets[next(reversed(self._tickets))].first_data_by_type_us
        now = 0
        for record in records:
            data_type = record.data_type
            if data_type in missing:
                missing.discard(data_type)
                now = now or self._now_us()
                first[data_type] = now
                if not missing:
                    break
        if now:
            self.waiting = bool(missing)
            self.version += 1

    def codes(self) -> dict[str, tuple[str, ...]]:
        """Ticket -> codes, the active ticket last."""
        return {ticket: t.codes for ticket, t in self._tickets.items()}

    def report(self) -> tuple[TicketReport, ...]:
        return tuple(
            TicketReport(ticket, t.codes, t.data_types, t.sent_us,
                         min(t.first_data_by_type_us.values(), default=0), dict(t.first_data_by_type_us))
            for ticket, t in self._tickets.items()
        )

    def __len__(self) -> int:
        return len(self._tickets)


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
    tickets.remember(request.ticket, request.codes, config.data_types)
