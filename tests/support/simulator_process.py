"""The exchange simulator as a real subprocess (`python -m simulator`), for tests and benchmarks.

Fixtures:
* ``simulator``          - one running simulator per test; options from ``@pytest.mark.simulator(rate=500, ...)``;
* ``simulator_factory``  - ``start(**options)`` for tests that need several or special ones.
Both stop every process they started (SIGTERM by pid, then SIGKILL) at teardown.

``start_simulator(**options)`` is the same without pytest (benchmarks): use it as a context manager.
Options are the CLI flags in snake_case: ``markets=["KRW-BTC"]``, ``rate=1000``, ``idle_timeout=2``,
``no_connect_limit=True``, ``replay=[path]``, ``control_port=0`` ... Ports default to 0 (the OS picks
free ones, reported on the readiness line), so parallel runs never collide.

``tls=True`` serves wss:// and https:// with a throwaway CA and a certificate for 127.0.0.1 made by
the ``openssl`` command at start (deleted at stop); ``.ca_file`` is the CA to trust, ``.sslopt`` the
matching websocket-client option. ``coalesce=N`` joins N frames per socket write (one TLS record).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 20.0


def _argv(options: dict[str, Any]) -> list[str]:
    argv = [sys.executable, "-m", "simulator"]
    options = {"upbit_port": 0, "bithumb_port": 0, **options}
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            argv.append(flag)
        elif key == "markets" and isinstance(value, list | tuple):
            argv += [flag, ",".join(value)]
        elif isinstance(value, list | tuple):
            argv += [flag, *(str(v) for v in value)]
        else:
            argv += [flag, str(value)]
    return argv


class SimulatorProcess:
    """A running `python -m simulator`; its URLs and control helpers."""

    def __init__(self, *, tls: bool = False, **options: Any) -> None:
        self.tls_dir = tempfile.mkdtemp(prefix="simulator-tls-") if tls else None
        self.ca_file: str | None = None
        self.client_tls: ssl.SSLContext | None = None
        if self.tls_dir is not None:
            try:
                self.ca_file, cert_file, key_file = make_test_certificates(Path(self.tls_dir))
            except BaseException:
                shutil.rmtree(self.tls_dir, ignore_errors=True)
                raise
            options = {**options, "tls_cert": cert_file, "tls_key": key_file}
            self.client_tls = ssl.create_default_context(cafile=self.ca_file)
        self.options = options
        self.log = tempfile.NamedTemporaryFile(prefix="simulator-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            _argv(options), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=self.log, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.ready = self._wait_ready()
        self.host = options.get("host", "127.0.0.1")
        self.ports: dict[str, int] = {k: self.ready[k] for k in ("upbit", "bithumb")}
        self.control_port: int | None = self.ready.get("control")

    def _wait_ready(self) -> dict[str, Any]:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(READY_TIMEOUT)
        if not line or not line[0].strip():
            self.stop()
            raise RuntimeError(f"simulator did not become ready; log: {Path(self.log.name).read_text()[-2000:]}")
        return json.loads(line[0])  # type: ignore[no-any-return]

    # ---- addresses -----------------------------------------------------------
    def url(self, exchange: str = "upbit") -> str:
        scheme = "wss" if self.ca_file else "ws"
        return f"{scheme}://{self.host}:{self.ports[exchange]}/websocket/v1"

    def rest(self, exchange: str = "upbit") -> str:
        scheme = "https" if self.ca_file else "http"
        return f"{scheme}://{self.host}:{self.ports[exchange]}"

    @property
    def sslopt(self) -> dict[str, Any]:
        """websocket-client's ``sslopt`` that trusts this simulator's CA ({} without TLS)."""
        return {"ca_certs": self.ca_file} if self.ca_file else {}

    @property
    def upbit_url(self) -> str:
        return self.url("upbit")

    @property
    def bithumb_url(self) -> str:
        return self.url("bithumb")

    @property
    def upbit_rest(self) -> str:
        return self.rest("upbit")

    @property
    def bithumb_rest(self) -> str:
        return self.rest("bithumb")

    # ---- HTTP helpers --------------------------------------------------------
    def get_json(self, url: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(url, timeout=10, context=self.client_tls) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                return exc.code, json.loads(body)
            except ValueError:
                return exc.code, body.decode(errors="replace")

    def control(self, action: str, exchange: str = "upbit", **params: Any) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        status, body = self.get_json(f"{self.rest(exchange)}/control/{action}?{query}")
        if status != 200:
            raise RuntimeError(f"control {action} failed: {status} {body}")
        return body

    def drop(self, exchange: str = "upbit", mode: str = "abort", code: int | None = None) -> Any:
        return self.control("drop", exchange, mode=mode, code=code)

    def stall(self, seconds: float, exchange: str = "upbit", freeze: bool = False) -> Any:
        return self.control("stall", exchange, seconds=seconds, freeze=int(freeze))

    def garbage(self, count: int = 1, exchange: str = "upbit", kind: str = "json") -> Any:
        return self.control("garbage", exchange, count=count, kind=kind)

    def refuse(self, seconds: float, exchange: str = "upbit", status: int = 503) -> Any:
        return self.control("refuse", exchange, seconds=seconds, status=status)

    def set_rate(self, rate: float, exchange: str = "upbit", trade_ratio: float | None = None) -> Any:
        return self.control("rate", exchange, value=rate, trade_ratio=trade_ratio)

    def sent_log(self, exchange: str = "upbit", per_connection: bool = False) -> Any:
        return self.control("sent", exchange, per_connection=int(per_connection))

    def reset(self, exchange: str = "upbit") -> Any:
        return self.control("reset", exchange)

    def stats(self, exchange: str = "upbit") -> Any:
        return self.control("stats", exchange)

    # ---- lifetime ------------------------------------------------------------
    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()
        if self.tls_dir is not None:
            shutil.rmtree(self.tls_dir, ignore_errors=True)
        return self.proc.returncode

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_test_certificates(directory: Path) -> tuple[str, str, str]:
    """A throwaway CA and a server certificate it signed for 127.0.0.1 and localhost, valid 2 days.

    Returns (CA file, certificate file, key file). A separate CA rather than one self-signed
    certificate, so the client verifies a real chain, as it does against the exchanges.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("tls=True needs the openssl command to make a test certificate")
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr, ext = directory / "cert.pem", directory / "key.pem", directory / "cert.csr", directory / "ext.cnf"
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                   "subjectAltName=IP:127.0.0.1,DNS:localhost\nsubjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for argv in (
        [openssl, "req", "-x509", *ec, "-days", "2", "-subj", "/CN=krwfeed simulator test CA",
         "-keyout", str(ca_key), "-out", str(ca),
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req", *ec, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr)],
        [openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-set_serial", "2",
         "-days", "2", "-extfile", str(ext), "-out", str(cert)],
    ):
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
    return str(ca), str(cert), str(key)


def start_simulator(**options: Any) -> SimulatorProcess:
    """Start `python -m simulator` with CLI options in snake_case; returns once it is listening."""
    return SimulatorProcess(**options)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "simulator(**options): options for the `simulator` fixture")


@pytest.fixture
def simulator_factory() -> Iterator[Callable[..., SimulatorProcess]]:
    started: list[SimulatorProcess] = []

    def start(**options: Any) -> SimulatorProcess:
        process = start_simulator(**options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def simulator(request: pytest.FixtureRequest, simulator_factory: Callable[..., SimulatorProcess]) -> SimulatorProcess:
    marker = request.node.get_closest_marker("simulator")
    return simulator_factory(**(marker.kwargs if marker else {}))
