"""Each subscription ticket of a connection mapped to the state of its subscription (seed S2.2-l).

A connection carries one subscription request at a time: the newest ticket is the live one while
the connection is CONNECTED, and every older ticket was replaced by a resubscription, on a new
socket after a reconnect or on the open one when the market list changed its codes. Pure: the status book calls it with the connector's last ticket report and the
connection's current state, so a lost connection shows at once, without a new report.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain.state import ConnectionState
from messages import TicketReport

AWAITING_DATA = "awaiting_data"  # live: sent on the connected socket, no record under it yet
STREAMING = "streaming"  # live: records have arrived under it
LOST = "lost"  # the newest ticket, its connection no longer connected (a resubscription follows)
REPLACED = "replaced"  # a newer ticket was sent since (on a later socket, or with new codes)


def utc_text(us: int) -> str | None:
    """UTC microseconds as ISO 8601 with a Z, or None for 0 ("not yet")."""
    if not us:
        return None
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def ticket_state(newest: bool, connection_state: str, first_data_us: int) -> str:
    if not newest:
        return REPLACED
    if connection_state != ConnectionState.CONNECTED.value:
        return LOST
    return STREAMING if first_data_us else AWAITING_DATA


def ticket_rows(tickets: Sequence[TicketReport], connection_state: str) -> list[dict[str, Any]]:
    """The connection's tickets, oldest first, as the status shows them."""
    rows = []
    for i, t in enumerate(tickets):
        state = ticket_state(i == len(tickets) - 1, connection_state, t.first_data_us)
        rows.append({
            "ticket": t.ticket, "state": state, "live": state in (AWAITING_DATA, STREAMING),
            "codes": list(t.codes), "data_types": list(t.data_types),
            "sent_us": t.sent_us, "sent_utc": utc_text(t.sent_us),
            "data_arrived": bool(t.first_data_us),
            "first_data_us": t.first_data_us or None, "first_data_utc": utc_text(t.first_data_us),
            "first_data_by_type_us": dict(t.first_data_by_type_us),
            "awaiting_types": [d for d in t.data_types if d not in t.first_data_by_type_us],
        })
    return rows
