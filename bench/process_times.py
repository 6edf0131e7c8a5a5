"""User time, system time and wake-ups of each process of a running krwfeed, over a window.

    python bench/process_times.py [--web-port 20100] [--seconds 15]

Reads the processes krwfeed lists in ``/api/status`` (``[{"role", "name", "pid"}]``), samples each
one's ``/proc/PID/stat`` (user and system time) and ``/proc/PID/status`` (voluntary context
switches: how often the process went to sleep and was woken) at the start and the end of the window,
and prints the rates. Run it beside a steady load, for example in the middle of a 60 s step of
``bench/throughput.py`` (whose krwfeed serves ``/api/status`` on port 20100). Linux only.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import api_status  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def sample(pid: int) -> tuple[float, float, int]:
    """(user seconds, system seconds, voluntary context switches) of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    status = Path(f"/proc/{pid}/status").read_text()
    switches = int(status.split("voluntary_ctxt_switches:")[1].split()[0])
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS, switches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web-port", type=int, default=20100)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    status = api_status(args.web_port)
    if not status or not status.get("processes"):
        print(f"process_times: no krwfeed processes listed on port {args.web_port}", file=sys.stderr)
        return 1
    procs = [(int(p["pid"]), str(p.get("role", "")), str(p.get("name", ""))) for p in status["processes"]]
    before = {pid: sample(pid) for pid, _, _ in procs}
    started = time.monotonic()
    time.sleep(args.seconds)
    after = {pid: sample(pid) for pid, _, _ in procs if Path(f"/proc/{pid}").exists()}
    window = time.monotonic() - started
    print(f"{'role':<12}{'name':<22}{'user cores':>11}{'system cores':>14}{'wake-ups/s':>12}")
    for pid, role, name in procs:
        if pid not in after:
            print(f"{role:<12}{name:<22} (gone during the window)")
            continue
        (u0, s0, w0), (u1, s1, w1) = before[pid], after[pid]
        print(f"{role:<12}{name:<22}{(u1 - u0) / window:>11.3f}{(s1 - s0) / window:>14.3f}{(w1 - w0) / window:>12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
