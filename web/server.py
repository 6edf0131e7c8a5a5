"""The web interface's HTTP server: waitress, in a thread of the main process.

waitress reads each request completely in its I/O loop before one of its worker threads runs the
app, so a slow or silent client holds a connection slot, never a worker, and is dropped after
``CHANNEL_TIMEOUT_S`` without activity; the number of connections and the request sizes are
capped. (werkzeug's development server gave every connection a thread with no timeout.)

The server's threads run at a lower CPU priority (``WEB_NICENESS``) than the rest of the service:
on a busy machine a health check may wait a few milliseconds for a core, ingestion does not wait
for health checks. (Linux sets the priority per thread; elsewhere it is left as it is.)
"""
from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from waitress.server import create_server

THREADS = 4  # the endpoints answer from a cache in well under a millisecond
CONNECTION_LIMIT = 64
CHANNEL_TIMEOUT_S = 10  # an idle or stalled connection is closed after this long
CLEANUP_INTERVAL_S = 2  # how often idle connections are looked for
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024  # no endpoint takes a body
WEB_NICENESS = 10  # CFS gives a nice-10 thread about a tenth of a nice-0 one's share when both want a core
_local = threading.local()


def lower_thread_priority(niceness: int = WEB_NICENESS) -> bool:
    """Lowers the calling thread's CPU priority (Linux only: there a thread id names one thread);
    never raises it (a service started nicer than ``niceness`` stays as it is)."""
    if not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, max(niceness, os.getpriority(os.PRIO_PROCESS, tid)))
    except OSError:
        return False
    return True


def low_priority(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """WSGI middleware: each of waitress's worker threads lowers its priority on its first request."""
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not getattr(_local, "lowered", False):
            _local.lowered = True
            lower_thread_priority()
        return app(environ, start_response)

    return wrapped


class WebServer:
    def __init__(self, app: Any, host: str, port: int) -> None:
        self._server = create_server(
            low_priority(app), host=host, port=port, threads=THREADS, connection_limit=CONNECTION_LIMIT,
            channel_timeout=CHANNEL_TIMEOUT_S, cleanup_interval=CLEANUP_INTERVAL_S,
            max_request_header_size=MAX_HEADER_BYTES, max_request_body_size=MAX_BODY_BYTES,
            asyncore_use_poll=True,  # select() fails past 1024 descriptors
            ident="krwfeed", expose_tracebacks=False)
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.socket.getsockname()[:2]
        return str(host), int(port)

    def _run(self) -> None:
        lower_thread_priority()
        self._server.run()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._server.close()
        self._thread.join(timeout_s)
