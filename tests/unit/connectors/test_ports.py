"""Seed S1.4 and S1.5 on the classes the service runs: the connector's interface, idempotent
connect, and the publisher interface."""
from __future__ import annotations

import typing
from collections.abc import Generator

import pytest

from connectors.websocket_connector import WebSocketConnector
from domain.market_data import MarketDataMessage
from domain.state import ConnectionState
from publishers.base import MessagePublisher
from tests.unit.connectors.fakes import FakeAdapter, SocketFactory, config, encode
from tests.unit.publishers.test_kafka_publisher_callbacks import make as kafka_publisher

pytestmark = pytest.mark.unit
PORT = ("connect", "disconnect", "stream_market_data", "get_connection_state")


def connector(sockets: SocketFactory | None = None) -> WebSocketConnector:
    return WebSocketConnector(config(), FakeAdapter(), encode=encode, ws_factory=sockets or SocketFactory())


def test_S1_4_a_connector_interface_has_connect_disconnect_stream_state() -> None:
    real = connector()
    assert all(callable(getattr(real, name)) for name in PORT)
    assert not any(hasattr(object(), name) for name in PORT)
    for name in PORT:
        assert callable(getattr(WebSocketConnector, name))


def test_S1_4_c_stream_is_an_iterator_of_market_data_messages() -> None:
    # The connection the service runs streams the MarketDataMessage values the actors carry to Kafka.
    hints = typing.get_type_hints(WebSocketConnector.stream_market_data)
    assert hints["return"] == Generator[MarketDataMessage, None, None]


def test_S1_4_d_connect_is_idempotent() -> None:
    sockets = SocketFactory()
    real = connector(sockets)
    for _ in range(3):
        real.connect()
    assert len(sockets.made) == 1 and real.get_connection_state() is ConnectionState.CONNECTED
    real.disconnect()
    real.disconnect()  # also safe twice
    assert real.get_connection_state() is ConnectionState.DISCONNECTED


def test_S1_5_message_publisher_interface() -> None:
    publisher, producer = kafka_publisher()
    assert isinstance(publisher, MessagePublisher)
    assert not isinstance(connector(), MessagePublisher)
    publisher.publish([MarketDataMessage("upbit", "trade", "KRW-BTC", b"x", 1)])
    assert producer.sent[0][1] == b"KRW-BTC"
