"""The Flask app served in the actor system's main process: health, metrics, status API, dashboard.

Every endpoint reads the snapshot cache (``web.snapshot_cache``), never the actors directly, so
answers take bounded time and polling adds no load on the actors; the polled answers are rendered
once per refresh period (``web.rendered_answers``), so polling costs the main process little.
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

from domain.clock import utc_now_us
from domain.settings import Settings
from messages import StatusSnapshot
from monitoring import health, metrics_updater, multiprocess_collect
from web import auth, metrics_view, status_view
from web.rendered_answers import Answer, RenderedAnswers, serve_rendered
from web.snapshot_cache import Observation, SnapshotCache

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
    answers = RenderedAnswers(int(refresh_s * 1e6), utc_now_us)
    app.extensions["krwfeed.rendered_answers"] = answers
    probe = _CachedProbe(kafka_probe) if kafka_probe is not None else None
    metrics_updater.set_service_info(settings, version)
    app.extensions["krwfeed.snapshot_cache"] = cache

    token = settings.web.token.value if settings.web.token else None

    def guarded(path: str) -> bool:
        return token is not None and auth.needs_token(path, settings.web.auth_scope)

    @app.before_request
    def require_token() -> Response | None:
        if token is None or not guarded(request.path):
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

    def encoded(body: dict[str, Any]) -> bytes:
        return (app.json.dumps(body) + "\n").encode()

    def render_health(latest: Observation | None) -> tuple[bytes, int]:
        result = health.evaluate(latest.snapshot if latest else None, utc_now_us(), settings)
        return encoded({**result.to_dict(), "version": version}), result.http_status

    def render_status(latest: Observation | None) -> tuple[bytes, int]:
        result = health.evaluate(latest.snapshot if latest else None, utc_now_us(), settings)
        body: dict[str, Any]
        if latest is None:
            body = {"health": result.to_dict(), "running": False, "connections": [], "markets": []}
        else:
            body = status_view.build(cache.window(), result)
        body["version"] = version
        # How often the actor system was asked: lets operators (and tests) see that polling is absorbed.
        body["status_queries"] = cache.provider_calls
        return encoded(body), 200 if latest is not None else 503

    def health_answer() -> Answer:
        latest = cache.latest()
        body, status = answers.get("health", latest, lambda: render_health(latest))
        return body, status, HEALTH_JSON

    def status_answer() -> Answer:
        latest = cache.latest()
        body, status = answers.get("status", latest, lambda: render_status(latest))
        return body, status, "application/json"

    def respond(answer: Answer) -> Response:
        body, status, content_type = answer
        return _no_store(Response(body, status=status, content_type=content_type))

    @app.get("/health")
    def health_full() -> Response:
        return respond(health_answer())

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
        return respond(status_answer())

    @app.get("/")
    def dashboard() -> str:
        return render_template("dashboard.html", version=version, refresh_ms=1000)

    # The polled answers skip Flask (the routes above serve the same answers to everything else).
    app.wsgi_app = serve_rendered(app.wsgi_app, {"/health": health_answer, "/api/status": status_answer},  # type: ignore[method-assign, assignment]
                                  guarded)
    return app
