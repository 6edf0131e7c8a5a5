"""Throughput and latency: simulator -> krwfeed -> Kafka, stepping the offered rate up until something gives.

    python bench/throughput.py                    # 60 s steps: 1k, 2k, 5k, 10k, 20k, 30k msgs/s
    python bench/throughput.py --quick            # 10 s steps, same rates
    python bench/throughput.py --rates 2000 --step-s 30
    python bench/throughput.py --client confluent-kafka --rates 2000,20000
    python bench/throughput.py --peers --rates 2000,5000 --rounds 2    # krwfeed, cryptofeed, minimal, alternated

One broker (KAFKA_PORT, default 39092; started if not running), one simulator (N markets on each
exchange, half trades, half orderbooks), one krwfeed process tree. For each step the simulator's
logs are reset, the rate is split evenly over Upbit and Bithumb, and after the step the flow is
stopped and krwfeed allowed to drain, then:

* offered  = messages the simulator wrote per second of the step;
* achieved = messages Kafka appended per second of the step (LogAppendTime inside the step);
* dropped  = krwfeed's drop counters by reason (from /metrics), Kafka failures as publish_failed;
* unaccounted = trades sent and neither in Kafka nor counted as dropped (plus orderbooks by count);
* CPU s/1k = user+system CPU of every krwfeed process, per 1,000 messages delivered;
* latency p50/p99/max, simulator send -> Kafka ack and krwfeed receive -> Kafka ack (bench/common.py).

Under each step, where the cost is:

* actor messages per second on each hop of the data path (``ingestion_data_path_messages_total{hop}``
  on /metrics; "n/a" when krwfeed does not count them);
* per role (connector, buffer, producer, supervisor, main, other; the roles come from ``processes`` in
  /api/status, else the tree is split into main and other): processes, CPU s per 1,000 messages, cores
  and RSS at the end of the offered period; "producer: client threads" is the part of the producers'
  CPU spent outside their main thread (the Kafka client's own threads);
* the simulator's and the broker's CPU over the same window, beside krwfeed's.

The simulator runs in load mode (frames rendered ahead, ``--sim-mode normal`` for the old one), so
it can offer 20,000 msgs/s and more. ``--client`` sets ``kafka.client`` in krwfeed's config.
``--peers`` runs the peer comparison instead (bench/peers.py).

A step is *sustained* when nothing is unaccounted or dropped and achieved >= 95 % of offered.
The table goes to stdout and to bench/results/throughput.txt.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    EXCHANGES,
    RESULTS,
    ProcessCpu,
    ProcessTree,
    RoleMeter,
    TopicCursor,
    broker,
    counters_from_metrics,
    hop_rates,
    kafka_config,
    latencies_ms,
    make_topics,
    market_codes,
    ordered_roles,
    scrape,
    settled,
    simulator,
    start_service,
    usage_delta,
)
from tests.faults.accounting import COPY_REASONS, KrwfeedCounters, account_orderbooks, account_trades  # noqa: E402
from tests.support.kafka_broker import LocalBroker  # noqa: E402

HEADER = ("target/s", "offered/s", "achieved/s", "dropped", "unacc.", "CPU s/1k",
          "send->ack p50/p99/max ms", "recv->ack p50/p99/max ms", "recv->send() ms", "send()->ack ms",
          "drain s", "sustained")


def fmt_lat(p: dict[str, float]) -> str:
    return f"{p['p50']:.0f}/{p['p99']:.0f}/{p['max']:.0f}"


def wait_drained(sim, service, timeout_s: float, received_before: int) -> float:  # type: ignore[no-untyped-def]
    """Seconds until krwfeed has read every frame the simulator wrote in the step and published
    (or dropped) what it read.

    The simulator's queues and socket buffers being empty is not enough: written frames can still
    sit in the kernel's socket buffers, unread, and would count as lost. So it also waits until
    krwfeed's received count has grown by the number of frames the sent log holds.
    """
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if all(st["backlog"] == 0 and st.get("buffered_bytes", 0) == 0 for st in map(sim.stats, EXCHANGES)):
            break
        time.sleep(0.2)
    sent = sum(int(sim.stats(e).get("logged", 0)) for e in EXCHANGES)
    left = max(5.0, timeout_s - (time.monotonic() - began))
    try:
        service.wait_for(lambda st: st["total_received"] - received_before >= sent and settled(st),
                         min(left, 30.0), "krwfeed read and drained the step")
    except AssertionError:
        # It may never read them all (a connection cut mid-step loses what its socket held, and the
        # accounting then shows it): settle for what it did read.
        if service.proc.poll() is not None:
            raise
        service.wait_for(settled, left, "krwfeed drained")
    time.sleep(1.2)  # the buffer's and connectors' metric sync period
    return time.monotonic() - began


@dataclass
class Meters:
    """What a step measures besides krwfeed's whole tree: its roles, the simulator, the broker."""

    roles: RoleMeter
    simulator: ProcessCpu
    broker: ProcessCpu


