"""Rendered answers of the polled endpoints, reused for one refresh period.

``/health`` and ``/api/status`` are functions of the newest observation (``web.snapshot_cache``)
and of the time. Rendering one (the health evaluation, the status view, JSON encoding) costs about
a millisecond of the main process, so a poller at 100 requests/s would spend a tenth of a core on
answers that barely differ. An answer is therefore rendered once per observation and refresh
period and then served as it is: the ages in it are at most one period older than the request,
as the snapshot itself is. Thread-safe: concurrent misses may render twice, never serve a mix.
``serve_rendered`` serves them ahead of Flask.
"""
from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

T = TypeVar("T")


class RenderedAnswers:
    def __init__(self, period_us: int, clock: Callable[[], int]) -> None:
        self._period_us = max(1, period_us)
        self._clock = clock
        self._kept: dict[str, tuple[object, int, Any]] = {}
        self.renders = 0

    def get(self, name: str, basis: object, render: Callable[[], T]) -> T:
        """The answer ``name`` for ``basis`` (compared by identity) in the current period."""
        slot = self._clock() // self._period_us
        kept = self._kept.get(name)
        if kept is not None and kept[0] is basis and kept[1] == slot:
            answer: T = kept[2]
            return answer
        self.renders += 1
        fresh = render()
        self._kept[name] = (basis, slot, fresh)  # one assignment: readers see the old or the new entry
        return fresh


Answer = tuple[bytes, int, str]  # body, HTTP status, content type
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Any]


def serve_rendered(wsgi_app: WsgiApp, answers: dict[str, Callable[[], Answer]],
                   guarded: Callable[[str], bool]) -> WsgiApp:
    """WSGI middleware: a plain GET of a polled path that needs no token is answered with its
    rendered answer before Flask sees it (Flask's request handling costs about as much again as
    the HTTP server's). Everything else, a guarded path included, goes to ``wsgi_app``."""
    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        path = environ.get("PATH_INFO", "")
        answer = answers.get(path)
        if answer is None or environ.get("REQUEST_METHOD") != "GET" or guarded(path):
            return wsgi_app(environ, start_response)
        body, status, content_type = answer()
        start_response(f"{status} {HTTPStatus(status).phrase}", [
            ("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
        return [body]

    return app
