"""When the connector actor (re)connects: each attempt waits for the supervisor's ``ConnectPermit``,
which paces connects under the exchanges' per-IP limits, and a retry is armed from the backoff
delay whenever the connection is RECONNECTING. A lost permit request does not strand the
connection: after ``PERMIT_WAIT_S`` it connects anyway."""
from __future__ import annotations

from actors.connector_base import ConnectorActorBase, connector_log
from actors.connector_reading import DrainSocket
from messages.exceptions import ConnectionException, ConnectionFailedException
from messages.protocol import ConnectRequest
from messages.state import ConnectionState as S

PERMIT_WAIT_S = 10.0  # no permit by then (lost request): connect anyway
PERMIT_TIMEOUT = "permit-timeout"


class ConnectPacing(ConnectorActorBase):
    def _request_connect(self) -> None:
        assert self.start is not None
        if self.stopped:
            return
        if self.start.supervisor is None:
            self._connect_now()
            return
        self.permit_requests += 1
        self.awaiting_permit = self.permit_requests
        self.send(self.start.supervisor, ConnectRequest(self.start.connection_id, self.start.exchange_config.name))
        self.wakeupAfter(PERMIT_WAIT_S, (PERMIT_TIMEOUT, self.awaiting_permit))

    def _permit_granted(self) -> None:
        if self.awaiting_permit and not self.stopped:
            self.awaiting_permit = 0
            self._connect_now()

    def _permit_timed_out(self) -> None:
        assert self.connector is not None
        connector_log().warning("%s: no connect permit within %.0f s; connecting anyway",
                                self.connector.connection_id, PERMIT_WAIT_S)
        self.awaiting_permit = 0
        self._connect_now()

    def _connect_now(self) -> None:
        assert self.connector is not None
        try:
            self.connector.connect()  # blocks for at most connect_timeout_s
        except ConnectionFailedException as err:
            connector_log().error("%s: giving up: %s", self.connector.connection_id, err)
        except ConnectionException as err:
            connector_log().warning("%s: %s", self.connector.connection_id, err)
        if self.connector.state is S.CONNECTED:
            # The handshake may have pulled the first frames into the TLS buffer: read them now.
            self.send(self.myAddress, DrainSocket())
        self._arm_retry()

    def _arm_retry(self) -> None:
        connector = self.connector
        if connector is None or self.stopped or self.retry_armed or connector.state is not S.RECONNECTING:
            return
        self.retry_armed = True
        self.wakeupAfter(connector.next_retry_s or 0.0, "retry")
