"""The web interface's HTTP server: waitress, in a thread of the main process.

waitress reads each request completely in its I/O loop before one of its worker threads runs the
app, so a slow or silent client holds a connection slot, never a worker, and is dropped after
``CHANNEL_TIMEOUT_S`` without activity; the number of connections and the request sizes are
capped. (werkzeug's development server gave every connection a thread with no timeout.)
"""
from __future__ import annotations

import threading
from typing import Any

from waitress.server import create_server

THREADS = 4  # the endpoints answer from a cache in well under a millisecond
CONNECTION_LIMIT = 64
CHANNEL_TIMEOUT_S = 10  # an idle or stalled connection is closed after this long
CLEANUP_INTERVAL_S = 2  # how often idle connections are looked for
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024  # no endpoint takes a body


class WebServer:
    def __init__(self, app: Any, host: str, port: int) -> None:
        self._server = create_server(
            app, host=host, port=port, threads=THREADS, connection_limit=CONNECTION_LIMIT,
            channel_timeout=CHANNEL_TIMEOUT_S, cleanup_interval=CLEANUP_INTERVAL_S,
            max_request_header_size=MAX_HEADER_BYTES, max_request_body_size=MAX_BODY_BYTES,
            asyncore_use_poll=True,  # select() fails past 1024 descriptors
            ident="krwfeed", expose_tracebacks=False)
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.socket.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._server.close()
        self._thread.join(timeout_s)
