"""How long a listing and a delisting take to reach krwfeed with ``markets: all``.

krwfeed (upbit only, ``markets: all``, ``markets_refresh_s`` from ``--refresh``) runs against the
simulator and the project's broker. Each round lists a new market through the simulator's ``list``
control at a random point of the refresh period, then delists it; measured:

* listing -> followed: the code shows in ``/api/status`` (polled every 50 ms);
* listing -> first record: the earliest ``received_time`` of the code's trades read back from Kafka
  (the same host's clock), i.e. the subscription request sent on the open socket and served;
* delisting -> dropped: the code gone from ``/api/status``.

A listing waits for the next refresh, so both should spread over 0 .. ``--refresh`` s plus the
request and the status cadence (stats every 0.5 s).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import api_status, broker, make_topics, simulator, start_service  # noqa: E402
from proto.krwfeed.v1 import market_data_pb2 as pb  # noqa: E402
from tests.e2e.kafka_readback import read_topic  # noqa: E402


def followed(web_port: int) -> set[str]:
    status = api_status(web_port) or {}
    return {code for conn in status.get("connections", []) for code in conn.get("codes", [])}


def wait_until(check, timeout_s: float) -> float:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return time.time()
        time.sleep(0.05)
    raise SystemExit(f"timed out after {timeout_s} s")


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    return (f"{name}: min {ordered[0]:.2f} s, median {ordered[len(ordered) // 2]:.2f} s, "
            f"max {ordered[-1]:.2f} s over {len(ordered)} rounds")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--refresh", type=float, default=5.0, help="markets_refresh_s")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--markets", type=int, default=20, help="markets listed at start")
    p.add_argument("--rate", type=float, default=40.0, help="simulated msgs/s")
    p.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", "39092")))
    p.add_argument("--admin-port", type=int, default=20000)
    p.add_argument("--web-port", type=int, default=20100)
    p.add_argument("--out", default=None, help="also write the output here")
    args = p.parse_args()
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    prefix = "bench-" + uuid.uuid4().hex[:8]
    rng = random.Random(7)
    listed_at: dict[str, float] = {}
    to_followed: list[float] = []
    to_dropped: list[float] = []
    with broker(args.kafka_port) as bootstrap:
        make_topics(bootstrap, prefix)
        sim = simulator(args.markets, args.rate)
        service = None
        try:
            service = start_service(sim, bootstrap, [], prefix, args.admin_port, args.web_port,
                                    exchanges=("upbit",),
                                    upbit={"markets": "all", "markets_refresh_s": args.refresh})
            service.wait_connected(60)
            say(f"python bench/market_discovery.py {' '.join(sys.argv[1:])}")
            say(f"markets: all, markets_refresh_s {args.refresh:g}, {args.markets} markets at start, "
                f"{args.rate:g} msgs/s, {os.cpu_count()} cores")
            for n in range(args.rounds):
                code = f"KRW-BENCH{n}"
                time.sleep(rng.uniform(0, args.refresh))  # a random point of the refresh period
                listed_at[code] = time.time()
                sim.control("list", "upbit", code=code, price="1000")
                seen = wait_until(lambda c=code: c in followed(args.web_port), 4 * args.refresh + 10)
                to_followed.append(seen - listed_at[code])
                time.sleep(1.0)  # let it trade
                sim.control("delist", "upbit", code=code)
                delisted = time.time()
                gone = wait_until(lambda c=code: c not in followed(args.web_port), 4 * args.refresh + 10)
                to_dropped.append(gone - delisted)
                say(f"round {n + 1}: {code} followed after {to_followed[-1]:.2f} s, dropped "
                    f"{to_dropped[-1]:.2f} s after its delisting")
            first: dict[str, float] = {}
            for read in read_topic(bootstrap, f"{prefix}.upbit.trade", timeout_s=30):
                trade = pb.Trade.FromString(read.value)
                if trade.code in listed_at:
                    at = trade.received_time.seconds + trade.received_time.nanos / 1e9
                    first[trade.code] = min(first.get(trade.code, at), at)
            to_first = [first[c] - listed_at[c] for c in listed_at if c in first]
            status = api_status(args.web_port) or {}
            say(f"discovery status at the end: {status.get('discovery', {})}")
        finally:
            if service is not None:
                service.cleanup()
            sim.stop()
    say("")
    say(summary("listing -> followed (status)", to_followed))
    if to_first:
        say(summary("listing -> first record received (Kafka)", to_first))
    say(f"{len(to_first)} of {len(listed_at)} listings have trades in Kafka")
    say(summary("delisting -> dropped (status)", to_dropped))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