def run_step(sim, service, tree: ProcessTree, cursor: TopicCursor, web_port: int,  # type: ignore[no-untyped-def]
             rate: float, step_s: float, meters: Meters) -> dict[str, object]:
    for e in EXCHANGES:
        sim.reset(e)
    cursor.read_new()  # leave out whatever arrived before the step
    metrics0 = scrape(web_port)
    received0, dropped0 = counters_from_metrics(metrics0)
    received_before = int((service.status() or {}).get("total_received", 0))
    cpu0 = tree.cpu_seconds()
    usage0 = meters.roles.sample()
    sim_cpu0, broker_cpu0 = meters.simulator.cpu_seconds(), meters.broker.cpu_seconds()
    t0 = time.time()
    for e in EXCHANGES:
        sim.set_rate(rate / len(EXCHANGES), e)
    time.sleep(step_s)
    for e in EXCHANGES:
        sim.set_rate(0, e)
    t1 = time.time()
    metrics_t1 = scrape(web_port)
    roles = meters.roles.roles()
    at_load = meters.roles.sample()  # memory while loaded
    drain_s = wait_drained(sim, service, 60 + step_s, received_before)
    cpu = tree.cpu_seconds() - cpu0
    window_s = time.time() - t0
    role_cpu = usage_delta(usage0, meters.roles.sample(), roles)
    sim_cpu, broker_cpu = meters.simulator.cpu_seconds() - sim_cpu0, meters.broker.cpu_seconds() - broker_cpu0
    metrics1 = scrape(web_port)
    received1, dropped1 = counters_from_metrics(metrics1)
    samples = cursor.read_new()
    logs = [sim.sent_log(e) for e in EXCHANGES]
    counters = KrwfeedCounters(received=received1 - received0, dropped=dropped1 - dropped0)
    trades = account_trades(logs, [(s.exchange, s.code, s.sequential_id) for s in samples
                                   if s.data_type == "trade"], counters)
    books: dict[tuple[str, str], int] = {}
    for s in samples:
        if s.data_type == "orderbook":
            books[(s.exchange, s.code)] = books.get((s.exchange, s.code), 0) + 1
    orderbooks = account_orderbooks(logs, books, counters)
    sent = sum(int(log["trade_count"]) + int(log["orderbook_count"]) for log in logs)
    in_step = sum(1 for s in samples if t0 * 1000 <= s.ack_ms <= t1 * 1000 + 1)
    dropped = {f"{dt}:{r}": n for (dt, r), n in counters.dropped.items() if n and r not in COPY_REASONS}
    send_lat, recv_lat = latencies_ms(samples)
    unaccounted = trades.unaccounted + orderbooks.unaccounted
    achieved = in_step / step_s
    offered = sent / step_s
    delivered = max(1, len(samples))
    return {
        "target": rate, "offered": offered, "achieved": achieved, "dropped": dropped,
        "unaccounted": unaccounted, "duplicates": trades.duplicates + orderbooks.duplicates,
        "ambiguous": trades.ambiguous + orderbooks.ambiguous,
        "cpu_per_1k": cpu / delivered * 1000, "send": send_lat, "recv": recv_lat,
        "drain_s": drain_s,
        "handoff_ms": histogram_mean_ms(metrics0, metrics1, "ingestion_processing_latency_seconds"),
        "kafka_ms": histogram_mean_ms(metrics0, metrics1, "ingestion_kafka_publish_latency_seconds"),
        "sustained": unaccounted == 0 and not dropped and trades.duplicates == 0 and achieved >= 0.95 * offered,
        "hops": hop_rates(metrics0, metrics_t1, t1 - t0),
        "roles": {role: {"processes": at_load.processes.get(role, 0), "cpu_per_1k": c / delivered * 1000,
                         "cores": c / window_s, "rss_mb": at_load.rss_mb.get(role, float("nan"))}
                  for role, c in role_cpu.items()},
        "per_role": meters.roles.per_role,
        "rss_total_mb": sum(at_load.rss_mb.values()), "processes": sum(at_load.processes.values()),
        "simulator": {"cpu_per_1k": sim_cpu / max(1, sent) * 1000, "cores": sim_cpu / window_s,
                      "rss_mb": meters.simulator.rss_mb()},
        "broker": {"cpu_per_1k": broker_cpu / delivered * 1000, "cores": broker_cpu / window_s,
                   "rss_mb": meters.broker.rss_mb()},
        "cores_total": cpu / window_s,
    }


