"""krwfeed started as a real process (``python actor_system.py --conf <yaml>``) for end-to-end tests
and benchmarks: temp config, readiness wait, status reads, SIGTERM with exit timing, log capture, and
removal of every process the run left behind.

Output goes to files, never pipes: Thespian's admin inherits stdout/stderr and would hold a pipe open.
Every process of a run carries ``KRWFEED_RUN_MARK`` in its environment (inherited through Thespian's
forks, including the admin that detaches itself), so leftovers are found and killed by pid.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import yaml

from settings.kafka_env import VARIABLES as KAFKA_VARIABLES

REPO_ROOT = Path(__file__).resolve().parents[2]
MARK = "KRWFEED_RUN_MARK"


def service_config(*, upbit_url: str | None, bithumb_url: str | None, markets: list[str],
                   bootstrap: str, admin_port: int, topic_prefix: str, markets_per_connection: int = 50,
                   log_file: str | None = None, **extra: Any) -> dict[str, Any]:
    """A config dict for the simulator (``ws://127.0.0.1:N/websocket/v1`` URLs) and a test broker."""
    exchanges = []
    for name, url in (("upbit", upbit_url), ("bithumb", bithumb_url)):
        if url:
            rest = url.replace("ws://", "http://").split("/websocket")[0]
            exchanges.append({"name": name, "ws_url": url, "rest_url": rest, "markets": list(markets),
                              "markets_per_connection": markets_per_connection,
                              "backoff_initial_s": 0.2, "backoff_max_s": 2.0, **extra.pop(name, {})})
    config: dict[str, Any] = {
        "exchanges": exchanges,
        "kafka": {"bootstrap_servers": [bootstrap], "topic_template": topic_prefix + ".{exchange}.{data_type}",
                  **extra.pop("kafka", {})},
        "log": {"level": "INFO", "file": log_file, **extra.pop("log", {})},
        "admin_port": admin_port,
    }
    config.update(extra)
    return config


class ServiceProcess:
    def __init__(self, config: dict[str, Any] | str | bytes, workdir: Path, *, web_port: int | None = None,
                 env: dict[str, str] | None = None, args: list[str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf = self.workdir / "krwfeed.yaml"
        if isinstance(config, bytes):  # exactly these bytes, e.g. a file that is not UTF-8
            self.conf.write_bytes(config)
        else:
            self.conf.write_text(config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False))
        self.status_file = self.workdir / "status.json"
        self.stdout_path = self.workdir / "stdout.log"
        self.stderr_path = self.workdir / "stderr.log"
        self.web_port = web_port
        self.mark = uuid.uuid4().hex
        argv = [sys.executable, str(REPO_ROOT / "actor_system.py"), "--conf", str(self.conf),
                "--status-file", str(self.status_file), *(args or [])]
        if web_port:
            argv += ["--port", str(web_port)]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", MARK: self.mark,
                    "PROMETHEUS_MULTIPROC_DIR": str(self.workdir / "prometheus"),
                    "THESPLOG_FILE": str(self.workdir / "thespian.log"), **(env or {})}
        full_env.pop("PORT", None)
        # The config file names the test's broker; a developer's Kafka variables must not move it.
        for name in KAFKA_VARIABLES:
            if name not in (env or {}):
                full_env.pop(name, None)
        self._out = open(self.stdout_path, "wb")  # noqa: SIM115 - closed in cleanup()
        self._err = open(self.stderr_path, "wb")  # noqa: SIM115
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=self._out, stderr=self._err, env=full_env)
        self.exit_seconds: float | None = None

    # --- observing -----------------------------------------------------------------------
    def status(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.status_file.read_text())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return None

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"krwfeed exited with {self.proc.returncode} while waiting for {what}; "
                                     f"log tail:\n{self.logs()[-3000:]}")
            last = self.status()
            if last is not None and predicate(last):
                return last
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last status: "
                             f"{_status_summary(last)}\nlog tail:\n{self.logs()[-3000:]}")

    def wait_connected(self, timeout_s: float = 30.0) -> dict[str, Any]:
        return self.wait_for(lambda s: bool(s["connections"]) and all(
            c["state"] == "CONNECTED" for c in s["connections"].values()), timeout_s, "every connection CONNECTED")

    def http(self, path: str) -> tuple[int, bytes]:
        assert self.web_port, "started without a web port"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}{path}", timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def logs(self) -> str:
        text = ""
        for path in (self.stdout_path, self.stderr_path):
            if path.exists():
                text += path.read_text(errors="replace")
        return text

    # --- stopping ------------------------------------------------------------------------
    def terminate(self, timeout_s: float = 15.0, sig: int = signal.SIGTERM) -> tuple[int | None, float]:
        """Send ``sig``; return (exit code, seconds from the signal to the exit)."""
        sent = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - sent
        self.exit_seconds = time.monotonic() - sent
        return self.proc.returncode, self.exit_seconds

    def wait_exit(self, timeout_s: float) -> int | None:
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def leftovers(self) -> list[psutil.Process]:
        """Every live process of this run except the main one (admin, logger, actors)."""
        found = []
        for proc in psutil.process_iter(["pid"]):
            if proc.pid == self.proc.pid:
                continue
            try:
                if proc.environ().get(MARK) == self.mark and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def cleanup(self) -> list[int]:
        """Stop the service if still running and kill what is left; returns the pids that had to be killed."""
        if self.proc.poll() is None:
            self.terminate(12.0)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        time.sleep(0.2)
        killed = []
        for proc in self.leftovers():
            killed.append(proc.pid)
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs([psutil.Process(p) for p in killed if psutil.pid_exists(p)], timeout=5)
        for handle in (self._out, self._err):
            handle.close()
        return killed

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _status_summary(status: dict[str, Any] | None) -> str:
    """A status for a failure message: the totals, buffer and producers first (they say why a
    wait did not end), then the rest, cut to a readable length."""
    if not status:
        return "None"
    first = {k: status.get(k) for k in ("total_received", "total_published", "buffer", "producers", "fatal")}
    rest = {k: v for k, v in status.items() if k not in first}
    return (json.dumps(first) + " " + json.dumps(rest))[:3000]
