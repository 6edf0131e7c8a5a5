"""Where each actor process spends its CPU: py-spy on every process of a running krwfeed at a steady load.

    python bench/profile_actors.py [--rate 2000] [--seconds 20] [--client confluent-kafka]
                                   [--markets 100] [--kafka-port 39092] [--out DIR]

Starts the project's broker (unless one runs on the port), the simulator in load mode and krwfeed
with its default topology, offers ``--rate`` msgs/s (half to each exchange), waits for the flow to
settle, then samples every actor process named in ``/api/status`` (and the main process) with
``py-spy record`` at the same time. Each process gets a raw collapsed-stack file
(``<role>-<name>.txt``, readable by flamegraph tools) and the summary prints, per process, its
measured CPU (psutil, over the same window) and the functions that take most of its samples, by
self time and including callees. Sampling shares are of the process's busy samples (py-spy leaves
out threads waiting in a system call); the cores column says what they are shares of.

py-spy comes with the bench extra (``pip install .[bench]``); it needs ptrace rights over the
service's processes (root, or ``kernel.yama.ptrace_scope=0``).
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    EXCHANGES,
    RESULTS,
    api_status,
    broker,
    kafka_config,
    make_topics,
    market_codes,
    simulator,
    start_service,
)

_LINE_NUMBER = re.compile(r":\d+\)")


def summarise(raw: Path, top: int) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    """(busy samples, [(function, share)] by self time, [(function, share)] including callees)."""
    own: collections.Counter[str] = collections.Counter()
    within: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_LINE_NUMBER.sub(")", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for name in set(frames):
            within[name] += n
    if not total:
        return 0, [], []
    # Frames present in (almost) every sample are the actor's run loop, not a cost.
    inclusive = [(f, c / total) for f, c in within.most_common() if c / total < 0.97][:top]
    return total, [(f, c / total) for f, c in own.most_common(top)], inclusive


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=2000.0, help="msgs/s offered, both exchanges together")
    p.add_argument("--seconds", type=float, default=20.0, help="sampling window")
    p.add_argument("--settle-s", type=float, default=8.0, help="load before sampling starts")
    p.add_argument("--client", choices=("kafka-python", "confluent-kafka"), default=None)
    p.add_argument("--markets", type=int, default=100, help="markets on each exchange")
    p.add_argument("--sample-rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", "39092")))
    p.add_argument("--admin-port", type=int, default=20200)
    p.add_argument("--web-port", type=int, default=20300)
    p.add_argument("--out", default=None, help="folder for the raw stacks and summary.txt "
                                               "(default bench/results/profile-actors-<client>)")
    args = p.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy is not installed: pip install .[bench]", file=sys.stderr)
        return 2
    out = Path(args.out or RESULTS / f"profile-actors-{args.client or 'default'}")
    out.mkdir(parents=True, exist_ok=True)
    prefix = "profile-" + uuid.uuid4().hex[:8]
    with broker(args.kafka_port) as bootstrap:
        make_topics(bootstrap, prefix)
        sim = simulator(args.markets, 0, idle_timeout=0, load=True)
        service = None
        try:
            codes = market_codes(sim, args.markets)
            service = start_service(sim, bootstrap, codes, prefix, args.admin_port, args.web_port,
                                    kafka=kafka_config(args.client))
            service.wait_connected(60)
            for exchange in EXCHANGES:
                sim.set_rate(args.rate / len(EXCHANGES), exchange)
            time.sleep(args.settle_s)
            status = api_status(args.web_port) or {}
            targets = [(str(p["role"]), str(p["name"]), int(p["pid"])) for p in status.get("processes", [])]
            targets.append(("main", "main", service.proc.pid))
            received0 = int(status.get("totals", {}).get("received", 0))
            cpu0 = {pid: sum(psutil.Process(pid).cpu_times()[:2]) for _, _, pid in targets}
            started = time.monotonic()
            jobs = [subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(args.seconds)),
                                      "--rate", str(args.sample_rate), "--format", "raw", "--nonblocking",
                                      "--output", str(out / f"{role}-{name}.txt")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    for role, name, pid in targets]
            for job in jobs:
                job.wait()
            window = time.monotonic() - started
            cpu1 = {pid: sum(psutil.Process(pid).cpu_times()[:2]) for _, _, pid in targets}
            received = int((api_status(args.web_port) or {}).get("totals", {}).get("received", 0)) - received0
        finally:
            if service is not None:
                service.cleanup()
            sim.stop()
    lines = [f"python bench/profile_actors.py {' '.join(sys.argv[1:])}",
             f"{args.rate:.0f} msgs/s offered, {received / window:.0f} received; {len(codes)} markets x "
             f"{len(EXCHANGES)} exchanges, kafka.client {args.client or 'default'}; {window:.0f} s window; "
             f"load average {os.getloadavg()[0]:.1f} (2 cores)", ""]
    for role, name, pid in targets:
        cores = (cpu1[pid] - cpu0[pid]) / window
        per_msg = (cpu1[pid] - cpu0[pid]) / max(1, received) * 1e6
        samples, own, within = summarise(out / f"{role}-{name}.txt", args.top)
        lines.append(f"== {name} ({role}, pid {pid}): {cores:.3f} cores, {per_msg:.1f} us of CPU per message "
                     f"received (all exchanges); {samples} busy samples")
        lines += ["   self:"] + [f"   {share * 100:5.1f}%  {f}" for f, share in own]
        lines += ["   including callees:"] + [f"   {share * 100:5.1f}%  {f}" for f, share in within]
        lines.append("")
    text = "\n".join(lines)
    (out / "summary.txt").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
