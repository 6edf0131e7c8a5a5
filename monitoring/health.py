"""Health evaluation: a status snapshot, the current time and the settings -> a ``HealthReport``.

Pure code (no I/O, no clock): the web layer passes ``now_us`` so the rules are testable.
Rules:
  * no snapshot (the actor system did not answer) or the service not running -> UNHEALTHY
  * any configured connection not CONNECTED                                    -> UNHEALTHY
  * Kafka publishing failing (a producer with consecutive failures)            -> DEGRADED,
    naming the cause (authentication failed, broker unreachable, timed out, ...)
  * a market without a message for ``web.stale_after_s`` (60 s)                -> DEGRADED
The overall status is the worst component; only HEALTHY answers HTTP 200, the rest 503.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from domain.settings import Settings
from domain.state import ConnectionState
from messages import StatusSnapshot

_US = 1_000_000


class HealthStatus(StrEnum):
    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    UNHEALTHY = "UNHEALTHY"


_RANK = {HealthStatus.HEALTHY: 0, HealthStatus.DEGRADED: 1, HealthStatus.UNHEALTHY: 2}


def worst(statuses: list[HealthStatus]) -> HealthStatus:
    return max(statuses, key=_RANK.__getitem__, default=HealthStatus.HEALTHY)


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    status: HealthStatus
    reason: str


@dataclass(frozen=True, slots=True)
class MarketFreshness:
    age_s: float | None  # None: no message yet
    stale: bool


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: HealthStatus
    components: dict[str, ComponentHealth]
    markets: dict[str, MarketFreshness] = field(default_factory=dict)
    checked_at_us: int = 0

    @property
    def http_status(self) -> int:
        return 200 if self.status is HealthStatus.HEALTHY else 503

    def reasons(self) -> list[str]:
        return [f"{name}: {c.reason}" for name, c in self.components.items() if c.status is not HealthStatus.HEALTHY]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "checked_at_us": self.checked_at_us,
            "reasons": self.reasons(),
            "components": {n: {"status": c.status.value, "reason": c.reason} for n, c in self.components.items()},
            "markets": {
                m: {"age_s": None if f.age_s is None else round(f.age_s, 3), "stale": f.stale}
                for m, f in self.markets.items()
            },
        }


def evaluate(snapshot: StatusSnapshot | None, now_us: int, settings: Settings) -> HealthReport:
    if snapshot is None:
        down = ComponentHealth(HealthStatus.UNHEALTHY, "the actor system did not answer the status query")
        return HealthReport(HealthStatus.UNHEALTHY, {"service": down}, checked_at_us=now_us)
    components: dict[str, ComponentHealth] = {"service": _service(snapshot)}
    components.update(_connections(snapshot))
    components.update(_discovery(snapshot))
    components["kafka"] = _kafka(snapshot)
    markets = market_freshness(snapshot, now_us, settings.web.stale_after_s)
    components["freshness"] = _freshness(markets, settings.web.stale_after_s)
    status = worst([c.status for c in components.values()])
    return HealthReport(status, components, markets, checked_at_us=now_us)


def _service(snapshot: StatusSnapshot) -> ComponentHealth:
    if not snapshot.running:
        return ComponentHealth(HealthStatus.UNHEALTHY, "the service is not running")
    return ComponentHealth(HealthStatus.HEALTHY, "running")


def _connections(snapshot: StatusSnapshot) -> dict[str, ComponentHealth]:
    if not snapshot.connections:
        return {"connections": ComponentHealth(HealthStatus.UNHEALTHY, "no connection is running")}
    result: dict[str, ComponentHealth] = {}
    for connection_id, info in sorted(snapshot.connections.items()):
        state = _state_name(info.get("state"))
        if state == ConnectionState.CONNECTED.value:
            result[f"connection:{connection_id}"] = ComponentHealth(HealthStatus.HEALTHY, "CONNECTED")
        else:
            why = info.get("reason") or "no reason given"
            result[f"connection:{connection_id}"] = ComponentHealth(HealthStatus.UNHEALTHY, f"{state}: {why}")
    return result


def _discovery(snapshot: StatusSnapshot) -> dict[str, ComponentHealth]:
    """``markets: all`` exchanges: unhealthy until the first market list, degraded while refreshes fail
    (the last list is still followed)."""
    result: dict[str, ComponentHealth] = {}
    for exchange, info in sorted(snapshot.discovery.items()):
        error = info.get("last_error") or ""
        if info.get("state") != "following":
            why = f"; last attempt: {error}" if error else ""
            result[f"markets:{exchange}"] = ComponentHealth(
                HealthStatus.UNHEALTHY, f"waiting for the market list, retrying{why}")
        elif error:
            result[f"markets:{exchange}"] = ComponentHealth(
                HealthStatus.DEGRADED, f"market list refresh failed ({error}); following the last list of "
                f"{info.get('markets', 0)} markets")
        else:
            result[f"markets:{exchange}"] = ComponentHealth(
                HealthStatus.HEALTHY, f"following {info.get('markets', 0)} markets")
    return result


def _state_name(state: Any) -> str:
    # Snapshots may carry the enum or its string value.
    return str(state.value if isinstance(state, ConnectionState) else state)


def _kafka(snapshot: StatusSnapshot) -> ComponentHealth:
    failing = {
        data_type: info
        for data_type, info in sorted(snapshot.producers.items())
        if int(info.get("consecutive_failures", 0)) > 0
    }
    if not failing:
        return ComponentHealth(HealthStatus.HEALTHY, "publishing")
    parts = [_kafka_reason(dt, info) for dt, info in failing.items()]
    return ComponentHealth(HealthStatus.DEGRADED, "; ".join(parts))


def _kafka_reason(data_type: str, info: dict[str, Any]) -> str:
    """E.g. "orderbook: broker unreachable for 12 s, 4 consecutive failures (KafkaTimeoutError ...)":
    the cause first, since an authentication failure needs a person and a timeout may pass."""
    cause = info.get("cause") or "failing"
    failing_for = float(info.get("failing_for_s", 0.0))
    return (f"{data_type}: {cause} for {failing_for:.0f} s, {int(info['consecutive_failures'])} consecutive "
            f"failures ({info.get('last_error') or 'unknown error'})")


def market_freshness(snapshot: StatusSnapshot, now_us: int, stale_after_s: float) -> dict[str, MarketFreshness]:
    """Age of each market's last record. A market that never received one counts from the start."""
    markets = dict(snapshot.markets)
    for info in snapshot.connections.values():
        for code in info.get("codes", ()):
            markets.setdefault(f"{info.get('exchange', '?')}:{code}", 0)
    result: dict[str, MarketFreshness] = {}
    for market, last_us in sorted(markets.items()):
        if last_us > 0:
            age = max(0.0, (now_us - last_us) / _US)
            result[market] = MarketFreshness(age, age > stale_after_s)
        else:
            waited = (now_us - snapshot.started_us) / _US
            result[market] = MarketFreshness(None, waited > stale_after_s)
    return result