def breakdown(r: dict[str, Any]) -> str:
    """The step's cost, per hop and per role, as an indented block under its table row."""
    hops = r["hops"]
    hop_text = "n/a" if hops is None else ", ".join(f"{hop} {rate:.1f}" for hop, rate in hops.items()) or "none"
    lines = [f"  {r['target']:.0f} msgs/s: actor messages/s per hop: {hop_text}"]
    rows = [("role", "procs", "CPU s/1k", "cores", "RSS MiB")]
    roles = r["roles"]
    for role in ordered_roles(list(roles)):
        v = roles[role]
        procs = "" if role.startswith("producer:") else str(v["processes"])
        rss = "" if role.startswith("producer:") else f"{v['rss_mb']:.0f}"
        rows.append((role, procs, f"{v['cpu_per_1k']:.3f}", f"{v['cores']:.2f}", rss))
    rows.append(("krwfeed total", str(r["processes"]), f"{r['cpu_per_1k']:.3f}", f"{r['cores_total']:.2f}",
                 f"{r['rss_total_mb']:.0f}"))
    for name in ("simulator", "broker"):
        v = r[name]
        rows.append((name, "", f"{v['cpu_per_1k']:.3f}", f"{v['cores']:.2f}", f"{v['rss_mb']:.0f}"))
    widths = [max(len(x[i]) for x in rows) for i in range(len(rows[0]))]
    lines += ["    " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(x, widths, strict=True)))
              for x in rows]
    if not r["per_role"]:
        lines.append("    (krwfeed names no roles in /api/status: the tree is split into main and other)")
    return "\n".join(lines) + "\n"


Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def histogram_mean_ms(before: Metrics, after: Metrics, name: str) -> float:
    """Mean of a krwfeed latency histogram over the step, in ms (both data types)."""
    def total(metrics: Metrics, suffix: str) -> float:
        return float(sum(v for (n, _), v in metrics.items() if n == name + suffix))

    count = total(after, "_count") - total(before, "_count")
    return float((total(after, "_sum") - total(before, "_sum")) / count * 1000) if count else float("nan")


def row(r: dict[str, object]) -> tuple[str, ...]:
    dropped = ", ".join(f"{k}={v}" for k, v in r["dropped"].items()) or "0"  # type: ignore[attr-defined]
    return (f"{r['target']:.0f}", f"{r['offered']:.0f}", f"{r['achieved']:.0f}", dropped,
            str(r["unaccounted"]), f"{r['cpu_per_1k']:.3f}", fmt_lat(r["send"]), fmt_lat(r["recv"]),  # type: ignore[arg-type]
            f"{r['handoff_ms']:.1f}", f"{r['kafka_ms']:.1f}", f"{r['drain_s']:.1f}", "yes" if r["sustained"] else "no")


