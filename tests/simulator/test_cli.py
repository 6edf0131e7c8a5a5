"""`python -m simulator` as a process: readiness line, clean exit on signals, option errors."""
from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request

import pytest

from tests.support.simulator_process import REPO_ROOT, start_simulator

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ready_line_then_clean_exit_on_signal(sig: signal.Signals) -> None:
    process = start_simulator(control_port=0)
    try:
        ready = process.ready
        assert ready["ready"] is True and ready["pid"] == process.proc.pid
        assert all(isinstance(ready[k], int) and ready[k] > 0 for k in ("upbit", "bithumb", "control"))
        with urllib.request.urlopen(process.upbit_rest + "/v1/market/all") as resp:
            assert resp.status == 200
        process.proc.send_signal(sig)
        assert process.proc.wait(10) == 0
    finally:
        process.stop()


def test_fixed_ports_are_used(simulator_factory) -> None:  # type: ignore[no-untyped-def]
    import socket

    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    sim = simulator_factory(upbit_port=ports[0], bithumb_port=ports[1])
    assert (sim.ports["upbit"], sim.ports["bithumb"]) == tuple(ports)


def test_bad_option_exits_with_an_error() -> None:
    result = subprocess.run([sys.executable, "-m", "simulator", "--markets", "krw-btc"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "invalid market code" in result.stderr
