"""Seed S1.4 and S1.5: the connector and publisher interfaces, idempotent connect."""
from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.backoff import ReconnectBudget
from messages.lifecycle import ConnectionLifecycle
from messages.market_data import MarketDataMessage
from messages.ports import MarketDataConnector, MessagePublisher
from messages.records import EncodedRecord
from messages.state import ConnectionState

pytestmark = pytest.mark.unit


class FakeConnector:
    def __init__(self) -> None:
        self.lifecycle = ConnectionLifecycle(ReconnectBudget(0))
        self.opened = 0

    def connect(self) -> None:
        if self.lifecycle.connect():
            self.opened += 1
            self.lifecycle.connected(0.0)

    def disconnect(self) -> None:
        self.lifecycle.disconnect()

    def stream(self) -> Iterator[MarketDataMessage]:
        yield MarketDataMessage("upbit", "trade", "KRW-BTC", b"{}", datetime.now(UTC))

    def get_connection_state(self) -> ConnectionState:
        return self.lifecycle.state


def test_S1_4_a_connector_interface_has_connect_disconnect_stream_state() -> None:
    assert isinstance(FakeConnector(), MarketDataConnector)
    assert not isinstance(object(), MarketDataConnector)
    for name in ("connect", "disconnect", "stream", "get_connection_state"):
        assert callable(getattr(MarketDataConnector, name))


def test_S1_4_c_stream_is_an_iterator_of_market_data_messages() -> None:
    hints = typing.get_type_hints(MarketDataConnector.stream)
    assert hints["return"] == Iterator[MarketDataMessage]


def test_S1_4_d_connect_is_idempotent() -> None:
    connector = FakeConnector()
    for _ in range(3):
        connector.connect()
    assert connector.opened == 1 and connector.get_connection_state() is ConnectionState.CONNECTED
    lifecycle = ConnectionLifecycle(ReconnectBudget(0))
    assert lifecycle.connect() is True and lifecycle.connect() is False  # second call while CONNECTING
    lifecycle.disconnect()
    lifecycle.disconnect()  # also safe twice
    assert lifecycle.state is ConnectionState.DISCONNECTED


def test_S1_5_message_publisher_interface() -> None:
    class Publisher:
        def __init__(self) -> None:
            self.sent: list[tuple[str, EncodedRecord]] = []

        def publish(self, topic: str, record: EncodedRecord) -> None:
            self.sent.append((topic, record))

        def flush(self, timeout_s: float) -> int:
            return 0

        def close(self) -> None:
            pass

    publisher = Publisher()
    assert isinstance(publisher, MessagePublisher)
    assert not isinstance(FakeConnector(), MessagePublisher)
    publisher.publish("market.upbit.trade", EncodedRecord("upbit", "trade", "KRW-BTC", b"x", 1))
    assert publisher.sent[0][1].code == "KRW-BTC"