def _freshness(markets: dict[str, MarketFreshness], stale_after_s: float) -> ComponentHealth:
    stale = [m for m, f in markets.items() if f.stale]
    if not stale:
        return ComponentHealth(HealthStatus.HEALTHY, f"every market had a message in the last {stale_after_s:g} s")
    shown = ", ".join(stale[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10 else "")
    return ComponentHealth(HealthStatus.DEGRADED, f"no message for over {stale_after_s:g} s: {shown}")


def readiness(snapshot: StatusSnapshot | None, kafka_reachable: bool | None) -> ComponentHealth:
    """Ready = Kafka reachable and every connection up. ``kafka_reachable`` None: no probe, use the producers."""
    if snapshot is None:
        return ComponentHealth(HealthStatus.UNHEALTHY, "the actor system did not answer the status query")
    if kafka_reachable is False:
        return ComponentHealth(HealthStatus.UNHEALTHY, "Kafka is not reachable")
    if kafka_reachable is None and _kafka(snapshot).status is not HealthStatus.HEALTHY:
        return ComponentHealth(HealthStatus.UNHEALTHY, "Kafka publishing is failing")
    down = [c for c in _connections(snapshot).values() if c.status is not HealthStatus.HEALTHY]
    if down:
        return ComponentHealth(HealthStatus.UNHEALTHY, "; ".join(c.reason for c in down))
    return ComponentHealth(HealthStatus.HEALTHY, "Kafka reachable and every connection up")
