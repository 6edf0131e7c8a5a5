"""Following the market list (``markets: all``): codes regrouped across connections, the start-up
retry, the counts, and reading one ``/v1/market/all`` answer."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from domain.state import ConnectionState as S
from messages import ConnectorStats, StateChanged
from monitoring.health import HealthStatus, evaluate
from monitoring.metrics_updater import update_from_snapshot
from supervision.market_discovery import (
    MAX_RETRY_S,
    ExchangeDiscovery,
    change_line,
    connection_changes,
    connection_room,
    read_listing,
    regroup,
    retry_delay_s,
)
from supervision.status_book import StatusBook
from tape.markets import MarketSelection
from tests.unit.monitoring.snapshot_factory import NOW_US, settings, snapshot

pytestmark = pytest.mark.unit


def listing(*codes: str) -> bytes:
    return json.dumps([{"market": c, "korean_name": c, "english_name": c} for c in codes]).encode()


def test_regroup_keeps_codes_in_place_fills_room_then_opens_connections() -> None:
    current = {"upbit-0": ("KRW-A", "KRW-B", "KRW-C"), "upbit-1": ("KRW-D",)}
    plan = regroup("upbit", current, ("KRW-A", "KRW-B", "KRW-C", "KRW-D", "KRW-E", "KRW-F", "KRW-G", "KRW-H"),
                   3, next_index=2)
    assert plan.updates == {"upbit-1": ("KRW-D", "KRW-E", "KRW-F")}  # upbit-0 is untouched: no request sent
    assert plan.new == {"upbit-2": ("KRW-G", "KRW-H")}
    assert plan.stopped == ()


def test_regroup_drops_delisted_codes_and_stops_a_connection_left_empty() -> None:
    current = {"upbit-0": ("KRW-A", "KRW-B"), "upbit-1": ("KRW-C",), "upbit-2": ("KRW-D",)}
    plan = regroup("upbit", current, ("KRW-A", "KRW-D"), 2, next_index=3)
    assert plan.updates == {"upbit-0": ("KRW-A",)}
    assert plan.stopped == ("upbit-1",)
    assert plan.new == {}
    assert regroup("upbit", current, ("KRW-A", "KRW-B", "KRW-C", "KRW-D"), 2, 3).empty


def test_regroup_from_nothing_plans_connections_like_the_static_plan() -> None:
    plan = regroup("bithumb", {}, ("KRW-A", "KRW-B", "KRW-C"), 2, next_index=0)
    assert plan.new == {"bithumb-0": ("KRW-A", "KRW-B"), "bithumb-1": ("KRW-C",)}


def test_start_up_retry_doubles_to_its_cap_and_refreshes_keep_their_period() -> None:
    assert [retry_delay_s(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert retry_delay_s(20) == MAX_RETRY_S
    found = ExchangeDiscovery("upbit", MarketSelection.of("all", ["KRW-X"]), refresh_s=300.0)
    assert found.state() == "waiting"
    found.apply(None, "HTTP 503", NOW_US)
    found.apply(None, "HTTP 503", NOW_US)
    assert found.state() == "retrying" and found.next_request_in_s() == 2.0 and found.markets == ()
    first = found.apply(("KRW-A", "KRW-X", "BTC-A"), "", NOW_US)
    assert first.markets == ("KRW-A",) and found.state() == "following"
    assert found.next_request_in_s() == 300.0
    # The first listing is the start, not a change: nothing counted as added.
    assert (found.refreshes_ok, found.refreshes_failed, found.markets_added) == (1, 2, 0)


def test_a_failed_refresh_keeps_the_last_list_and_is_counted() -> None:
    found = ExchangeDiscovery("upbit", MarketSelection.of("all"), refresh_s=60.0)
    found.apply(("KRW-A", "KRW-B"), "", NOW_US)
    kept = found.apply(None, "TimeoutError: timed out", NOW_US)
    assert kept.failed and kept.markets == ("KRW-A", "KRW-B") and not kept.changed
    assert found.next_request_in_s() == 60.0  # the last list is followed meanwhile
    assert found.status()["refreshes_failed"] == 1 and found.status()["last_error"] == "TimeoutError: timed out"
    moved = found.apply(("KRW-B", "KRW-C"), "", NOW_US)
    assert (moved.added, moved.removed) == (("KRW-C",), ("KRW-A",))
    status = found.status()
    assert (status["markets_added"], status["markets_removed"], status["last_error"]) == (1, 1, "")
    assert "1 new (KRW-C)" in change_line("upbit", moved) and "1 delisted (KRW-A)" in change_line("upbit", moved)


def test_an_answer_is_a_listing_only_when_it_is_whole_and_readable() -> None:
    assert read_listing("upbit", 200, listing("KRW-BTC", "BTC-ETH"), "", ("KRW",)) == (("KRW-BTC",), "")
    assert read_listing("bithumb", 503, b"{}", "", ("KRW",)) == (None, "HTTP 503")
    assert read_listing("upbit", None, b"", "URLError: refused", ("KRW",)) == (None, "URLError: refused")
    bad = json.dumps([{"market": "KRW-BTC"}, {"name": "no code"}]).encode()
    codes, why = read_listing("upbit", 200, bad, "", ("KRW",))
    assert codes is None and why.startswith("unreadable market list")


def test_status_book_retires_a_connection_but_keeps_its_counts_and_forgets_delisted_markets() -> None:
    book = StatusBook(0)
    book.expect_connection("upbit-1", "upbit", ("KRW-A",), 0)
    book.on_connector_stats(ConnectorStats("upbit-1", "upbit", ("KRW-A",), 40, 0, 0, 0, 0, 0, {"KRW-A": 5}))
    book.retire("upbit-1")
    # Its last counts and its DISCONNECTED may still arrive: the totals take them, the status does not.
    book.on_connector_stats(ConnectorStats("upbit-1", "upbit", ("KRW-A",), 50, 0, 0, 0, 0, 0, {}))
    book.on_state(StateChanged("upbit-1", "upbit", S.CONNECTED, S.DISCONNECTED, "stop", 0, 0))
    book.keep_markets("upbit", ())
    snap = book.snapshot(10, True)
    assert snap.connections == {} and snap.total_received == 50 and snap.markets == {}


def test_health_shows_each_market_list() -> None:
    base = snapshot()
    following = {"state": "following", "markets": 2, "last_error": ""}
    retrying = {"state": "retrying", "markets": 0, "last_error": "HTTP 500"}
    stale = {"state": "following", "markets": 2, "last_error": "HTTP 503"}
    for found, status in ((following, HealthStatus.HEALTHY), (retrying, HealthStatus.UNHEALTHY),
                          (stale, HealthStatus.DEGRADED)):
        snap = replace(base, discovery={"upbit": found})
        report = evaluate(snap, NOW_US, settings())
        assert report.components["markets:upbit"].status is status


def test_new_connections_stay_within_the_connection_and_process_limits() -> None:
    assert connection_room(exchange_connections=1, connections=2, producers=2) == 24  # 32 processes in all
    assert connection_room(exchange_connections=49, connections=49, producers=2) == 0
    assert connection_room(exchange_connections=10, connections=26, producers=2) == 0


def test_each_connection_touched_gets_its_own_change_with_what_it_gained_and_lost() -> None:
    current = {"upbit-0": ("KRW-A", "KRW-B"), "upbit-1": ("KRW-C",), "upbit-2": ("KRW-D",)}
    # upbit-1 loses its only code but takes new ones: reused, not stopped and replaced.
    plan = regroup("upbit", current, ("KRW-A", "KRW-D", "KRW-E", "KRW-F", "KRW-G", "KRW-H"), 2, next_index=3)
    changes = {c.connection_id: (c.codes, c.added, c.removed) for c in connection_changes(current, plan)}
    assert changes == {
        "upbit-0": (("KRW-A", "KRW-E"), ("KRW-E",), ("KRW-B",)),
        "upbit-1": (("KRW-F", "KRW-G"), ("KRW-F", "KRW-G"), ("KRW-C",)),
        "upbit-2": (("KRW-D", "KRW-H"), ("KRW-H",), ()),
    }
    shrink = regroup("upbit", current, ("KRW-A",), 2, next_index=3)
    stopped = {c.connection_id: (c.codes, c.added, c.removed) for c in connection_changes(current, shrink)}
    assert stopped == {"upbit-0": (("KRW-A",), (), ("KRW-B",)), "upbit-1": ((), (), ("KRW-C",)),
                       "upbit-2": ((), (), ("KRW-D",))}
    grow = regroup("upbit", {"upbit-0": ("KRW-A",)}, ("KRW-A", "KRW-B", "KRW-C"), 1, next_index=1)
    assert [(c.connection_id, c.added) for c in connection_changes({"upbit-0": ("KRW-A",)}, grow)] == [
        ("upbit-1", ("KRW-B",)), ("upbit-2", ("KRW-C",))]


def test_a_connection_gone_from_the_status_leaves_every_state_gauge_at_zero() -> None:
    base = snapshot()
    update_from_snapshot(base, NOW_US)
    labels = {"connection": "bithumb-0", "exchange": "bithumb", "state": "CONNECTED"}
    assert REGISTRY.get_sample_value("ingestion_connection_state", labels) == 1
    update_from_snapshot(replace(base, connections={"upbit-0": base.connections["upbit-0"]}), NOW_US)
    assert REGISTRY.get_sample_value("ingestion_connection_state", labels) == 0
