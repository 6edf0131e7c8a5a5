"""Which state change of a connection makes which event on the exchange's events topic.

Pure: the caller passes each transition with the time it was noticed and the time of the last
data read on the connection (UTC microseconds).

* the first CONNECTED of a connection (its first subscription) -> CONNECTED, no interval;
* CONNECTED -> RECONNECTING or DISCONNECTED (a drop, a stall, a close frame, a stop) ->
  DISCONNECTED, from the last data read (or the connection's start, when none came since) to when
  the drop was noticed;
* CONNECTED again after a drop -> RESUBSCRIBED, over the time away: from the drop's ``from``
  (the last data read before it) to the new subscription. Nothing streamed in between, so this
  is the stretch a REST backfill has to cover.

Every other transition (connecting, a failed attempt, FAILED, a stop while away) makes none: the
drop was reported when it happened, and the next event is the return.
"""
from __future__ import annotations

from domain.records import ConnectionEventKind, ConnectionEventRecord, Exchange
from domain.state import ConnectionState as S


class ConnectionEvents:
    def __init__(self, exchange: Exchange, connection_id: str, codes: tuple[str, ...]) -> None:
        self.exchange = exchange
        self.connection_id = connection_id
        self.codes = codes
        self.connected_once = False
        self.connected_at_us = 0  # when the current connection subscribed
        self.away_from_us: int | None = None  # the last data read before the current drop

    def on_transition(self, old: S, new: S, reason: str, at_us: int, last_data_us: int) -> ConnectionEventRecord | None:
        if new is S.CONNECTED:
            self.connected_at_us = at_us
            if not self.connected_once:
                self.connected_once = True
                return self._event(ConnectionEventKind.CONNECTED, at_us, reason=reason)
            away_from = self.away_from_us if self.away_from_us is not None else at_us
            self.away_from_us = None
            return self._event(ConnectionEventKind.RESUBSCRIBED, at_us, away_from, at_us, reason)
        if old is S.CONNECTED and new in (S.RECONNECTING, S.DISCONNECTED):
            from_us = min(max(last_data_us, self.connected_at_us), at_us)
            self.away_from_us = from_us
            return self._event(ConnectionEventKind.DISCONNECTED, at_us, from_us, at_us, reason)
        return None

    def _event(self, kind: ConnectionEventKind, at_us: int, from_us: int | None = None, to_us: int | None = None,
               reason: str = "") -> ConnectionEventRecord:
        return ConnectionEventRecord(self.exchange, self.connection_id, kind, at_us, self.codes, from_us, to_us,
                                     reason=reason)


def lost_process_event(exchange: Exchange, connection_id: str, codes: tuple[str, ...], state: str,
                       last_data_us: int, since_us: int, now_us: int) -> ConnectionEventRecord | None:
    """The DISCONNECTED of a connection whose connector process died while it was connected (the
    process could not say so itself): from its last data read (or, with none since, when it
    connected) to when the exit was noticed. None when it was not connected; the restarted
    connector's first subscription is then a CONNECTED of its own."""
    if state != S.CONNECTED.value:
        return None
    from_us = min(max(last_data_us, since_us), now_us)
    return ConnectionEventRecord(exchange, connection_id, ConnectionEventKind.DISCONNECTED, now_us, codes, from_us,
                                 now_us, reason="connector process exited")
