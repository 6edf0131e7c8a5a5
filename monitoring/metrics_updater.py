"""Sets the gauges that are best computed from a status snapshot, at scrape time.

``ingestion_seconds_since_last_message`` must keep growing while a market is silent, which no
actor can do (nothing arrives to trigger an update), so the web process sets it from the latest
snapshot just before each scrape. Connection states, consecutive errors and the service info are
set here as well so ``/metrics`` agrees with ``/health``. Buffer depth is set only when asked:
the gauge is summed over processes (``livesum``), so exactly one process may own it.
"""
from __future__ import annotations

from domain.settings import Settings
from domain.state import ConnectionState
from messages import StatusSnapshot
from monitoring import metrics

_US = 1_000_000
# Connections set by this process: one that left the snapshot (stopped when its markets were
# delisted) gets 0 for every state, so it does not stay CONNECTED on the dashboards.
_shown_connections: dict[str, str] = {}


def update_from_snapshot(
    snapshot: StatusSnapshot,
    now_us: int,
    *,
    include_buffer_depth: bool = False,
) -> None:
    for market, last_us in snapshot.markets.items():
        exchange, _, code = market.partition(":")
        since = (now_us - (last_us if last_us > 0 else snapshot.started_us)) / _US
        metrics.SECONDS_SINCE_LAST_MESSAGE.labels(exchange=exchange, market=code).set(max(0.0, since))
    for connection_id, info in snapshot.connections.items():
        current = str(getattr(info.get("state"), "value", info.get("state")))
        for state in ConnectionState:
            metrics.CONNECTION_STATE.labels(
                connection=connection_id, exchange=str(info.get("exchange", "")), state=state.value
            ).set(1 if state.value == current else 0)
    for connection_id in [c for c in _shown_connections if c not in snapshot.connections]:
        exchange = _shown_connections.pop(connection_id)
        for state in ConnectionState:
            metrics.CONNECTION_STATE.labels(connection=connection_id, exchange=exchange, state=state.value).set(0)
    _shown_connections.update({cid: str(info.get("exchange", "")) for cid, info in snapshot.connections.items()})
    for data_type, info in snapshot.producers.items():
        metrics.CONSECUTIVE_ERRORS.labels(data_type=data_type).set(int(info.get("consecutive_failures", 0)))
    if include_buffer_depth:
        for data_type, depth in dict(snapshot.buffer.get("depth", {})).items():
            metrics.BUFFER_DEPTH.labels(data_type=data_type).set(int(depth))


def set_service_info(settings: Settings, version: str) -> None:
    exchanges = ",".join(sorted({e.name for e in settings.exchanges}))
    markets = str(sum(len(e.markets) for e in settings.exchanges))
    if any(e.markets_all for e in settings.exchanges):  # the rest is known once the market lists answer
        markets = f"{markets}+all"
    metrics.SERVICE_INFO.labels(version=version, exchanges=exchanges, markets=markets).set(1)
