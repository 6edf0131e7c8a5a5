"""The dashboard's model: the latest snapshot, its health, and rates over the recent window."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from monitoring.health import HealthReport
from web.metrics_view import bucket_delta, quantile
from web.snapshot_cache import Observation

_US = 1_000_000
CHART_SPAN_S = 900  # the dashboard's chart: messages per second per exchange over the last 15 minutes
CHART_KINDS = ("DISCONNECTED", "RESUBSCRIBED", "GAP", "BACKFILLED")  # the events it marks


def _per_s(new: float, old: float, seconds: float) -> float | None:
    return None if seconds <= 0 else max(0.0, new - old) / seconds


def _plain(value: Any) -> Any:
    """Enums and tuples inside the snapshot dicts, as JSON-friendly values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return getattr(value, "value", value)


def build(window: list[Observation], report: HealthReport) -> dict[str, Any]:
    newest, oldest = window[-1], window[0]
    snap, old = newest.snapshot, oldest.snapshot
    seconds = (newest.at_us - oldest.at_us) / _US
    health = report.to_dict()
    connections = []
    for cid, info in sorted(snap.connections.items()):
        before = old.connections.get(cid, {})
        connections.append(
            {
                "id": cid,
                **_plain(info),
                "rate_per_s": _per_s(info.get("received", 0), before.get("received", 0), seconds),
                "for_s": None if not info.get("since_us") else max(0.0, (snap.now_us - info["since_us"]) / _US),
            }
        )
    markets = []
    for market, fresh in health["markets"].items():
        count = newest.reading.market_counts.get(market)
        before_count = oldest.reading.market_counts.get(market, 0.0)
        markets.append(
            {
                "market": market,
                "age_s": fresh["age_s"],
                "stale": fresh["stale"],
                "rate_per_s": None if count is None else _per_s(count, before_count, seconds),
            }
        )
    latency = bucket_delta(newest.reading.publish_latency_buckets, oldest.reading.publish_latency_buckets)
    if not any(latency.values()):  # nothing published in the window: show the totals since start
        latency = newest.reading.publish_latency_buckets
    return {
        "health": health,
        "window_s": round(seconds, 3),
        "started_us": snap.started_us,
        "now_us": snap.now_us,
        "running": snap.running,
        "totals": {"received": snap.total_received, "published": snap.total_published,
                   # the REST backfill after reconnects: trades recovered, markets left with a gap
                   "backfilled": sum(int(c.get("backfilled", 0)) for c in snap.connections.values()),
                   "gaps": sum(int(c.get("gaps", 0)) for c in snap.connections.values())},
        "rates": {
            "received_per_s": _per_s(snap.total_received, old.total_received, seconds),
            "published_per_s": _per_s(snap.total_published, old.total_published, seconds),
        },
        "connections": connections,
        "markets": markets,
        "drops": drops_by_reason(newest),
        "publish_latency_s": {
            "p50": quantile(0.5, latency),
            "p99": quantile(0.99, latency),
            "count": max(latency.values(), default=0.0),
        },
        "producers": _plain(snap.producers),
        "buffer": _plain(snap.buffer),
        "processes": [dict(p) for p in snap.processes],
        "events": events_view(snap.events),
        "chart": chart_view(snap.rate_history, snap.events, snap.now_us),
        "discovery": _plain(snap.discovery),
    }


def events_view(events: dict[str, Any]) -> dict[str, Any]:
    """The events producer's counts per exchange, for the dashboard and monitors."""
    return {"enabled": bool(events.get("enabled", False)),
            "by_exchange": _plain(events.get("by_exchange", {})),
            "consecutive_failures": int(events.get("consecutive_failures", 0)),
            "last_error": str(events.get("last_error", "")), "cause": str(events.get("cause", "")),
            "in_flight": int(events.get("in_flight", 0))}


def chart_view(history: dict[str, Any], events: dict[str, Any], now_us: int) -> dict[str, Any]:
    """What the dashboard's chart draws: the rate points and the events to mark, in the span."""
    oldest = now_us - CHART_SPAN_S * _US
    points = [p for p in history.get("points", []) if int(p["t_us"]) >= oldest]
    marks = [dict(e) for e in events.get("recent", [])
             if e.get("kind") in CHART_KINDS and int(e.get("at_us") or 0) >= oldest]
    return {"span_s": CHART_SPAN_S, "bucket_s": history.get("bucket_s"), "now_us": now_us,
            "points": _plain(points), "events": _plain(marks)}


def drops_by_reason(observation: Observation) -> dict[str, float]:
    """The buffer's drops ("reason:data_type" -> n) merged with the dropped-records metric by reason."""
    reasons: dict[str, float] = defaultdict(float)
    for key, count in dict(observation.snapshot.buffer.get("dropped", {})).items():
        reasons[str(key).split(":", 1)[0]] += count
    for reason, count in observation.reading.dropped_by_reason.items():
        reasons[reason] = max(reasons[reason], count)  # the same drop may appear in both sources
    for reason in ("malformed", "duplicates"):
        total = sum(float(i.get(reason, 0)) for i in observation.snapshot.connections.values())
        if total:
            reasons[reason] = max(reasons.get(reason, 0.0), total)
    return dict(sorted(reasons.items()))
