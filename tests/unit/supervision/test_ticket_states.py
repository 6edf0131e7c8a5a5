"""Tickets mapped to their subscription's state in the supervisor's status (seed S2.2-l)."""
from __future__ import annotations

from domain.state import ConnectionState as S
from messages import StateChanged, SubscriptionReport, TicketReport
from supervision.status_book import StatusBook
from supervision.ticket_states import AWAITING_DATA, LOST, REPLACED, STREAMING, ticket_rows, utc_text

OLD = TicketReport("t1", ("KRW-BTC",), ("trade", "orderbook"), 1_700_000_000_000_000, 1_700_000_000_250_000,
                   {"trade": 1_700_000_000_250_000, "orderbook": 1_700_000_000_300_000})
NEW = TicketReport("t2", ("KRW-BTC",), ("trade", "orderbook"), 1_700_000_010_000_000)


def test_S2_2_l_the_newest_ticket_is_live_while_connected_and_older_ones_are_replaced() -> None:
    rows = ticket_rows((OLD, NEW), S.CONNECTED.value)
    assert [(r["ticket"], r["state"], r["live"]) for r in rows] == [("t1", REPLACED, False), ("t2", AWAITING_DATA, True)]
    assert rows[0]["data_arrived"] and not rows[1]["data_arrived"]
    assert rows[1]["first_data_us"] is None and rows[1]["awaiting_types"] == ["trade", "orderbook"]
    assert rows[0]["sent_utc"] == "2023-11-14T22:13:20.000000Z"
    assert rows[0]["first_data_utc"] == "2023-11-14T22:13:20.250000Z"


def test_S2_2_l_a_ticket_with_data_streams_and_is_lost_with_its_connection() -> None:
    assert ticket_rows((OLD,), S.CONNECTED.value)[0]["state"] == STREAMING
    for state in (S.RECONNECTING, S.DISCONNECTED, S.FAILED, S.CONNECTING):
        [row] = ticket_rows((OLD,), state.value)
        assert (row["state"], row["live"]) == (LOST, False)
    assert ticket_rows((), S.CONNECTED.value) == []
    assert utc_text(0) is None


def test_S2_2_l_the_status_snapshot_shows_each_connections_tickets_in_its_current_state() -> None:
    book = StatusBook(0)
    book.expect_connection("upbit-0", "upbit", ("KRW-BTC",), 0)
    book.on_subscriptions(SubscriptionReport("upbit-0", {"t1": ("KRW-BTC",)}, (OLD,)))
    book.on_state(StateChanged("upbit-0", "upbit", S.CONNECTING, S.CONNECTED, "subscribed", 1))
    [row] = book.snapshot(2, True).connections["upbit-0"]["tickets"]
    assert (row["ticket"], row["state"]) == ("t1", STREAMING)
    book.on_state(StateChanged("upbit-0", "upbit", S.CONNECTED, S.RECONNECTING, "dropped", 3))
    assert book.snapshot(4, True).connections["upbit-0"]["tickets"][0]["state"] == LOST
    book.on_subscriptions(SubscriptionReport("upbit-0", {}, (OLD, NEW)))
    book.on_state(StateChanged("upbit-0", "upbit", S.CONNECTING, S.CONNECTED, "subscribed", 5))
    states = [r["state"] for r in book.snapshot(6, True).connections["upbit-0"]["tickets"]]
    assert states == [REPLACED, AWAITING_DATA]
