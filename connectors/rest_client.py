"""The exchange's REST API for an actor that must never block: GETs run on a worker thread, and each
answer wakes the actor through a socket pair whose read end it watches (``ThespianWatch``).

The actor calls ``submit(tag, path, query)``; when ``fileno()`` is readable it calls ``collect()``,
which returns every answer finished so far as a ``RestAnswer`` carrying the same tag. Nothing here
parses a body: that is ``exchanges.rest``'s job.

Bounds, so that no answer can hang or bloat the owner: a per-request timeout (connect and each
read), a cap on the body size (a larger body is an error, never read whole), and a cap on requests
waiting (``submit`` refuses beyond it rather than queueing without end). A 429 answer carries its
``Retry-After`` in seconds when the exchange sends one, so the caller can pause every request.
"""
from __future__ import annotations

import contextlib
import queue
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024  # a 500-tick page is about 120 KB; a market list about 60 KB
DEFAULT_MAX_PENDING = 1024
USER_AGENT = "krwfeed"


@dataclass(frozen=True, slots=True)
class RestAnswer:
    """One finished request. ``status`` is the HTTP status, or None when no answer came (then
    ``error`` says why: timeout, refused, too large, ...)."""

    tag: Hashable
    status: int | None
    body: bytes = b""
    error: str = ""
    elapsed_s: float = 0.0
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error

    @property
    def rate_limited(self) -> bool:
        return self.status == 429


class RestClient:
    """GETs against one base URL (``https://api.upbit.com``), answered through ``collect()``."""

    def __init__(self, base_url: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_pending: int = DEFAULT_MAX_PENDING,
                 workers: int = 1, ca_file: str | None = None) -> None:
        if timeout_s <= 0 or max_body_bytes <= 0 or max_pending <= 0 or workers <= 0:
            raise ValueError("timeout_s, max_body_bytes, max_pending and workers must be positive")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self.max_pending = max_pending
        # ``ca_file`` replaces the system trust store for https (as ``tls_ca_file`` does for wss).
        self._tls = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self._requests: queue.Queue[tuple[Hashable, str] | None] = queue.Queue()
        self._answers: deque[RestAnswer] = deque()
        self._lock = threading.Lock()
        self._pending = 0
        self._in_flight = 0  # requests submitted and not finished (queued or running)
        self._closed = False
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._threads = [threading.Thread(target=self._work, name=f"rest-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def fileno(self) -> int:
        """The descriptor to watch: readable while answers wait in ``collect()``."""
        return self._wake_read.fileno()

    @property
    def pending(self) -> int:
        """Requests submitted and not yet collected."""
        return self._pending

    @property
    def in_flight(self) -> int:
        """Requests submitted and not finished, queued or running, also after ``close()`` until each
        ends. An owner that forks waits for 0: a thread inside a request may hold locks (TLS, name
        lookup) that a forked child would inherit held."""
        with self._lock:
            return self._in_flight

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        return f"{self.base_url}{path}" + (f"?{urlencode(query)}" if query else "")

    def submit(self, tag: Hashable, path: str, query: Mapping[str, str] | None = None) -> bool:
        """Queue one GET; False (and nothing queued) when closed or ``max_pending`` wait already."""
        with self._lock:
            if self._closed or self._pending >= self.max_pending:
                return False
            self._pending += 1
            self._in_flight += 1
        self._requests.put((tag, self.url(path, query)))
        return True

    def collect(self) -> list[RestAnswer]:
        """Every answer finished since the last call, in the order they finished."""
        with contextlib.suppress(BlockingIOError, OSError):
            while self._wake_read.recv(4096):
                pass
        with self._lock:
            answers = list(self._answers)
            self._answers.clear()
            self._pending -= len(answers)
        return answers

    def close(self) -> None:
        """Stop the workers; a request under way ends at its timeout, its answer is discarded."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        while True:  # requests not started yet never will be
            try:
                item = self._requests.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                with self._lock:
                    self._in_flight -= 1
        for _ in self._threads:
            self._requests.put(None)
        for sock in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                sock.close()

    def _work(self) -> None:
        while True:
            item = self._requests.get()
            if item is None:  # close()
                return
            tag, url = item
            try:
                answer = self._get(tag, url)
            finally:
                with self._lock:
                    self._in_flight -= 1
            with self._lock:
                if self._closed:
                    return
                self._answers.append(answer)
            with contextlib.suppress(BlockingIOError, OSError):
                self._wake_write.send(b"\x01")  # a full pair means the owner is already woken

    def _get(self, tag: Hashable, url: str) -> RestAnswer:
        started = time.monotonic()
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
        status: int | None = None
        retry_after: float | None = None
        try:
            try:
                response = urllib.request.urlopen(request, timeout=self.timeout_s, context=self._tls)  # noqa: S310 (https/http only, checked in config)
            except urllib.error.HTTPError as err:
                response = err
            with response:
                status = int(response.status)
                retry_after = _seconds(response.headers.get("Retry-After"))
                body = response.read(self.max_body_bytes + 1)
            if len(body) > self.max_body_bytes:
                return RestAnswer(tag, status, b"", f"body larger than {self.max_body_bytes} bytes",
                                  time.monotonic() - started, retry_after)
            return RestAnswer(tag, status, body, "", time.monotonic() - started, retry_after)
        except Exception as err:  # every failure is an answer: timeout, refused, TLS, reset
            reason = getattr(err, "reason", None)
            text = f"{type(err).__name__}: {reason if reason is not None else err}"
            return RestAnswer(tag, status, b"", text, time.monotonic() - started, retry_after)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None
