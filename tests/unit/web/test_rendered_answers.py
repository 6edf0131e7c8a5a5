"""Polled answers rendered once per observation and refresh period (seed S3.3-e)."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from web.rendered_answers import RenderedAnswers
from web.server import WEB_NICENESS, lower_thread_priority


class Clock:
    def __init__(self) -> None:
        self.us = 1_000_000

    def __call__(self) -> int:
        return self.us


def test_S3_3_e_an_answer_is_rendered_once_per_observation_and_period() -> None:
    clock = Clock()
    answers = RenderedAnswers(500_000, clock)
    basis = object()
    calls: list[int] = []

    def render() -> tuple[bytes, int]:
        calls.append(1)
        return b"{}", 200

    for _ in range(100):
        assert answers.get("health", basis, render) == (b"{}", 200)
    assert len(calls) == 1
    answers.get("status", basis, render)  # each endpoint has its own answer
    assert len(calls) == 2
    clock.us += 500_000  # the period turned: ages in the answer would be a period old
    answers.get("health", basis, render)
    assert len(calls) == 3
    answers.get("health", object(), render)  # a new observation
    assert len(calls) == 4
    answers.get("health", None, render)  # no observation is an answer too
    answers.get("health", None, render)
    assert len(calls) == 5 and answers.renders == 5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_S3_3_e_the_web_threads_priority_is_lowered_and_no_other_threads() -> None:
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []

    def web_thread() -> None:
        assert lower_thread_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=web_thread)
    thread.start()
    thread.join()
    assert seen == [max(before, WEB_NICENESS)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_S3_3_e_plain_gets_of_polled_paths_are_served_ahead_of_the_app_and_nothing_else() -> None:
    from web.rendered_answers import serve_rendered

    behind: list[str] = []

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        behind.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return [b"app"]

    wrapped = serve_rendered(app, {"/health": lambda: (b'{"status":"DOWN"}', 503, "application/health+json"),
                                   "/api/status": lambda: (b"{}", 200, "application/json")},
                             guarded=lambda path: path == "/api/status")
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        started.append((status, headers))

    assert wrapped({"REQUEST_METHOD": "GET", "PATH_INFO": "/health"}, start_response) == [b'{"status":"DOWN"}']
    assert started == [("503 Service Unavailable", [("Content-Type", "application/health+json"),
                                                    ("Content-Length", "17"), ("Cache-Control", "no-store")])]
    for method, path in (("GET", "/api/status"), ("HEAD", "/health"), ("GET", "/metrics")):
        assert wrapped({"REQUEST_METHOD": method, "PATH_INFO": path}, start_response) == [b"app"]
    assert behind == ["GET /api/status", "HEAD /health", "GET /metrics"]  # a guarded path asks for its token
