"""What the running service exposes (``python actor_system.py`` fed by the simulator, publishing to the
real broker): every listening socket of its whole process tree, the web server's timeouts, and the
optional web token.

The web interface is configured on 0.0.0.0 here, as a container runs it, so the test also proves that
the configured web bind is the one and only socket beyond loopback.
"""
from __future__ import annotations

import base64
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.integration.live_service import LiveService, live_service

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
TOKEN = "tok-" + uuid.uuid4().hex
LOOPBACK = {"127.0.0.1", "::1"}


@pytest.fixture(scope="module")
def exposed(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    with live_service(tmp_path_factory.mktemp("exposed"), kafka_bootstrap, markets=4, rate=50, per_connection=2,
                      env={"KRWFEED_WEB_TOKEN": TOKEN}, web={"host": "0.0.0.0"}) as live:
        yield live


def service_processes(live: LiveService) -> list[psutil.Process]:
    """The main process, its descendants and every process carrying the run's mark (the detached admin
    would not be a descendant if it escaped adoption)."""
    main = psutil.Process(live.service.proc.pid)
    found = {p.pid: p for p in [main, *main.children(recursive=True), *live.service.leftovers()]}
    return [p for p in found.values() if p.status() != psutil.STATUS_ZOMBIE]


def request(live: LiveService, path: str, authorization: str | None = None) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(live.base + path, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            response.read()
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


def test_every_listening_socket_of_the_service_is_loopback_but_the_configured_web_bind(
        exposed: LiveService) -> None:
    web_port = exposed.service.web_port
    processes = service_processes(exposed)
    # main, admin, logger, supervisor, 4 connectors, buffer, 2 producers
    assert len(processes) >= 11, processes
    exposed_sockets, listening = [], {}
    for proc in processes:
        sockets = [c.laddr for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        listening[proc.pid] = sockets
        for laddr in sockets:
            if laddr.ip not in LOOPBACK:
                exposed_sockets.append((proc.pid, proc.pid == exposed.service.proc.pid, laddr.ip, laddr.port))
    assert all(listening.values()), f"a process without its actor socket: {listening}"
    assert exposed_sockets == [(exposed.service.proc.pid, True, "0.0.0.0", web_port)], exposed_sockets


def test_the_token_guards_the_dashboard_and_status_api_and_leaves_probes_open(exposed: LiveService) -> None:
    for path in ("/", "/api/status", "/static/dashboard.js"):
        status, headers = request(exposed, path)
        assert status == 401 and headers["www-authenticate"].startswith("Basic realm="), (path, status)
        assert request(exposed, path, "Bearer " + TOKEN[:-1] + "x")[0] == 401
        assert request(exposed, path, "Bearer " + TOKEN)[0] == 200, path
        basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
        assert request(exposed, path, "Basic " + basic)[0] == 200, path
    for path in ("/health", "/health/live", "/health/ready", "/metrics"):
        assert request(exposed, path)[0] == 200, path
    assert request(exposed, "/health")[1]["server"] == "krwfeed"  # waitress, not werkzeug's dev server


def test_the_token_never_reaches_a_log_or_file(exposed: LiveService) -> None:
    request(exposed, "/api/status", "Bearer wrong-" + TOKEN[::-1])
    request(exposed, "/api/status", "Bearer " + TOKEN)
    time.sleep(0.5)
    logs = exposed.service.logs()
    assert "/api/status 401" in logs  # the refused request was logged, without what it presented
    assert TOKEN not in logs and TOKEN[::-1] not in logs
    for path in Path(exposed.service.workdir).rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_a_stalled_client_is_dropped_and_never_blocks_other_requests(exposed: LiveService) -> None:
    port = exposed.service.web_port
    assert port is not None
    stalled = []
    for _ in range(8):  # more than the server's worker threads
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: krwfeed\r\n")  # the request never ends
        stalled.append(sock)
    started = time.monotonic()
    assert request(exposed, "/health/live")[0] == 200
    assert time.monotonic() - started < 2.0
    closed_after = []
    for sock in stalled:
        assert sock.recv(1024) == b""  # closed by the server, no answer
        closed_after.append(time.monotonic() - started)
        sock.close()
    assert max(closed_after) < 25, closed_after
    print(f"FIGURES stalled clients closed after {min(closed_after):.1f}-{max(closed_after):.1f} s")
