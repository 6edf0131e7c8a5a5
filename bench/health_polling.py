"""Health polling against ingestion (seed S3.3-e): the same feed, with and without a poller.

    python bench/health_polling.py                     # 3 rounds, 15 s per arm, 3,000 msgs/s
    python bench/health_polling.py --rounds 5 --arm-s 20 --rate 4000 --out bench/results/health_polling.txt

One broker (KAFKA_PORT, default 39092; started if not running), one simulator and one krwfeed
process tree, as in bench/throughput.py. The simulator offers a steady feed for the whole run;
the run is cut into arms of ``--arm-s`` seconds: no polling, polling at 10 requests/s (a load
balancer's health checks) and at 100 requests/s, in an order that rotates from round to round,
so a machine that gets busier or quieter during the run shifts every arm alike. The poller is a
thread of this process that opens a new connection per request, as load balancers do, and
alternates ``/health`` and ``/api/status``, paced to the rate.

For each arm: offered (simulator frames/s), achieved (records Kafka appended per second of the
arm, from the broker's LogAppendTime offsets), CPU s per 1,000 achieved messages of the whole
krwfeed tree and of its main process (the one serving the web requests), and the requests
answered. The summary gives min and median over the rounds per arm and, per polled arm, the
ratios of medians against the unpolled arm: throughput (polled / unpolled) and CPU efficiency
(unpolled CPU per message / polled CPU per message), so 1.0 is "no effect" and lower is worse,
and what one request costs the main process (its extra CPU over the unpolled arm per request).
The targets are >= 0.95 at 10 requests/s and >= 0.9 at 100; the machine is shared, so figures
move with its load, which is printed too.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    EXCHANGES,
    AppendCounter,
    ProcessTree,
    broker,
    make_topics,
    market_codes,
    simulator,
    start_service,
)

PATHS = ("/health", "/api/status")
TARGETS = {10: 0.95, 100: 0.9}


class Poller:
    """Requests at ``rate`` per second, each on a new connection, alternating ``PATHS``."""

    def __init__(self, port: int, rate: float) -> None:
        self.port, self.rate = port, rate
        self.answered = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poller-{rate:g}", daemon=True)

    def _run(self) -> None:
        period, next_at, i = 1.0 / self.rate, time.monotonic(), 0
        while not self._stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", PATHS[i % len(PATHS)], headers={"Connection": "close"})
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status in (200, 503):
                    self.answered += 1
                else:
                    self.failed += 1
            except OSError:
                self.failed += 1
            i += 1
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()  # behind: do not burst to catch up

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def own_cpu(pid: int) -> Callable[[], float]:
    """CPU seconds of one process alone (not its children): the main process, which serves the web."""
    proc = psutil.Process(pid)

    def read() -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    return read


@dataclass
class Arm:
    rate: int  # polling requests/s, 0 = none
    achieved: list[float] = field(default_factory=list)
    offered: list[float] = field(default_factory=list)
    cpu_per_1k: list[float] = field(default_factory=list)
    main_cpu_per_1k: list[float] = field(default_factory=list)
    main_cores: list[float] = field(default_factory=list)  # main process CPU s per s
    requests_per_s: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "no polling" if not self.rate else f"{self.rate} req/s"


def events_produced(sim) -> int:  # type: ignore[no-untyped-def]
    return sum(int(sim.stats(e)["events_produced"]) for e in EXCHANGES)


def run_arm(sim, tree: ProcessTree, main: Callable[[], float], counter: AppendCounter, web_port: int,  # type: ignore[no-untyped-def]
            arm: Arm, seconds: float) -> str:
    for e in EXCHANGES:
        sim.reset(e)  # the simulator's sent log would otherwise grow for the whole run
    poller = Poller(web_port, arm.rate) if arm.rate else None
    if poller is not None:
        poller.__enter__()
    time.sleep(1.0)  # the poller reaches its pace before the window opens
    events0, cpu0, main0, t0 = events_produced(sim), tree.cpu_seconds(), main(), time.time()
    answered0 = poller.answered if poller else 0
    time.sleep(seconds)
    events1, cpu1, main1, t1 = events_produced(sim), tree.cpu_seconds(), main(), time.time()
    answered = (poller.answered if poller else 0) - answered0
    failed = poller.failed if poller else 0
    if poller is not None:
        poller.__exit__()
    time.sleep(1.5)  # the broker's append times of the window's end are in
    appended = counter.between(t0, t1)
    window = t1 - t0
    arm.achieved.append(appended / window)
    arm.offered.append((events1 - events0) / window)
    arm.cpu_per_1k.append((cpu1 - cpu0) / max(1, appended) * 1000)
    arm.main_cpu_per_1k.append((main1 - main0) / max(1, appended) * 1000)
    arm.main_cores.append((main1 - main0) / window)
    arm.requests_per_s.append(answered / window)
    return (f"  {arm.name:>11}: offered {arm.offered[-1]:7.0f}/s  achieved {arm.achieved[-1]:7.0f}/s  "
            f"CPU {arm.cpu_per_1k[-1]:.3f} s/1k (main {arm.main_cpu_per_1k[-1]:.3f})  "
            f"answered {arm.requests_per_s[-1]:.1f} req/s{f', {failed} failed' if failed else ''}  "
            f"load {os.getloadavg()[0]:.1f}")


def summary(arms: list[Arm]) -> str:
    def mm(values: list[float], spec: str) -> str:
        return f"{min(values):{spec}} / {statistics.median(values):{spec}}"

    lines = ["arm          achieved/s min/med   CPU s/1k min/med   main CPU s/1k min/med   req/s med",
             *(f"{a.name:<12} {mm(a.achieved, '7.0f'):>19}   {mm(a.cpu_per_1k, '.3f'):>16}   "
               f"{mm(a.main_cpu_per_1k, '.3f'):>21}   {statistics.median(a.requests_per_s):9.1f}" for a in arms)]
    base = arms[0]
    lines.append("")
    lines.append("ratios against no polling (medians; 1.0 = no effect): throughput, CPU efficiency, target")
    for arm in arms[1:]:
        throughput = statistics.median(arm.achieved) / statistics.median(base.achieved)
        efficiency = statistics.median(base.cpu_per_1k) / statistics.median(arm.cpu_per_1k)
        target = TARGETS.get(arm.rate)
        met = target is not None and throughput >= target and efficiency >= target
        per_request = (statistics.median(arm.main_cores) - statistics.median(base.main_cores)) / max(
            1e-9, statistics.median(arm.requests_per_s)) * 1000
        lines.append(f"{arm.name:<12} throughput {throughput:.3f}  CPU efficiency {efficiency:.3f}  "
                     f"target >= {target}: {'met' if met else 'missed'}  "
                     f"(main process: {per_request:.2f} ms CPU per request)")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=3000.0, help="the feed, msgs/s over both exchanges")
    p.add_argument("--poll-rates", default="10,100", help="polling requests/s of the polled arms")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--arm-s", type=float, default=15.0)
    p.add_argument("--markets", type=int, default=50, help="markets on each exchange")
    p.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", "39092")))
    p.add_argument("--admin-port", type=int, default=20000)
    p.add_argument("--web-port", type=int, default=20100)
    p.add_argument("--out", default=None, help="also write the output here")
    args = p.parse_args()
    arms = [Arm(0), *(Arm(int(r)) for r in args.poll_rates.split(","))]
    out_lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        out_lines.append(text)

    prefix = "bench-" + uuid.uuid4().hex[:8]
    with broker(args.kafka_port) as bootstrap:
        topics = make_topics(bootstrap, prefix)
        sim = simulator(args.markets, 0, idle_timeout=0, load=True)
        service = None
        try:
            codes = market_codes(sim, args.markets)
            service = start_service(sim, bootstrap, codes, prefix, args.admin_port, args.web_port)
            service.wait_connected(60)
            tree, main_cpu = ProcessTree(service), own_cpu(service.proc.pid)
            counter = AppendCounter(bootstrap, topics)
            say(f"python bench/health_polling.py {' '.join(sys.argv[1:])}")
            say(f"feed {args.rate:.0f} msgs/s over {len(codes)} markets x {len(EXCHANGES)} exchanges, "
                f"{args.arm_s:.0f} s per arm, {args.rounds} rounds, {os.cpu_count()} cores")
            for e in EXCHANGES:
                sim.set_rate(args.rate / len(EXCHANGES), e)
            time.sleep(5.0)  # warm-up, not measured
            for n in range(args.rounds):
                say(f"round {n + 1}")
                order = arms[n % len(arms):] + arms[:n % len(arms)]
                for arm in order:
                    say(run_arm(sim, tree, main_cpu, counter, args.web_port, arm, args.arm_s))
            for e in EXCHANGES:
                sim.set_rate(0, e)
            counter.close()
            final = service.status() or {}
            say(f"krwfeed: {final.get('total_received', 0)} received, {final.get('total_published', 0)} published; "
                f"status file {json.dumps(final.get('buffer', {}))[:200]}")
        finally:
            if service is not None:
                service.cleanup()
            sim.stop()
    say("")
    say(summary(arms))
    say(f"load average at the end ({os.cpu_count()} cores): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(out_lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
