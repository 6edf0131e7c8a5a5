"""Multiprocess metrics: counters merged over live and dead writer processes, dead processes' gauges swept."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitoring.multiprocess_collect import exposition, live_gauge_pids, reset_dir, sweep_dead

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time
from monitoring import metrics
metrics.MESSAGES_RECEIVED.labels("upbit", "trade").inc(int(sys.argv[1]))
metrics.BUFFER_DEPTH.labels("trade").set(int(sys.argv[1]))
print("written", flush=True)
if sys.argv[2] == "stay":
    sys.stdin.read()
"""


def test_counters_sum_over_processes_and_dead_gauges_are_swept(tmp_path: Path) -> None:
    metrics_dir = str(tmp_path / "metrics")
    reset_dir(metrics_dir)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    subprocess.run([sys.executable, "-c", WRITER, "3", "exit"], cwd=ROOT, env=env, check=True, timeout=30)
    alive = subprocess.Popen([sys.executable, "-c", WRITER, "4", "stay"], cwd=ROOT, env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert alive.stdout is not None and alive.stdout.readline().strip() == "written"
        assert len(live_gauge_pids(metrics_dir)) == 2
        text = exposition(metrics_dir).decode()  # sweeps first
        assert 'ingestion_messages_received_total{data_type="trade",exchange="upbit"} 7.0' in text
        assert 'ingestion_buffer_depth{data_type="trade"} 4.0' in text  # the dead writer's 3 is gone
        assert live_gauge_pids(metrics_dir) == {alive.pid}
    finally:
        alive.communicate("", timeout=10)
    assert sweep_dead(metrics_dir) == [alive.pid]
    text = exposition(metrics_dir).decode()
    assert 'ingestion_messages_received_total{data_type="trade",exchange="upbit"} 7.0' in text  # stays monotonic
    assert "ingestion_buffer_depth{" not in text


def test_reset_dir_wipes_files_left_by_a_previous_run(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_7.db").write_bytes(b"old")
    reset_dir(str(metrics_dir))
    assert metrics_dir.is_dir() and not any(metrics_dir.iterdir())
