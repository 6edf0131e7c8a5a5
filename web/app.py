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

from flask import Flask, Response, jsonify, render_template, request
from prometheus_client import CONTENT_TYPE_LATEST

from messages.clock import utc_now_us
from messages.protocol import StatusSnapshot
from messages.settings import Settings
from monitoring import health, metrics_updater, multiprocess_collect
from web import auth, metrics_view, status_view
from web.snapshot_cache import SnapshotCache

HEALTH_JSON = "application/health+json"
access_log = logging.getLogger("krwfeed.web.access")


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


POLLED = re.compile(r"^/(health(/live|/ready)?|metrics|api/status)$")


def is_polled(path: str) -> bool:
    """Monitors and the dashboard poll these: one log line per poll would bury the service's own
    events and, at hundreds of checks per second, cost the CPU that ingestion needs."""
    return POLLED.match(path) is not None


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
    version = service_version()
    cache = SnapshotCache(
        status_provider,
        lambda: metrics_view.read(multiprocess_collect.families(metrics_dir)),
        refresh_s=refresh_s,
    )
    probe = _CachedProbe(kafka_probe) if kafka_probe is not None else None
    metrics_updater.set_service_info(settings, version)
    app.extensions["krwfeed.snapshot_cache"] = cache

    token = settings.web.token.value if settings.web.token else None

    @app.before_request
    def require_token() -> Response | None:
        if token is None or not auth.needs_token(request.path, settings.web.auth_scope):
            return None
        if auth.token_matches(request.headers.get("Authorization"), token):
            return None
        denied = Response("authentication required\n", status=401, content_type="text/plain")
        denied.headers["WWW-Authenticate"] = auth.CHALLENGE
        return _no_store(denied)

    @app.after_request
    def log_access(response: Response) -> Response:
        if not is_polled(request.path) or response.status_code == 401:
            access_log.info("%s %s %s %d", request.remote_addr, request.method, request.path,
                            response.status_code)
        return response

    def report() -> health.HealthReport:
        latest = cache.latest()
        return health.evaluate(latest.snapshot if latest else None, utc_now_us(), settings)

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
            metrics_updater.update_from_snapshot(latest.snapshot, utc_now_us())
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
