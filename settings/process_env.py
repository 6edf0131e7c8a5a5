"""Process-wide preparation done by the composition root before anything else is imported or forked."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir(admin_port: int, var_dir: str = "var") -> str:
    """Wipe and create the per-run prometheus_client multiprocess directory and export it, so every actor
    process (forked later) writes its own files and ``/metrics`` merges only this run's."""
    path = os.environ.get(METRICS_ENV) or str(Path(var_dir) / f"prometheus-{admin_port}")
    shutil.rmtree(path, ignore_errors=True)
    Path(path).mkdir(parents=True, exist_ok=True)
    os.environ[METRICS_ENV] = path
    return path


def route_thespian_log(admin_port: int, var_dir: str = "var") -> None:
    """Thespian's own diagnostics (tx-only mode, retransmits) go to var/, not the system temp directory."""
    Path(var_dir).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("THESPLOG_FILE", str(Path(var_dir).resolve() / f"thespian-{admin_port}.log"))
    os.environ.setdefault("THESPLOG_FILE_MAXSIZE", str(2_000_000))
    os.environ.setdefault("THESPLOG_THRESHOLD", "WARNING")


def shutdown_leftover_system(admin_port: int, capabilities: dict[str, object]) -> None:
    """An actor system left on our admin port by a krwfeed that died would run that run's code and
    state: shut it down before starting our own."""
    from thespian.actors import ActorSystem

    try:
        ActorSystem("multiprocTCPBase", {**capabilities, "Admin Port": admin_port}).shutdown()
    except Exception:  # best effort: a wedged admin is reported by the start that follows
        return


def kafka_reachable(bootstrap: tuple[str, ...], timeout_s: float = 0.5) -> bool:
    for server in bootstrap:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout_s):
                return True
        except OSError:
            continue
    return False
