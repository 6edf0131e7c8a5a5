"""Memory soak: krwfeed at a realistic load for a long time, its resident memory sampled throughout.

    python bench/soak.py                 # 30 minutes
    python bench/soak.py --minutes 2     # the CI length

200 markets on each exchange, about 2,000 msgs/s in all (half trades, half orderbooks), through the
project's broker (KAFKA_PORT, default 39092; started if not running). Every ``--interval`` seconds
it samples the resident set size (RSS) of every krwfeed process (main, Thespian admin and logger,
supervisor, connectors, buffer, producers) and the buffer depth. Writes bench/results/soak.png
(memory per process and in total, buffer depth) and bench/results/soak.txt.

Pass line: total RSS growth after warm-up below 5 %. Warm-up is the first 20 % of the run (at
least 30 s); growth compares the mean of the last 10 % of samples with the mean of the first 10 %
after warm-up, so one sample's noise does not decide it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    EXCHANGES,
    RESULTS,
    ProcessTree,
    broker,
    counters_from_metrics,
    make_topics,
    market_codes,
    scrape,
    simulator,
    start_service,
)


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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--markets", type=int, default=200, help="markets on each exchange")
    p.add_argument("--rate", type=float, default=2000.0, help="msgs/s in all")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", "39092")))
    p.add_argument("--admin-port", type=int, default=20001)
    p.add_argument("--web-port", type=int, default=20101)
    p.add_argument("--out", default=str(RESULTS / "soak"), help="path prefix for .png and .txt")
    args = p.parse_args()
    duration = args.minutes * 60
    warm_s = max(30.0, duration * 0.2)
    interval = min(args.interval, duration / 20)
    times: list[float] = []
    total: list[float] = []
    depth: list[float] = []
    per_process: dict[str, list[float]] = {}
    prefix = "soak-" + uuid.uuid4().hex[:8]
    with broker(args.kafka_port) as bootstrap:
        make_topics(bootstrap, prefix)
        sim = simulator(args.markets, args.rate / len(EXCHANGES), idle_timeout=0)
        service = None
        try:
            codes = market_codes(sim, args.markets)
            service = start_service(sim, bootstrap, codes, prefix, args.admin_port, args.web_port)
            service.wait_connected(90)
            tree = ProcessTree(service)
            main_pid = str(service.proc.pid)
            began = time.monotonic()
            cpu0 = tree.cpu_seconds()
            while (elapsed := time.monotonic() - began) < duration:
                rss = tree.rss_mb()
                status = service.status() or {}
                times.append(elapsed)
                total.append(sum(rss.values()))
                depth.append(sum(((status.get("buffer") or {}).get("depth") or {}).values()))
                for pid, mb in rss.items():
                    label = "main" if pid == main_pid else f"pid {pid}"
                    per_process.setdefault(label, []).append(mb)
                time.sleep(interval)
            cpu = tree.cpu_seconds() - cpu0
            status = service.status() or {}
            _, dropped = counters_from_metrics(scrape(args.web_port))
        finally:
            if service is not None:
                service.cleanup()
            sim.stop()
    warm = next((i for i, t in enumerate(times) if t >= warm_s), len(times))
    total_growth = growth(total, warm)
    worst = max(((label, growth(series, warm - (len(times) - len(series))))
                 for label, series in per_process.items() if len(series) > warm), key=lambda x: x[1],
                default=("-", float("nan")))
    received, published = status.get("total_received", 0), status.get("total_published", 0)
    lines = [
        f"python bench/soak.py {' '.join(sys.argv[1:])}",
        f"load average at the end: {os.getloadavg()}",
        f"{args.markets} markets x {len(EXCHANGES)} exchanges, {args.rate:.0f} msgs/s offered, "
        f"{duration / 60:.1f} min, {len(times)} samples, warm-up {warm_s:.0f} s",
        f"received {received}, published {published} ({published / max(1.0, duration):.0f} msgs/s), "
        f"CPU {cpu / max(1, published) * 1000:.3f} s per 1,000 messages",
        "dropped: " + (", ".join(f"{dt}:{r}={n}" for (dt, r), n in sorted(dropped.items()) if n) or "none"),
        f"processes: {len(per_process)}; total RSS after warm-up {total[warm] if warm < len(total) else float('nan'):.1f}"
        f" MiB -> end {total[-1]:.1f} MiB",
        f"buffer depth: mean {mean(depth):.0f}, max {max(depth):.0f} records",
        f"largest per-process growth: {worst[0]} {worst[1]:+.2f} %",
        f"memory growth after warm-up: {total_growth:+.2f} % -> "
        f"{'PASS' if total_growth < 5 else 'FAIL'} (limit 5 %)",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".txt").write_text(text)
    plot(times, per_process, total, depth, warm_s, out.with_suffix(".png"),
         f"krwfeed soak: {args.markets}x{len(EXCHANGES)} markets, {args.rate:.0f} msgs/s, "
         f"growth after warm-up {total_growth:+.2f} %")
    return 0 if total_growth < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
