"""``stream_market_data()`` for plain (non-actor) use: a generator over one connector.

It runs the same steps the actor runs on messages: drain when readable, tick for pings and
stalls, sleep out the backoff and reconnect. A loop, not recursion, so any number of drops in a
row costs no stack (seed S2.2-h). Waiting uses ``select`` on the socket, which is only safe
because ``drain()`` always empties the TLS buffer first.
"""
from __future__ import annotations

import selectors
import threading
from collections.abc import Generator
from typing import TYPE_CHECKING

from messages.exceptions import ConnectionException, ConnectionFailedException
from messages.records import EncodedRecord
from messages.state import ConnectionState as S

if TYPE_CHECKING:
    from connectors.websocket_connector import WebSocketConnector

# Upper bound of one wait, so a disconnect() from another thread is noticed promptly.
_MAX_WAIT_S = 0.5


def stream(connector: WebSocketConnector, max_frames: int) -> Generator[EncodedRecord, None, None]:
    try:
        while True:
            state = connector.state
            if state is S.CONNECTED:
                result = connector.drain(max_frames)
                yield from result.records
                if result.lost or result.more or connector.tick():
                    continue
                wait_readable(connector, connector.next_tick_in(), connector.wake_event)
            elif state is S.RECONNECTING:
                if not connector.wait_for_retry():
                    return
                try:
                    connector.connect()
                except ConnectionFailedException:
                    raise
                except ConnectionException:
                    continue  # RECONNECTING again with a longer delay
            elif state is S.FAILED:
                raise ConnectionFailedException(
                    "reconnect budget spent", exchange=connector.config.name,
                    connection=connector.connection_id, last_error=connector.last_reason,
                )
            else:  # DISCONNECTED: disconnect() was called
                return
    finally:
        # Leaving the loop early (consumer closed the generator, or an error) releases the socket.
        if connector.state is not S.FAILED:
            connector.disconnect("stream ended")


def wait_readable(connector: WebSocketConnector, timeout: float, wake: threading.Event) -> None:
    """Block until the socket is readable, ``timeout`` passed, or ``disconnect()`` was called."""
    fd = connector.fileno()
    if fd is None or wake.is_set():
        return
    selector = selectors.DefaultSelector()
    try:
        selector.register(fd, selectors.EVENT_READ)
        selector.select(min(max(timeout, 0.0), _MAX_WAIT_S))
    except (OSError, ValueError):
        pass  # closed by another thread meanwhile: the caller rereads the state
    finally:
        selector.close()
