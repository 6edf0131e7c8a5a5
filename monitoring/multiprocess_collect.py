"""The scrape side of prometheus_client's multiprocess mode.

Every actor process writes its own mmap files into ``PROMETHEUS_MULTIPROC_DIR``; a scrape builds a
fresh registry with ``MultiProcessCollector`` (registering the metrics themselves there would count
them twice). Thespian has no hook when an actor process dies, so each scrape first sweeps the pids
named in ``gauge_live*_<pid>.db`` files and drops the live gauges of those that are gone.
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.metrics_core import Metric

_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def reset_dir(path: str) -> None:
    """Wipe and recreate the directory. Call once at start, before any process writes a metric:
    a restarted process whose pid has a file left over would continue from its old values."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def live_gauge_pids(path: str) -> set[int]:
    pids = set()
    for name in os.listdir(path):
        match = _LIVE_GAUGE_FILE.match(name)
        if match:
            pids.add(int(match.group(1)))
    return pids


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def sweep_dead(path: str) -> list[int]:
    """Remove the live gauges of processes that no longer exist; returns their pids."""
    dead = sorted(pid for pid in live_gauge_pids(path) if not _is_alive(pid))
    for pid in dead:
        multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
    return dead


def registry_for(metrics_dir: str | None) -> CollectorRegistry:
    """A registry to scrape: merged files when ``metrics_dir`` is set, else this process's own."""
    if metrics_dir is None:
        return REGISTRY
    sweep_dead(metrics_dir)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=metrics_dir)  # type: ignore[no-untyped-call]
    return registry


def exposition(metrics_dir: str | None) -> bytes:
    return generate_latest(registry_for(metrics_dir))


def families(metrics_dir: str | None) -> Iterable[Metric]:
    return registry_for(metrics_dir).collect()
