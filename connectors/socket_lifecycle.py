"""Connecting, losing and closing one exchange socket: the state side of ``WebSocketConnector``.

Rules kept here: the state is set before any exception is raised; every failure path releases
the socket; ``connect()`` is idempotent and never opens a second socket; ``disconnect()`` is safe
in every state, including while a handshake is under way in another thread; losing a connection
is a state change plus a scheduled retry, never a recursive call.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from connectors.backoff import Backoff
from connectors.connection_log import StateLog
from connectors.liveness import Liveness
from connectors.socket_ops import abort, close, release
from connectors.subscription import SubscriptionTickets, open_and_subscribe
from exchanges.base import ExchangeAdapter
from messages.config import ExchangeConfig
from messages.exceptions import ConnectionException, ConnectionFailedException
from messages.state import ConnectionState as S


class SocketLifecycle:
    """Mixed into ``WebSocketConnector``, which sets these attributes up."""

    config: ExchangeConfig
    adapter: ExchangeAdapter
    connection_id: str
    codes: tuple[str, ...]
    backoff: Backoff
    liveness: Liveness
    tickets: SubscriptionTickets
    next_retry_s: float | None
    reconnects: int
    last_reason: str
    _ws_factory: Callable[[], Any]
    _clock: Callable[[], float]
    _close_timeout_s: float
    _lock: threading.RLock
    _wake: threading.Event
    _ws: Any
    _handshaking: Any
    _was_connected: bool
    _log: StateLog

    @property
    def state(self) -> S:
        return self._log.state

    def connect(self) -> None:
        """Open the socket and subscribe. Does nothing while connecting or connected.

        On failure the state becomes RECONNECTING (``next_retry_s`` says when to try again) and
        ``ConnectionException`` is raised, or FAILED with ``ConnectionFailedException`` when the
        retry budget is spent.
        """
        with self._lock:
            state = self.state
            if state in (S.CONNECTING, S.CONNECTED):
                return
            if state is S.FAILED:
                raise ConnectionFailedException(
                    "reconnect budget spent", exchange=self.config.name, connection=self.connection_id
                )
            if state is S.RECONNECTING and not self.backoff.begin_attempt():
                self._fail("reconnect budget spent")
                self._log.flush()
                raise ConnectionFailedException(
                    "reconnect budget spent", exchange=self.config.name, connection=self.connection_id,
                    attempts=self.backoff.attempts,
                )
            ws = self._handshaking = self._ws_factory()
            self._wake.clear()
            self._log.move(S.CONNECTING, "connect", self.backoff.attempts)
        self._log.flush()
        try:
            open_and_subscribe(ws, self.config, self.adapter, self.codes, self.tickets)
        except Exception as err:  # any handshake failure: release, schedule a retry, report
            self._after_failed_handshake(ws, err)
            return
        with self._lock:
            self._handshaking = None
            if self.state is not S.CONNECTING:  # disconnect() ran during the handshake
                release(ws)
                return
            self._ws = ws
            now = self._clock()
            self.liveness.start(now)
            self.backoff.connected(now)
            self.next_retry_s = None
            if self._was_connected:
                self.reconnects += 1
            self._was_connected = True
            self._log.move(S.CONNECTED, "subscribed", self.backoff.attempts)
        self._log.flush()

    def _after_failed_handshake(self, ws: Any, err: Exception) -> None:
        with self._lock:
            self._handshaking = None
            release(ws)
            if self.state is not S.CONNECTING:  # disconnect() won: nothing to report
                return
            reason = f"connect failed: {type(err).__name__}: {err}"
            failed = self._schedule_retry(reason)
        self._log.flush()
        context = {"exchange": self.config.name, "connection": self.connection_id, "url": self.config.ws_url}
        if failed:
            raise ConnectionFailedException("connecting failed and the retry budget is spent", **context) from err
        raise ConnectionException("connecting failed; a retry is scheduled", retry_in_s=self.next_retry_s,
                                  **context) from err

    def _schedule_retry(self, reason: str) -> bool:
        """Move to RECONNECTING with a backoff delay, or to FAILED. True when FAILED."""
        self.last_reason = reason
        delay = self.backoff.next_delay()
        if delay is None:
            if self.state is S.CONNECTED:  # CONNECTED -> FAILED is not a valid move
                self._log.move(S.RECONNECTING, reason, self.backoff.attempts)
            self._fail(reason)
            return True
        self._log.move(S.RECONNECTING, reason, self.backoff.attempts)
        self.next_retry_s = delay
        return False

    def _fail(self, reason: str) -> None:
        self.next_retry_s = None
        self._log.move(S.FAILED, f"retry budget spent; last error: {reason}", self.backoff.attempts)

    def _lose(self, reason: str) -> None:
        """The connected socket is gone (drop, close frame, stall, error frame): retry later."""
        with self._lock:
            if self.state is not S.CONNECTED:
                return
            ws, self._ws = self._ws, None
            self.backoff.disconnected(self._clock())
            release(ws)
            self._schedule_retry(reason)

    def disconnect(self, reason: str = "disconnect requested") -> None:
        """Close and release everything; safe in any state and from another thread."""
        with self._lock:
            self._wake.set()
            state = self.state
            ws, self._ws = self._ws, None
            handshaking, self._handshaking = self._handshaking, None
            if state is not S.DISCONNECTED:
                self.next_retry_s = None
                self._log.move(S.DISCONNECTED, reason, self.backoff.attempts)
        # Sockets are closed outside the lock: a close handshake may take up to close_timeout_s.
        if handshaking is not None:
            abort(handshaking)  # the thread in connect() sees the state and gives up
        if ws is not None:
            close(ws, self._close_timeout_s)
        self._log.flush()
