"""`python -m simulator`: run both venues until SIGTERM/SIGINT; print one JSON readiness line first."""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sys

from simulator.app import Simulator, SimulatorOptions


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simulator", description="Upbit and Bithumb exchange simulator")
    p.add_argument("--upbit-port", type=int, default=0, help="0 picks a free port (reported on the ready line)")
    p.add_argument("--bithumb-port", type=int, default=0)
    p.add_argument("--control-port", type=int, default=None, help="separate control port (/control/...?exchange=)")
    p.add_argument("--host", default="127.0.0.1")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--markets", help="comma-separated codes, e.g. KRW-BTC,KRW-ETH")
    group.add_argument("--market-count", type=int, help="default markets then KRW-C0001, KRW-C0002, ...")
    p.add_argument("--rate", type=float, default=200.0, help="market events per second per exchange")
    p.add_argument("--trade-ratio", type=float, default=0.5, help="share of events that are trades")
    p.add_argument("--idle-timeout", type=float, default=60.0, help="seconds without traffic before a cut; 0 = off")
    p.add_argument("--no-connect-limit", action="store_true", help="disable the per-address connection rate limit")
    p.add_argument("--upbit-connect-limit", type=int, default=5, help="WebSocket upgrades per second per address")
    p.add_argument("--bithumb-connect-limit", type=int, default=10)
    p.add_argument("--replay", nargs="+", default=[], metavar="FILE.jsonl", help="play recorded frames verbatim")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-backlog", type=int, default=50_000,
                   help="frames queued for one connection beyond which its realtime frames are shed")
    p.add_argument("--tls-cert", metavar="FILE.pem", help="serve wss:// and https:// with this certificate (chain)")
    p.add_argument("--tls-key", metavar="FILE.pem", help="the certificate's private key (with --tls-cert)")
    p.add_argument("--coalesce", type=int, default=1, metavar="N",
                   help="join up to N queued frames into one socket write (one TLS record); 1 = off")
    p.add_argument("--load", action="store_true",
                   help="load mode: frames rendered ahead per code and written in one chunk per connection "
                        "and tick, for rates of tens of thousands of frames per second")
    p.add_argument("--load-pool", type=int, default=32, metavar="N",
                   help="load mode: frames rendered ahead per code and data type (prices repeat with this period)")
    p.add_argument("--rest-history", type=int, default=2_000, metavar="N",
                   help="trades each market keeps for /v1/trades/ticks; older ones are gone (the REST horizon)")
    p.add_argument("--no-rest-limit", action="store_true",
                   help="disable the REST request limits (Upbit 10/s, Bithumb 150/s per address and group)")
    return p


def options_from_args(args: argparse.Namespace) -> SimulatorOptions:
    options = SimulatorOptions(
        upbit_port=args.upbit_port, bithumb_port=args.bithumb_port, control_port=args.control_port,
        host=args.host, markets=[c.strip() for c in args.markets.split(",") if c.strip()] if args.markets else None,
        market_count=args.market_count, rate=args.rate, trade_ratio=args.trade_ratio,
        idle_timeout=args.idle_timeout, connect_limit=not args.no_connect_limit,
        upbit_connect_limit=args.upbit_connect_limit, bithumb_connect_limit=args.bithumb_connect_limit,
        replay=args.replay, seed=args.seed, max_backlog=args.max_backlog,
        tls_cert=args.tls_cert, tls_key=args.tls_key, coalesce=_positive(args.coalesce, "--coalesce"),
        load=args.load, load_pool=_positive(args.load_pool, "--load-pool"),
        rest_history=_positive(args.rest_history, "--rest-history"), rest_limit=not args.no_rest_limit,
    )
    if options.load and options.replay:
        raise ValueError("--load generates its own frames; it cannot be combined with --replay")
    return options


def _positive(value: int, flag: str) -> int:
    if value < 1:
        raise ValueError(f"{flag} must be at least 1, got {value}")
    return value


async def run(options: SimulatorOptions) -> None:
    simulator = Simulator(options)
    ports = await simulator.start()
    # Market state lives for the whole run: keep it out of the collector's scans, and collect young
    # objects less often, since frames in flight are short-lived but numerous.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    scheme = "wss" if options.tls_cert else "ws"
    print(json.dumps({"ready": True, "pid": os.getpid(), **ports, "scheme": scheme}), flush=True)
    await stop.wait()
    await simulator.stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        options = options_from_args(args)
        asyncio.run(run(options))
    except (ValueError, OSError) as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    return 0