def table(rows: list[tuple[str, ...]]) -> str:
    rows = [HEADER, *rows]
    widths = [max(len(x[i]) for x in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(x, widths, strict=True)) for x in rows) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", default="1000,2000,5000,10000,20000,30000", help="msgs/s, comma-separated")
    p.add_argument("--step-s", type=float, default=60.0)
    p.add_argument("--quick", action="store_true", help="10 s steps")
    p.add_argument("--markets", type=int, default=100, help="markets on each exchange")
    p.add_argument("--markets-per-connection", type=int, default=None,
                   help="krwfeed's markets_per_connection (default: the service's own default)")
    p.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", "39092")))
    p.add_argument("--admin-port", type=int, default=20000)
    p.add_argument("--web-port", type=int, default=20100)
    p.add_argument("--keep-going", action="store_true", help="run every step even after one is not sustained")
    p.add_argument("--client", choices=("kafka-python", "confluent-kafka"), default=None,
                   help="krwfeed's kafka.client (default: the service's own default)")
    p.add_argument("--sim-mode", choices=("load", "normal"), default="load",
                   help="simulator load mode (frames rendered ahead) or its normal mode")
    p.add_argument("--peers", action="store_true",
                   help="compare krwfeed with cryptofeed and a minimal pipeline instead (bench/peers.py)")
    p.add_argument("--rounds", type=int, default=2, help="with --peers: rounds of the alternated comparison")
    p.add_argument("--peer-markets", type=int, default=100, help="with --peers: Upbit markets")
    p.add_argument("--out", default=None, help="default bench/results/throughput.txt (--peers: peers.txt)")
    args = p.parse_args()
    if args.peers:
        from bench.peers import run_comparison

        return int(run_comparison(args))
    step_s = 10.0 if args.quick else args.step_s
    rates = [float(r) for r in args.rates.split(",")]
    results: list[dict[str, object]] = []
    prefix = "bench-" + uuid.uuid4().hex[:8]
    with broker(args.kafka_port) as bootstrap:
        topics = make_topics(bootstrap, prefix)
        sim = simulator(args.markets, 0, idle_timeout=0, load=args.sim_mode == "load")
        service = None
        try:
            codes = market_codes(sim, args.markets)
            service = start_service(sim, bootstrap, codes, prefix, args.admin_port, args.web_port,
                                    markets_per_connection=args.markets_per_connection,
                                    kafka=kafka_config(args.client))
            service.wait_connected(60)
            tree = ProcessTree(service)
            cursor = TopicCursor(bootstrap, topics)
            meters = Meters(RoleMeter(tree, args.web_port), ProcessCpu(sim.proc.pid),
                            ProcessCpu(LocalBroker(args.kafka_port).pid))
            print(f"krwfeed: {len(tree.processes())} processes, {len(codes)} markets x {len(EXCHANGES)} "
                  f"exchanges, {step_s:.0f} s steps, kafka.client {args.client or 'default'}, "
                  f"simulator {args.sim_mode} mode", flush=True)
            run_step(sim, service, tree, cursor, args.web_port, 500, 3, meters)  # warm-up, not reported
            for rate in rates:
                result = run_step(sim, service, tree, cursor, args.web_port, rate, step_s, meters)
                results.append(result)
                print(table([row(result)]).splitlines()[-1], flush=True)
                print(breakdown(result), flush=True)
                if not result["sustained"] and not args.keep_going:
                    break
            cursor.close()
        finally:
            if service is not None:
                service.cleanup()
            sim.stop()
    best = max((float(r["target"]) for r in results if r["sustained"]), default=None)  # type: ignore[arg-type]
    text = (f"{args.markets} markets x {len(EXCHANGES)} exchanges, {step_s:.0f} s steps, kafka.client "
            f"{args.client or 'default'}, simulator {args.sim_mode} mode\n\n")
    text += table([row(r) for r in results])
    text += "\nwhere the cost is (CPU over the step and its drain; RSS at the end of the offered period):\n"
    text += "".join(breakdown(r) for r in results)
    text += (f"\nhighest rate sustained for {step_s:.0f} s with zero loss: "
             f"{'none' if best is None else f'{best:.0f} msgs/s'}\n")
    at_2k = next((r for r in results if r["target"] == 2000), None)
    if at_2k is not None:
        text += f"p99 krwfeed receive -> Kafka ack at 2,000 msgs/s: {at_2k['recv']['p99']:.0f} ms (target <= 25 ms)\n"  # type: ignore[index]
    text += f"load average at the end (2 cores): {', '.join(f'{x:.1f}' for x in os.getloadavg())}\n"
    print("\n" + text)
    out = Path(args.out or RESULTS / "throughput.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"python bench/throughput.py {' '.join(sys.argv[1:])}\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
