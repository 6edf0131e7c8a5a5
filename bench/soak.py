"""Memory soak: krwfeed at a realistic load for a long time, its resident memory sampled throughout.

    python bench/soak.py                                  # 30 minutes, results in a new temp dir
    python bench/soak.py --minutes 2 --out /tmp/soak/soak  # the CI length; /tmp/soak/soak.{txt,png,csv}
    python bench/soak.py --out bench/results/soak --client confluent-kafka

200 markets on each exchange, 2,000 msgs/s in all (half trades, half orderbooks; the simulator in load
mode unless ``--sim-mode normal``), through the project's broker (KAFKA_PORT, default 39092; started
if not running). Every ``--interval`` seconds it samples the resident set size (RSS) of every krwfeed
process (main, Thespian admin and logger, supervisor, connectors, buffer, producers; labelled by the
role and name krwfeed gives in /api/status, else by pid), the tree's PSS (shared pages counted once:
the RAM it holds), the buffer depth and what the simulator has offered. ``--out PREFIX`` (default: a new temporary directory, so runs leave the checkout alone) gets
PREFIX.txt (the summary), PREFIX.png (memory per process and in total, buffer depth) and PREFIX.csv
(every sample).

Pass line: **0 records expired and total RSS growth after warm-up at most 2 %.** Warm-up is the first
20 % of the run (at least 30 s); growth compares the mean of the last 10 % of samples with the mean
of the first 10 % after warm-up, so one sample's noise does not decide it.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    EXCHANGES,
    ProcessTree,
    api_status,
    broker,
    counters_from_metrics,
    kafka_config,
    make_topics,
    market_codes,
    scrape,
    simulator,
    start_service,
)

GROWTH_LIMIT_PCT = 2.0


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def growth(series: list[float], warm: int) -> float:
    """Percent growth: last 10 % of samples against the first 10 % after warm-up."""
    after = series[warm:]
    if len(after) < 2:
        return float("nan")
    k = max(1, len(after) // 10)
    start, end = mean(after[:k]), mean(after[-k:])
    return (end - start) / start * 100


def plot(times: list[float], per_process: dict[str, list[float]], total: list[float], depth: list[float],
         warm_s: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, mid, bottom) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    minutes = [t / 60 for t in times]
    top.plot(minutes, total, color="black")
    top.set_ylabel("total RSS (MiB)")
    top.set_title(title)
    for label, series in sorted(per_process.items()):
        mid.plot(minutes[-len(series):], series, label=label, linewidth=1)
    mid.set_ylabel("RSS per process (MiB)")
    mid.legend(fontsize=7, ncol=3)
    bottom.plot(minutes, depth, color="tab:orange")
    bottom.set_ylabel("buffer depth (records)")
    bottom.set_xlabel("minutes")
    for ax in (top, mid, bottom):
        ax.axvline(warm_s / 60, color="grey", linestyle="--", linewidth=0.8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def labels(tree: ProcessTree, web_port: int) -> dict[int, str]:
    """A label per krwfeed process: ``role name`` from /api/status, ``main``, or the pid."""
    listed = {int(p["pid"]): f"{p.get('role', '?')} {p.get('name', '')}".strip()
              for p in (api_status(web_port) or {}).get("processes") or [] if p.get("pid")}
    main_pid = tree.service.proc.pid
    return {proc.pid: listed.get(proc.pid) or ("main" if proc.pid == main_pid else f"pid {proc.pid}")
            for proc in tree.processes()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--markets", type=int, default=200, help="markets on each exchange")
    p.add_argument("--rate", type=float, default=2000.0, help="msgs/s in all")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", "39092")))
    p.add_argument("--admin-port", type=int, default=20001)
    p.add_argument("--web-port", type=int, default=20101)
    p.add_argument("--client", choices=("kafka-python", "confluent-kafka"), default=None,
                   help="krwfeed's kafka.client (default: the service's own default)")
    p.add_argument("--sim-mode", choices=("load", "normal"), default="load")
    p.add_argument("--out", default=None,
                   help="path prefix for .txt, .png and .csv (default: soak in a new temporary directory)")
    args = p.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="krwfeed-soak-")) / "soak"
    duration = args.minutes * 60
    warm_s = max(30.0, duration * 0.2)
    interval = min(args.interval, duration / 20)
    times: list[float] = []
    total: list[float] = []
    pss: list[float] = []
    depth: list[float] = []
    offered: list[float] = []
    per_process: dict[str, list[float]] = {}
    prefix = "soak-" + uuid.uuid4().hex[:8]
    with broker(args.kafka_port) as bootstrap:
        make_topics(bootstrap, prefix, events=True)
        sim = simulator(args.markets, 0, idle_timeout=0, load=args.sim_mode == "load")
        service = None
        try:
            codes = market_codes(sim, args.markets)
            service = start_service(sim, bootstrap, codes, prefix, args.admin_port, args.web_port,
                                    kafka=kafka_config(args.client))
            service.wait_connected(90)
            tree = ProcessTree(service)
            for e in EXCHANGES:
                sim.set_rate(args.rate / len(EXCHANGES), e)
            produced0 = sum(sim.stats(e)["events_produced"] for e in EXCHANGES)
            _, dropped0 = counters_from_metrics(scrape(args.web_port))
            began = time.monotonic()
            cpu0 = tree.cpu_seconds()
            names = labels(tree, args.web_port)
            status0 = service.status() or {}
            while (elapsed := time.monotonic() - began) < duration:
                rss = tree.rss_mb()
                if any(int(pid) not in names for pid in rss):  # a restarted process
                    names = labels(tree, args.web_port)
                status = service.status() or {}
                times.append(elapsed)
                total.append(sum(rss.values()))
                pss.append(tree.pss_mb())
                depth.append(sum(((status.get("buffer") or {}).get("depth") or {}).values()))
                offered.append(sum(sim.stats(e)["events_produced"] for e in EXCHANGES) - produced0)
                for pid, mb in rss.items():
                    per_process.setdefault(names.get(int(pid), f"pid {pid}"), []).append(mb)
                time.sleep(interval)
            elapsed = time.monotonic() - began
            cpu = tree.cpu_seconds() - cpu0
            offered_total = sum(sim.stats(e)["events_produced"] for e in EXCHANGES) - produced0
            for e in EXCHANGES:
                sim.set_rate(0, e)
            status = service.status() or {}
            _, dropped1 = counters_from_metrics(scrape(args.web_port))
        finally:
            if service is not None:
                service.cleanup()
            sim.stop()
    dropped = dropped1 - dropped0
    warm = next((i for i, t in enumerate(times) if t >= warm_s), len(times))
    total_growth = growth(total, warm)
    worst = max(((label, growth(series, warm - (len(times) - len(series))))
                 for label, series in per_process.items() if len(series) > warm), key=lambda x: x[1],
                default=("-", float("nan")))
    received = status.get("total_received", 0) - status0.get("total_received", 0)
    published = status.get("total_published", 0) - status0.get("total_published", 0)
    expired = sum(n for (_, reason), n in dropped.items() if reason == "expired")
    passed = expired == 0 and total_growth <= GROWTH_LIMIT_PCT
    lines = [
        f"python bench/soak.py {' '.join(sys.argv[1:])}",
        f"load average at the end: {os.getloadavg()}",
        f"{args.markets} markets x {len(EXCHANGES)} exchanges, {args.rate:.0f} msgs/s asked, "
        f"{offered_total / max(1.0, elapsed):.0f} msgs/s offered, {elapsed / 60:.1f} min, "
        f"{len(times)} samples, warm-up {warm_s:.0f} s, kafka.client {args.client or 'default'}, "
        f"simulator {args.sim_mode} mode",
        f"received {received}, published {published} ({published / max(1.0, elapsed):.0f} msgs/s), "
        f"CPU {cpu / max(1, published) * 1000:.3f} s per 1,000 messages",
        "dropped: " + (", ".join(f"{dt}:{r}={n}" for (dt, r), n in sorted(dropped.items()) if n) or "none"),
        f"processes: {len(per_process)}; total RSS after warm-up {total[warm] if warm < len(total) else float('nan'):.1f}"
        f" MiB -> end {total[-1]:.1f} MiB; total PSS (shared pages counted once) "
        f"{pss[warm] if warm < len(pss) else float('nan'):.1f} MiB -> end {pss[-1]:.1f} MiB",
        f"buffer depth: mean {mean(depth):.0f}, max {max(depth):.0f} records",
        f"largest per-process growth: {worst[0]} {worst[1]:+.2f} %",
        f"soak: {expired} expired, RSS growth after warm-up {total_growth:+.2f} % (limits: 0 expired, "
        f"<= {GROWTH_LIMIT_PCT:.0f} %) -> {'PASS' if passed else 'FAIL'}",
        f"written: {out.with_suffix('.txt')}, {out.with_suffix('.png')}, {out.with_suffix('.csv')}",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".txt").write_text(text)
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        series = sorted(per_process)
        writer.writerow(["seconds", "offered", "buffer_depth", "total_rss_mib", "total_pss_mib", *series])
        for i, t in enumerate(times):
            cells = []
            for label in series:
                values = per_process[label]
                j = i - (len(times) - len(values))
                cells.append(f"{values[j]:.2f}" if j >= 0 else "")
            writer.writerow([f"{t:.1f}", f"{offered[i]:.0f}", f"{depth[i]:.0f}", f"{total[i]:.2f}", f"{pss[i]:.2f}", *cells])
    plot(times, per_process, total, depth, warm_s, out.with_suffix(".png"),
         f"krwfeed soak: {args.markets}x{len(EXCHANGES)} markets, {args.rate:.0f} msgs/s, "
         f"{expired} expired, growth after warm-up {total_growth:+.2f} %")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
