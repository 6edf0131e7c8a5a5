"""The ticket book of one connection (seed S2.2-l): what was sent, when, and when data first came."""
from __future__ import annotations

import itertools

from connectors.websocket_connector import KEPT_TICKETS, SubscriptionTickets
from domain.market_data import MarketDataMessage
from tests.unit.connectors.fakes import book, trade
from tests.unit.connectors.test_websocket_connector import Harness


def record(data_type: str, code: str = "KRW-BTC") -> MarketDataMessage:
    return MarketDataMessage("upbit", data_type, code, b"", 1)


def clock(start: int = 1_000) -> itertools.count[int]:
    return itertools.count(start)


def test_S2_2_l_a_ticket_records_its_codes_types_and_send_time_then_first_data_per_type() -> None:
    now = clock()
    tickets = SubscriptionTickets(lambda: next(now))
    tickets.remember("t1", ("KRW-BTC", "KRW-ETH"), ("trade", "orderbook"))
    [sent] = tickets.report()
    assert (sent.ticket, sent.codes, sent.data_types, sent.sent_us, sent.first_data_us) == (
        "t1", ("KRW-BTC", "KRW-ETH"), ("trade", "orderbook"), 1000, 0)
    assert tickets.waiting
    tickets.data([record("orderbook"), record("orderbook")])
    assert tickets.report()[0].first_data_by_type_us == {"orderbook": 1001}
    assert tickets.waiting  # trades still to come
    tickets.data([record("orderbook"), record("trade"), record("trade")])
    [done] = tickets.report()
    assert done.first_data_by_type_us == {"orderbook": 1001, "trade": 1002}
    assert done.first_data_us == 1001
    assert not tickets.waiting  # from here on, drains skip the ticket book


def test_S2_2_l_only_first_arrivals_change_the_report_version() -> None:
    tickets = SubscriptionTickets(lambda: 5)
    tickets.remember("t1", ("KRW-BTC",), ("trade",))
    v = tickets.version
    tickets.data([record("orderbook")])  # not subscribed under this ticket: nothing to note
    assert tickets.version == v
    tickets.data([record("trade")])
    assert tickets.version == v + 1
    tickets.data([record("trade")])
    assert tickets.version == v + 1


def test_S2_2_l_a_new_ticket_starts_without_data_and_old_ones_keep_theirs() -> None:
    now = clock()
    tickets = SubscriptionTickets(lambda: next(now))
    tickets.remember("t1", ("KRW-BTC",), ("trade",))
    tickets.data([record("trade")])
    tickets.remember("t2", ("KRW-BTC",), ("trade",))
    old, new = tickets.report()
    assert (old.ticket, old.first_data_us) == ("t1", 1001)
    assert (new.ticket, new.first_data_us) == ("t2", 0) and tickets.waiting
    tickets.data([record("trade")])
    assert tickets.report()[1].first_data_us == 1003
    assert tickets.codes() == {"t1": ("KRW-BTC",), "t2": ("KRW-BTC",)}


def test_S2_2_l_at_most_the_last_kept_tickets_are_reported() -> None:
    tickets = SubscriptionTickets(lambda: 1)
    for i in range(KEPT_TICKETS + 3):
        tickets.remember(f"t{i}", ("KRW-BTC",), ("trade",))
    assert len(tickets) == KEPT_TICKETS
    assert [t.ticket for t in tickets.report()][-1] == f"t{KEPT_TICKETS + 2}"
    assert tickets.report()[0].ticket == "t3"


def test_S2_2_l_the_connector_times_data_under_the_ticket_of_the_socket_it_came_on() -> None:
    h = Harness(backoff_initial_s=0.01, data_types=("trade", "orderbook"))
    h.connector.connect()
    first = h.sockets.last
    [sent] = h.connector.ticket_report()
    assert sent.ticket == h.adapter.requests[0].ticket and sent.first_data_us == 0
    assert set(sent.data_types) == {"trade", "orderbook"}
    first.feed(trade("KRW-BTC", 1), book("KRW-ETH"))
    h.connector.drain()
    [got] = h.connector.ticket_report()
    assert set(got.first_data_by_type_us) == {"trade", "orderbook"} and got.first_data_us >= got.sent_us
    first.inbox.append(ConnectionResetError("peer reset"))
    h.connector.drain()
    h.clock.advance(1.0)
    h.connector.connect()
    old, new = h.connector.ticket_report()
    assert old.ticket == got.ticket and new.ticket == h.adapter.requests[1].ticket
    assert new.first_data_us == 0
    h.sockets.last.feed(trade("KRW-BTC", 2))
    h.connector.drain()
    assert set(h.connector.ticket_report()[1].first_data_by_type_us) == {"trade"}
