"""Which state change of a connection makes which event (connectors.connection_events)."""
from __future__ import annotations

import pytest

from connectors.connection_events import ConnectionEvents
from domain.records import ConnectionEventKind as K
from domain.records import Exchange
from domain.state import ConnectionState as S

pytestmark = pytest.mark.unit
CODES = ("KRW-BTC", "KRW-ETH")


def rule() -> ConnectionEvents:
    return ConnectionEvents(Exchange.UPBIT, "upbit-0", CODES)


def test_the_first_subscription_is_connected_without_an_interval() -> None:
    events = rule()
    assert events.on_transition(S.DISCONNECTED, S.CONNECTING, "connect", 10, 0) is None
    event = events.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 20, 0)
    assert event is not None
    assert (event.kind, event.exchange, event.connection_id, event.codes) == (K.CONNECTED, Exchange.UPBIT,
                                                                              "upbit-0", CODES)
    assert (event.event_time_us, event.from_time_us, event.to_time_us) == (20, None, None)


def test_a_drop_is_disconnected_from_the_last_data_read_to_when_it_was_noticed() -> None:
    events = rule()
    events.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 100, 0)
    event = events.on_transition(S.CONNECTED, S.RECONNECTING, "connection closed by the server", 900, 750)
    assert event is not None and event.kind is K.DISCONNECTED
    assert (event.from_time_us, event.to_time_us, event.event_time_us) == (750, 900, 900)
    assert event.reason == "connection closed by the server"


def test_a_drop_before_any_data_since_subscribing_starts_at_the_subscription() -> None:
    events = rule()
    events.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 100, 0)
    events.on_transition(S.CONNECTED, S.RECONNECTING, "stall", 200, 150)
    events.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 500, 150)
    # data last read at 150 belongs to the previous connection: this one started at 500
    event = events.on_transition(S.CONNECTED, S.RECONNECTING, "stall", 800, 150)
    assert event is not None and (event.from_time_us, event.to_time_us) == (500, 800)


def test_coming_back_is_resubscribed_over_the_time_away() -> None:
    events = rule()
    events.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 100, 0)
    events.on_transition(S.CONNECTED, S.RECONNECTING, "drop", 900, 750)
    # failed attempts in between make no events
    assert events.on_transition(S.RECONNECTING, S.CONNECTING, "connect", 1000, 750) is None
    assert events.on_transition(S.CONNECTING, S.RECONNECTING, "connect failed", 1100, 750) is None
    assert events.on_transition(S.RECONNECTING, S.CONNECTING, "connect", 1200, 750) is None
    event = events.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 1300, 750)
    assert event is not None and event.kind is K.RESUBSCRIBED
    assert (event.from_time_us, event.to_time_us, event.event_time_us) == (750, 1300, 1300)
    # and the next drop is again a DISCONNECTED, the return a RESUBSCRIBED: never CONNECTED twice
    assert events.on_transition(S.CONNECTED, S.RECONNECTING, "drop", 2000, 1900).kind is K.DISCONNECTED  # type: ignore[union-attr]
    assert events.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 2500, 1900).kind is K.RESUBSCRIBED  # type: ignore[union-attr]


def test_a_stop_while_connected_is_a_disconnect_and_a_stop_while_away_makes_nothing() -> None:
    events = rule()
    events.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 100, 0)
    stopped = events.on_transition(S.CONNECTED, S.DISCONNECTED, "stop requested", 400, 300)
    assert stopped is not None and stopped.kind is K.DISCONNECTED and (stopped.from_time_us, stopped.to_time_us) == (
        300, 400)
    away = rule()
    away.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 100, 0)
    away.on_transition(S.CONNECTED, S.RECONNECTING, "drop", 200, 150)
    assert away.on_transition(S.RECONNECTING, S.DISCONNECTED, "stop requested", 300, 150) is None
    assert away.on_transition(S.RECONNECTING, S.FAILED, "budget spent", 300, 150) is None


def test_every_event_of_the_rule_serialises_and_reads_back_the_same() -> None:
    from proto.serializer import event_to_record, parse_event, serialize_event

    events = rule()
    made = [events.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 1_700_000_000_000_000, 0),
            events.on_transition(S.CONNECTED, S.RECONNECTING, "drop", 1_700_000_005_000_000, 1_700_000_004_000_000),
            events.on_transition(S.CONNECTING, S.CONNECTED, "subscribed", 1_700_000_006_000_000, 0)]
    for event in made:
        assert event is not None
        assert event_to_record(parse_event(serialize_event(event))) == event


def test_a_connector_process_that_dies_connected_is_disconnected_from_its_last_data() -> None:
    from connectors.connection_events import lost_process_event

    event = lost_process_event(Exchange.BITHUMB, "bithumb-0", CODES, "CONNECTED", 700, 100, 900)
    assert event is not None and event.kind is K.DISCONNECTED
    assert (event.connection_id, event.codes, event.from_time_us, event.to_time_us, event.event_time_us) == (
        "bithumb-0", CODES, 700, 900, 900)
    assert event.reason == "connector process exited"
    # no data since it connected at 800: the interval starts there
    assert lost_process_event(Exchange.BITHUMB, "bithumb-0", CODES, "CONNECTED", 700, 800, 900).from_time_us == 800  # type: ignore[union-attr]
    assert lost_process_event(Exchange.BITHUMB, "bithumb-0", CODES, "RECONNECTING", 700, 100, 900) is None
