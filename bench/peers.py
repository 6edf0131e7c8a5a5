"""Peer comparison: krwfeed, cryptofeed and a minimal pipeline on the same feed and broker, alternated
in one run.

    python bench/throughput.py --peers --rates 2000,5000 --step-s 30 --rounds 2 [--client confluent-kafka]

One simulator (load mode unless ``--sim-mode normal``) serves ``--peer-markets`` Upbit markets (default
100), half trades, half orderbooks, over wss:// (the real venues are TLS only, and cryptofeed accepts
nothing else) to one contender at a time, and every contender publishes to its own LogAppendTime
topics on the same broker. Each trusts the simulator's throwaway CA in its own way (krwfeed's
``tls_ca_file``, websocket-client's ``ca_certs``, ``SSL_CERT_FILE`` for cryptofeed):

* **krwfeed**: the service as a process, Upbit only (``--markets-per-connection``, ``--client``);
* **cryptofeed**: its Upbit feed with its Kafka backend (bench/cryptofeed_peer.py);
* **minimal**: websocket-client + JSON parse + confluent-kafka, no validation (bench/minimal_pipeline.py).

For every rate and round each contender in turn is started, connected, warmed up (3 s at 500 msgs/s),
offered the rate for the step and stopped; the order rotates every round, so no contender always runs
first or last. Per contender and step:

* offered = frames the simulator wrote per second of the step;
* achieved = records the broker appended to the contender's topics during the step, per second (from
  the offsets of the step's start and end times: nothing is read back);
* CPU s/1k = user + system CPU of the contender's processes during the step, per 1,000 records
  appended during the step; cores = that CPU per second;
* RSS = resident memory of the contender's processes at the end of the step;
* kept up = achieved >= 95 % of offered; late = records appended in the 2 s after the step (a
  contender working through a backlog);
* the simulator's CPU over the same step, beside it, and the broker's median time to acknowledge one
  small record (acks=all) probed every second of the step: when every Python client falls behind
  together, a slow broker (one starved of CPU) is the cause.

Then, per rate and round, the ratios krwfeed / cryptofeed and krwfeed / minimal of CPU per message.
Nothing here is checked for loss: the throughput steps do that for krwfeed.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    REPO_ROOT,
    RESULTS,
    AppendCounter,
    BrokerProbe,
    ProcessCpu,
    ProcessTree,
    broker,
    kafka_config,
    make_topics,
    market_codes,
    simulator,
    start_service,
)
from tests.support.kafka_broker import create_topic
from tests.support.simulator_process import SimulatorProcess

CONTENDERS = ("krwfeed", "cryptofeed", "minimal")
WARM_RATE, WARM_S = 500.0, 3.0
EXCHANGE = "upbit"


@dataclass
class Running:
    """A started contender: how to measure it and how to stop it."""

    cpu_seconds: Callable[[], float]
    rss_mb: Callable[[], float]
    processes: Callable[[], int]
    stop: Callable[[], None]


def _peer_process(argv: list[str], log: Path, env: dict[str, str]) -> Running:
    out = open(log, "wb")  # noqa: SIM115 - closed by stop()
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **env})
    meter = ProcessCpu(proc.pid)

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        out.close()

    return Running(meter.cpu_seconds, meter.rss_mb, lambda: len(meter.processes()), stop)


def start_contender(name: str, sim: SimulatorProcess, bootstrap: str, codes: list[str], prefix: str,
                    args: argparse.Namespace, workdir: Path) -> Running:
    if name == "krwfeed":
        service = start_service(sim, bootstrap, codes, f"{prefix}-krwfeed", args.admin_port, args.web_port,
                                workdir=workdir / "krwfeed", exchanges=(EXCHANGE,),
                                markets_per_connection=args.markets_per_connection,
                                kafka=kafka_config(args.client),
                                upbit={"tls_ca_file": sim.ca_file, "rest_url": sim.rest(EXCHANGE)})
        service.wait_connected(60)
        tree = ProcessTree(service)

        def stop_service() -> None:
            service.cleanup()

        return Running(tree.cpu_seconds, lambda: sum(tree.rss_mb().values()), lambda: len(tree.processes()),
                       stop_service)
    topic = f"{prefix}-{name}"
    if name == "cryptofeed":
        argv = [sys.executable, str(REPO_ROOT / "bench" / "cryptofeed_peer.py"), "--ws-url", sim.url(EXCHANGE),
                "--rest-url", sim.rest(EXCHANGE), "--codes", ",".join(codes), "--bootstrap", bootstrap,
                "--trade-topic", f"{topic}.trade", "--book-topic", f"{topic}.orderbook",
                "--log", str(workdir / "cryptofeed.log")]
    else:
        argv = [sys.executable, str(REPO_ROOT / "bench" / "minimal_pipeline.py"), "--url", sim.url(EXCHANGE),
                "--codes", ",".join(codes), "--bootstrap", bootstrap, "--topic-prefix", topic,
                "--ca-file", str(sim.ca_file)]
    # cryptofeed's websockets and requests clients read these; the minimal pipeline gets --ca-file
    env = {"SSL_CERT_FILE": str(sim.ca_file), "REQUESTS_CA_BUNDLE": str(sim.ca_file)}
    running = _peer_process(argv, workdir / f"{name}.out", env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # connected and subscribed to every code
        stats = sim.stats(EXCHANGE)
        if stats["connections"] >= 1 and stats["subscribed_codes"] >= len(codes):
            return running
        time.sleep(0.2)
    running.stop()
    raise TimeoutError(f"{name} did not subscribe within 60 s; see {workdir / (name + '.out')}")


def contender_topics(name: str, prefix: str) -> list[str]:
    if name == "krwfeed":
        return [f"{prefix}-krwfeed.{EXCHANGE}.trade", f"{prefix}-krwfeed.{EXCHANGE}.orderbook"]
    return [f"{prefix}-{name}.trade", f"{prefix}-{name}.orderbook"]


def wait_disconnected(sim: SimulatorProcess, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and sim.stats(EXCHANGE)["connections"]:
        time.sleep(0.2)


def measure(name: str, running: Running, sim: SimulatorProcess, sim_cpu: ProcessCpu, counter: AppendCounter,
            probe: BrokerProbe, rate: float, step_s: float) -> dict[str, Any]:
    sim.set_rate(WARM_RATE, EXCHANGE)
    time.sleep(WARM_S)
    sim.set_rate(0, EXCHANGE)
    time.sleep(1.0)
    sim.reset(EXCHANGE)
    cpu0, sim0 = running.cpu_seconds(), sim_cpu.cpu_seconds()
    t0 = time.time()
    sim.set_rate(rate, EXCHANGE)
    probe.take_p50()
    probe.sleep_probing(step_s)
    cpu, sim_used = running.cpu_seconds() - cpu0, sim_cpu.cpu_seconds() - sim0
    t1 = time.time()
    sim.set_rate(0, EXCHANGE)
    rss, processes = running.rss_mb(), running.processes()
    log = sim.sent_log(EXCHANGE)
    sent = int(log["trade_count"]) + int(log["orderbook_count"])
    time.sleep(2.0)  # the last appends of the step reach the broker's index
    appended = counter.between(t0, t1)
    late = counter.between(t1, time.time())
    return {
        "contender": name, "target": rate, "offered": sent / (t1 - t0), "achieved": appended / (t1 - t0),
        "cpu_per_1k": cpu / max(1, appended) * 1000, "cores": cpu / (t1 - t0), "rss_mb": rss,
        "processes": processes, "sim_cores": sim_used / (t1 - t0), "late": late,
        "kept_up": appended >= 0.95 * sent, "broker_ack_ms": probe.take_p50(),
    }


HEADER = ("target/s", "round", "contender", "offered/s", "achieved/s", "kept up", "late", "CPU s/1k", "cores",
          "RSS MiB", "procs", "simulator cores", "broker ack ms")


def row(r: dict[str, Any]) -> tuple[str, ...]:
    return (f"{r['target']:.0f}", str(r["round"]), r["contender"], f"{r['offered']:.0f}", f"{r['achieved']:.0f}",
            "yes" if r["kept_up"] else "no", str(r["late"]), f"{r['cpu_per_1k']:.3f}", f"{r['cores']:.2f}",
            f"{r['rss_mb']:.0f}", str(r["processes"]), f"{r['sim_cores']:.2f}", f"{r['broker_ack_ms']:.1f}")


def table(rows: list[tuple[str, ...]]) -> str:
    rows = [HEADER, *rows]
    widths = [max(len(x[i]) for x in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(x, widths, strict=True)) for x in rows) + "\n"


def ratios(results: list[dict[str, Any]]) -> str:
    """krwfeed's CPU per message over each peer's, per rate and round."""
    lines = []
    keys = sorted({(r["target"], r["round"]) for r in results})
    for target, rnd in keys:
        got = {r["contender"]: r for r in results if (r["target"], r["round"]) == (target, rnd)}
        if "krwfeed" not in got:
            continue
        parts = []
        for peer in ("cryptofeed", "minimal"):
            if peer in got and got[peer]["cpu_per_1k"] > 0:
                parts.append(f"krwfeed/{peer} {got['krwfeed']['cpu_per_1k'] / got[peer]['cpu_per_1k']:.2f}x")
        behind = [name for name, r in got.items() if not r["kept_up"]]
        note = f" (did not keep up: {', '.join(behind)})" if behind else ""
        lines.append(f"{target:.0f} msgs/s, round {rnd}: CPU per message " + (", ".join(parts) or "n/a") + note)
    return "\n".join(lines) + "\n"


def missing_peers() -> list[str]:
    return [name for name in ("cryptofeed", "aiokafka", "confluent_kafka") if importlib.util.find_spec(name) is None]


def run_comparison(args: argparse.Namespace) -> int:
    missing = missing_peers()
    if missing:
        print(f"peers not installed ({', '.join(missing)}): pip install -e .[bench]", file=sys.stderr)
        return 2
    rates = [float(r) for r in args.rates.split(",")]
    step_s = 10.0 if args.quick else args.step_s
    prefix = "peers-" + uuid.uuid4().hex[:8]
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"krwfeed-{prefix}"
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    with broker(args.kafka_port) as bootstrap:
        make_topics(bootstrap, f"{prefix}-krwfeed")
        for name in CONTENDERS[1:]:
            for topic in contender_topics(name, prefix):
                create_topic(bootstrap, topic, 6, {"message.timestamp.type": "LogAppendTime"})
        counters = {name: AppendCounter(bootstrap, contender_topics(name, prefix)) for name in CONTENDERS}
        probe = BrokerProbe(bootstrap, f"{prefix}-probe")
        sim = simulator(args.peer_markets, 0, idle_timeout=0, load=args.sim_mode == "load", tls=True)
        sim_cpu = ProcessCpu(sim.proc.pid)
        try:
            codes = market_codes(sim, args.peer_markets)
            print(f"peer comparison: {len(codes)} Upbit markets, {step_s:.0f} s steps, {args.rounds} rounds, "
                  f"krwfeed kafka.client {args.client or 'default'}, simulator {args.sim_mode} mode; "
                  f"logs in {workdir}", flush=True)
            print(table([]).rstrip(), flush=True)
            for rate in rates:
                for rnd in range(1, args.rounds + 1):
                    shift = (rnd - 1) % len(CONTENDERS)
                    for name in CONTENDERS[shift:] + CONTENDERS[:shift]:
                        running = start_contender(name, sim, bootstrap, codes, prefix, args, workdir)
                        try:
                            result = measure(name, running, sim, sim_cpu, counters[name], probe, rate, step_s)
                        finally:
                            running.stop()
                            wait_disconnected(sim)
                        result["round"] = rnd
                        results.append(result)
                        print(table([row(result)]).splitlines()[-1], flush=True)
        finally:
            for close in (*(c.close for c in counters.values()), probe.close):
                with contextlib.suppress(Exception):
                    close()
            sim.stop()
    text = table([row(r) for r in results]) + "\n" + ratios(results)
    text += f"load average at the end (2 cores): {', '.join(f'{x:.1f}' for x in os.getloadavg())}\n"
    print("\n" + text)
    out = Path(args.out or RESULTS / "peers.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"python bench/throughput.py {' '.join(sys.argv[1:])}\n\n{text}")
    return 0
