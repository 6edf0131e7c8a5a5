"""How long the REST backfill after a reconnect takes, and what it costs in CPU.

    python bench/backfill.py                           # 100 and 200 markets, both exchanges, 5 s away
    python bench/backfill.py --markets 100 200 --away-s 5 --rate 400 --out bench/results/backfill.txt

A simulator process trades on every market whether anyone is connected or not, under the venues'
own REST limits (Upbit 10 requests/s, Bithumb 150/s per address). For each exchange and market
count this process plays one connection's reconnect: it notes the last trade of every market
(as the frame pipeline would before a drop), stays away ``--away-s`` seconds, then runs the
connector's backfill exactly as the actor does (``ConnectionBackfill`` paced over the per-IP rate,
GETs on ``RestClient``'s worker threads, answers waited for on its descriptor, recovered trades
through ``FramePipeline.admit_backfill``: validation, dedupe and Protobuf encoding) until every
market has its outcome.

Printed per run: wall time from the reconnect to the last outcome, requests (and 429s), trades
recovered, markets closed / with a gap, and the CPU seconds of this process (main thread and the
REST worker together) for the whole backfill, also per request and per 1,000 trades. The time is
bound by the exchange's REST rate (markets / requests per second, at least), not by the CPU.
"""
from __future__ import annotations

import argparse
import selectors
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.backfill import REST_WORKERS, ConnectionBackfill, rest_rate  # noqa: E402
from connectors.frame_pipeline import FramePipeline  # noqa: E402
from connectors.rest_client import RestClient  # noqa: E402
from domain.clock import utc_now_us  # noqa: E402
from exchanges.registry import get_adapter  # noqa: E402
from tests.support.simulator_process import SimulatorProcess, start_simulator  # noqa: E402

SID_FACTOR = 10_000  # the simulator's trade ids: trade time in ms * 10000 + n


def last_trades(sim: SimulatorProcess, exchange: str) -> dict[str, tuple[int, int]]:
    tape = sim.control("tape", exchange)["trades"]
    return {code: (sids[-1] // SID_FACTOR * 1000, sids[-1]) for code, sids in tape.items() if sids}


def run_once(sim: SimulatorProcess, exchange: str, codes: list[str], away_s: float) -> str:
    pipeline = FramePipeline(get_adapter(exchange), codes)
    seen = last_trades(sim, exchange)
    subscribed_us = utc_now_us()
    time.sleep(away_s)  # away: the markets go on trading
    backfill = ConnectionBackfill(exchange, rest_rate(exchange, 1.0), budget=10_000)
    rest = RestClient(sim.rest(exchange), workers=REST_WORKERS)
    selector = selectors.DefaultSelector()
    selector.register(rest.fileno(), selectors.EVENT_READ)
    recovered = closed = gaps = 0
    cpu0, wall0 = time.process_time(), time.monotonic()
    try:
        backfill.begin(codes, seen, subscribed_us, utc_now_us(), pipeline.seen)
        while True:
            calls, wait_s = backfill.poll(time.monotonic())
            for call in calls:
                rest.submit(call.tag, call.path, call.query)
            for outcome in backfill.take_outcomes():
                recovered += len(pipeline.admit_backfill(outcome.trades, outcome.rejected, utc_now_us()))
                closed += outcome.closed
                gaps += not outcome.closed
            if not backfill.active:
                break
            if selector.select(wait_s if wait_s is not None else 1.0):
                for answer in rest.collect():
                    status = 200 if answer.ok else 429 if answer.rate_limited else None
                    backfill.on_answer(answer.tag, status, answer.body, time.monotonic(), utc_now_us(),
                                       answer.retry_after_s)
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    finally:
        selector.close()
        rest.close()
    counts = backfill.counts
    return (f"{exchange:8s} {len(codes):4d} markets  {wall:6.2f} s  {counts.requests:5d} requests "
            f"({counts.rate_limited} answered 429)  {recovered:6d} trades recovered  {closed} closed, {gaps} gaps  "
            f"CPU {cpu:5.2f} s = {cpu / max(1, counts.requests) * 1000:5.2f} ms/request, "
            f"{cpu / max(1, recovered) * 1e6:6.1f} ms/1000 trades")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markets", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--away-s", type=float, default=5.0, help="seconds between the drop and the reconnect")
    parser.add_argument("--rate", type=float, default=400.0, help="simulator market events per second per exchange")
    parser.add_argument("--exchanges", nargs="+", default=["upbit", "bithumb"])
    parser.add_argument("--out", type=Path, help="also write the lines to this file")
    args = parser.parse_args()
    lines = [f"backfill after one reconnect: {args.away_s:g} s away, simulator {args.rate:g} events/s per "
             f"exchange (half trades) over the markets, the venues' REST limits on"]
    print(lines[0], flush=True)
    for count in args.markets:
        with start_simulator(market_count=count, rate=args.rate, trade_ratio=0.5) as sim:
            _, body = sim.get_json(f"{sim.rest('upbit')}/v1/market/all")
            codes = [m["market"] for m in body][:count]
            time.sleep(1.0)  # every market has traded
            for exchange in args.exchanges:
                line = run_once(sim, exchange, codes, args.away_s)
                print(line, flush=True)
                lines.append(line)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
