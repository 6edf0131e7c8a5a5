"""What the dashboard's chart and events table get from the status (web.status_view)."""
from __future__ import annotations

import pytest

from web.status_view import CHART_SPAN_S, chart_view, events_view

pytestmark = pytest.mark.unit
S = 1_000_000
NOW = 10_000 * S


def row(kind: str, at_s: float, **extra: object) -> dict[str, object]:
    return {"kind": kind, "exchange": "upbit", "connection_id": "upbit-0", "at_us": int(at_s * S), **extra}


def test_the_chart_keeps_the_last_15_minutes_of_points_and_marks_drops_returns_gaps_and_backfills() -> None:
    history = {"bucket_s": 10.0, "points": [{"t_us": NOW - 1000 * S, "rates": {"upbit": 5.0}},
                                            {"t_us": NOW - 10 * S, "rates": {"upbit": 7.0, "bithumb": 3.0}}]}
    recent = [row("DISCONNECTED", 10_000 - 1000), row("CONNECTED", 10_000 - 60), row("DISCONNECTED", 10_000 - 50),
              row("RESUBSCRIBED", 10_000 - 49), row("GAP", 10_000 - 40, from_us=1, to_us=2, trades_recovered=3),
              row("BACKFILLED", 10_000 - 39), row("MARKETS_CHANGED", 10_000 - 30)]
    chart = chart_view(history, {"recent": recent}, NOW)
    assert chart["span_s"] == CHART_SPAN_S == 900 and chart["now_us"] == NOW and chart["bucket_s"] == 10.0
    assert chart["points"] == [{"t_us": NOW - 10 * S, "rates": {"upbit": 7.0, "bithumb": 3.0}}]
    assert [e["kind"] for e in chart["events"]] == ["DISCONNECTED", "RESUBSCRIBED", "GAP", "BACKFILLED"]
    assert chart["events"][2]["trades_recovered"] == 3


def test_the_chart_of_a_service_without_history_or_events_is_empty() -> None:
    assert chart_view({}, {}, NOW) == {"span_s": 900, "bucket_s": None, "now_us": NOW, "points": [], "events": []}


def test_the_events_view_gives_the_counts_per_exchange_and_whether_events_are_on() -> None:
    counts = {"upbit": {"published": 3, "failed": 1, "gaps": 2, "backfilled_trades": 40}}
    view = events_view({"enabled": True, "by_exchange": counts, "consecutive_failures": 1, "last_error": "x",
                        "cause": "timed out", "in_flight": 0, "recent": [row("GAP", 1)]})
    assert view == {"enabled": True, "by_exchange": counts, "consecutive_failures": 1, "last_error": "x",
                    "cause": "timed out", "in_flight": 0}
    assert events_view({})["enabled"] is False
