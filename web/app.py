"""The Flask app served in the actor system's main process: health, metrics, status API, dashboard.

Every endpoint reads the snapshot cache (``web.snapshot_cache``), never the actors directly, so
answers take bounded time and polling adds no load on ingestion.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

from flask import Flask, Response, jsonify, render_template
from prometheus_client import CONTENT_TYPE_LATEST

from messages.protocol import StatusSnapshot
from messages.settings import Settings
from monitoring import health, metrics_updater, multiprocess_collect
from web import metrics_view, status_view
from web.snapshot_cache import SnapshotCache, wall_us

HEALTH_JSON = "application/health+json"


def service_version() -> str:
    try:
        return metadata.version("krwfeed")
    except metadata.PackageNotFoundError:
        return "0.0.0"


class _CachedProbe:
    """Calls a possibly slow probe (a TCP connect to Kafka) at most once per ``ttl_s``."""

    def __init__(self, probe: Callable[[], bool], ttl_s: float = 2.0) -> None:
        self._probe, self._ttl_s = probe, ttl_s
        self._lock = threading.Lock()
        self._value: bool | None = None
        self._at = 0.0

    def __call__(self) -> bool | None:
        if time.monotonic() - self._at >= self._ttl_s and self._lock.acquire(blocking=self._value is None):
            try:
                try:
                    self._value = bool(self._probe())
                except Exception:
                    self._value = False
                self._at = time.monotonic()
            finally:
                self._lock.release()
        return self._value


class QuietPollingAccessLog(logging.Filter):
    """Drops werkzeug's access-log lines for the endpoints that monitors and the dashboard poll.
    One stdout line per health check would bury the service's own events and, at hundreds of
    checks per second, cost the CPU that ingestion needs; other requests are still logged."""

    POLLED = re.compile(r'"GET /(health(/live|/ready)?|metrics|api/status)[ ?]')

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        return not self.POLLED.search(message)


def _quiet_polling_access_log() -> None:
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, QuietPollingAccessLog) for f in access_log.filters):
        access_log.addFilter(QuietPollingAccessLog())


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def create_app(
    status_provider: Callable[[], StatusSnapshot | None],
    *,
    settings: Settings,
    metrics_dir: str | None,
    kafka_probe: Callable[[], bool] | None = None,
    refresh_s: float = 0.5,
) -> Flask:
    app = Flask(__name__)
    _quiet_polling_access_log()
    version = service_version()
    cache = SnapshotCache(
        status_provider,
        lambda: metrics_view.read(multiprocess_collect.families(metrics_dir)),
        refresh_s=refresh_s,
    )
    probe = _CachedProbe(kafka_probe) if kafka_probe is not None else None
    metrics_updater.set_service_info(settings, version)
    app.extensions["krwfeed.snapshot_cache"] = cache

    def report() -> health.HealthReport:
        latest = cache.latest()
        return health.evaluate(latest.snapshot if latest else None, wall_us(), settings)

    @app.get("/health")
    def health_full() -> Response:
        result = report()
        body = {**result.to_dict(), "version": version}
        response = jsonify(body)
        response.status_code = result.http_status
        response.content_type = HEALTH_JSON
        return _no_store(response)

    @app.get("/health/live")
    def health_live() -> Response:
        response = jsonify({"status": "HEALTHY", "reason": "the process serves requests"})
        response.content_type = HEALTH_JSON
        return _no_store(response)

    @app.get("/health/ready")
    def health_ready() -> Response:
        latest = cache.latest()
        ready = health.readiness(latest.snapshot if latest else None, probe() if probe else None)
        response = jsonify({"status": ready.status.value, "reason": ready.reason})
        response.status_code = 200 if ready.status is health.HealthStatus.HEALTHY else 503
        response.content_type = HEALTH_JSON
        return _no_store(response)

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        latest = cache.latest()
        if latest is not None:
            metrics_updater.update_from_snapshot(latest.snapshot, wall_us())
        return Response(multiprocess_collect.exposition(metrics_dir), content_type=CONTENT_TYPE_LATEST)

    @app.get("/api/status")
    def api_status() -> Response:
        result = report()
        latest = cache.latest()
        body: dict[str, Any]
        if latest is None:
            body = {"health": result.to_dict(), "running": False, "connections": [], "markets": []}
        else:
            body = status_view.build(cache.window(), result)
        body["version"] = version
        # How often the actor system was asked: lets operators (and tests) see that polling is absorbed.
        body["status_queries"] = cache.provider_calls
        response = jsonify(body)
        response.status_code = 200 if latest is not None else 503
        return _no_store(response)

    @app.get("/")
    def dashboard() -> str:
        return render_template("dashboard.html", version=version, refresh_ms=1000)

    return app
