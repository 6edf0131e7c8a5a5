"""Benchmark of the hot path: frame -> records (decode) -> validate -> Protobuf bytes.

1,000 frames, a realistic mix from the fixtures: Upbit trades (DEFAULT and SIMPLE), Upbit 30-level
and 15-level orderbooks (DEFAULT and SIMPLE) and Bithumb 3-level orderbooks with microsecond
timestamps; every trade has its own id. Prints milliseconds per 1,000 messages, microseconds per
message and messages per second for each stage (best of several rounds, one core), and the load
average, since other work on the machine slows every figure. "live path" is what a connector
really runs per frame (``connectors.frame_pipeline``): "all three" plus the subscribed-code check,
trade dedupe, the ``MarketDataMessage`` envelope and the counters. Then "all three" per message of
each kind in the mix (a trade, an Upbit 30- or 15-level book, a Bithumb 3-level book), each kind's
frames timed on their own.

Exits 1 when "all three" misses the bar (100 ms per 1,000 messages, ``--bar-ms``), so the
benchmark can serve as a check outside the test suite. The output goes to stdout; ``--out FILE``
also writes it to FILE (``bench/results/serialize.txt`` is the committed one).

Run: ``python bench/serialize.py [--rounds N] [--clock wall|cpu] [--out FILE]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.frame_pipeline import FramePipeline  # noqa: E402
from domain.market_data import validate_record  # noqa: E402
from domain.records import MarketRecord, OrderbookRecord  # noqa: E402
from exchanges.jsonparse import loads_exact  # noqa: E402
from exchanges.registry import get_adapter  # noqa: E402
from proto.serializer import serialize  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "golden" / "fixtures"
QUOTES = ("KRW", "BTC", "USDT")
BAR_MS = 100.0  # per 1,000 messages, parse + validate + serialise on one core
_TRADE_ID = re.compile(rb'"(sequential_id|sid)":([0-9]+)')
SIMPLE_UNIT = {"ask_price": "ap", "bid_price": "bp", "ask_size": "as", "bid_size": "bs"}


def _line(name: str, index: int = 0) -> dict[str, Any]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    loaded: dict[str, Any] = json.loads(lines[index])
    return loaded


def _book(units: int, simple: bool) -> str:
    """An Upbit book of ``units`` levels built from the 30-level wire fixture (numbers kept as text)."""
    text = (FIXTURES / "upbit_orderbook.jsonl").read_text(encoding="utf-8").splitlines()[0]
    head, rest = text.split('"orderbook_units":[', 1)
    body, tail = rest.split("]", 1)
    kept = "},".join(body.split("},")[:units])
    kept = kept if kept.endswith("}") else kept + "}"
    frame = head + '"orderbook_units":[' + kept + "]" + tail
    if simple:
        for long, short in {**SIMPLE_UNIT, "type": "ty", "code": "cd", "timestamp": "tms", "total_ask_size": "tas",
                            "total_bid_size": "tbs", "orderbook_units": "obu", "stream_type": "st",
                            "level": "lv"}.items():
            frame = frame.replace(f'"{long}":', f'"{short}":')
    return frame


def build_frames(count: int = 1000) -> list[tuple[str, bytes]]:
    trades = (FIXTURES / "upbit_trade.jsonl").read_bytes().splitlines()
    trade_simple = (FIXTURES / "upbit_trade_simple.jsonl").read_bytes().splitlines()
    bithumb_book = (FIXTURES / "bithumb_v2_orderbook.jsonl").read_bytes().splitlines()
    mix: list[tuple[str, bytes]] = (
        [("upbit", line) for line in trades]  # 5 DEFAULT trades
        + [("upbit", trade_simple[0])] * 2  # SIMPLE trades
        + [("upbit", _book(30, False).encode()), ("upbit", _book(30, True).encode())]
        + [("upbit", _book(15, False).encode()), ("upbit", _book(15, True).encode())]
        + [("bithumb", line) for line in bithumb_book]
    )
    return [(mix[i % len(mix)][0], _unique_id(mix[i % len(mix)][1], i)) for i in range(count)]


def _unique_id(frame: bytes, index: int) -> bytes:
    """Every trade its own id, as on the wire: the live path drops a trade it has already sent."""
    return _TRADE_ID.sub(lambda m: b'"%s":%d' % (m[1], int(m[2]) + index), frame, count=1)


def _best(rounds: int, run: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = clock()
        run()
        best = min(best, clock() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu = this process's CPU time, steadier on a machine busy with other work")
    parser.add_argument("--bar-ms", type=float, default=BAR_MS,
                        help="exit 1 when 'all three' takes longer per 1,000 messages (default: %(default)s)")
    parser.add_argument("--out", type=Path, help="also write the output to this file")
    parser.add_argument("--bursts", action="store_true",
                        help="instead: the live path's CPU per frame when frames come in bursts with a sleep "
                             "between them, as a connector's wake-ups bring them")
    args = parser.parse_args(argv)
    if args.bursts:
        return bursts(build_frames(args.count))
    frames = build_frames(args.count)
    adapters = {name: get_adapter(name) for name in ("upbit", "bithumb")}
    received = 1_790_000_000_000_000
    records: list[MarketRecord] = []

    def json_only() -> None:
        for _, frame in frames:
            loads_exact(frame)

    def decode() -> None:
        # The records are dropped as they come, as on the live path: keeping 1,000 books alive
        # would time the garbage collector walking them rather than decoding.
        for name, frame in frames:
            adapters[name].decode(frame, received)

    def validate() -> None:
        for record in records:
            validate_record(record, QUOTES)

    def encode() -> None:
        for record in records:
            serialize(record)

    def whole() -> None:
        for name, frame in frames:
            for record in adapters[name].decode(frame, received).records:
                serialize(validate_record(record, QUOTES))

    def live() -> int:
        # What a connector does with each frame (connectors.frame_pipeline): decode, the subscribed
        # code check, validate, trade dedupe, serialise into a MarketDataMessage, counters.
        pipelines = {name: FramePipeline(adapter, codes) for name, adapter in adapters.items()}
        for name, frame in frames:
            pipelines[name].process(frame, received)
        return sum(pipeline.counters.received for pipeline in pipelines.values())

    levels = 0
    for name, frame in frames:
        records.extend(adapters[name].decode(frame, received).records)
    codes = sorted({record.code for record in records})
    for record in records:
        levels += len(getattr(record, "asks", ())) + len(getattr(record, "bids", ()))
    forwarded = live()
    lines = [f"{len(frames)} frames -> {len(records)} records ({forwarded} forwarded by the live path), "
             f"{levels} price levels; "
             f"best of {args.rounds} rounds, {args.clock} clock",
             f"python {platform.python_version()}, load average before {_load()}",
             f"{'stage':<22}{'ms/1000':>10}{'us/msg':>10}{'msgs/s':>12}"]
    print("\n".join(lines), flush=True)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    all_three_ms = 0.0
    # "JSON alone" is the part of decode spent in msgspec: a floor for decode.
    for stage, run in (("decode (JSON+records)", decode), ("  of which JSON alone", json_only),
                       ("validate", validate), ("serialize", encode),
                       ("all three", whole), ("live path (pipeline)", live)):
        seconds = _best(args.rounds, run, clock)
        per_1000_ms = seconds * 1e3 / len(frames) * 1000
        if run is whole:
            all_three_ms = per_1000_ms
        line = f"{stage:<22}{per_1000_ms:>10.2f}{seconds / len(frames) * 1e6:>10.2f}{len(frames) / seconds:>12,.0f}"
        print(line, flush=True)
        lines.append(line)
    for kind, group in _by_kind(frames, adapters, received).items():
        def one_kind(group: list[tuple[str, bytes]] = group) -> None:
            for name, frame in group:
                for record in adapters[name].decode(frame, received).records:
                    serialize(validate_record(record, QUOTES))

        line = f"all three, {kind:<24}{_best(args.rounds, one_kind, clock) / len(group) * 1e6:>8.2f} us/msg"
        print(line, flush=True)
        lines.append(line)
    verdict = "met" if all_three_ms <= args.bar_ms else "MISSED"
    lines += [f"load average after {_load()}",
              f"bar: {args.bar_ms:g} ms per 1,000 messages, parse + validate + serialise: {verdict} "
              f"({all_three_ms:.2f} ms)"]
    print("\n".join(lines[-2:]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0 if verdict == "met" else 1


# (frames per burst, sleep after each burst in seconds): one run in a row, a connector at 1,000 msgs/s
# with a 13 ms window, two and four times the frames per wake-up, and a read on every frame.
BURSTS = ((0, 0.0), (13, 0.013), (26, 0.013), (50, 0.013), (1, 0.001))


def bursts(frames: list[tuple[str, bytes]], rounds: int = 2) -> int:
    """The live path (``FramePipeline.process``) over the mixed frames, in bursts with a sleep between
    them; CPU per frame, the sleeps' own wake-ups included, and a bare sleep's wake-up for scale."""
    adapters = {name: get_adapter(name) for name in ("upbit", "bithumb")}
    received = 1_790_000_000_000_000
    codes = sorted({r.code for name, frame in frames for r in adapters[name].decode(frame, received).records})
    print(f"{len(frames)} mixed frames through the live path per run, CPU clock; "
          f"load average before {_load()}", flush=True)
    for round_number in range(1, rounds + 1):
        for burst, sleep_s in BURSTS:
            # New pipelines each run: every trade is new to the dedupe, as on the live path.
            pipelines = {name: FramePipeline(adapter, codes) for name, adapter in adapters.items()}
            size = burst or len(frames)
            cpu0 = time.process_time()
            for start in range(0, len(frames), size):
                for name, frame in frames[start:start + size]:
                    pipelines[name].process(frame, received)
                if sleep_s:
                    time.sleep(sleep_s)
            per_frame_us = (time.process_time() - cpu0) / len(frames) * 1e6
            label = "all in a row" if not burst else f"{burst} frames, then {sleep_s * 1000:g} ms asleep"
            print(f"round {round_number}: {label:<32}{per_frame_us:>8.1f} us CPU per frame", flush=True)
    for sleep_s, count in ((0.013, 300), (0.001, 2000)):
        cpu0 = time.process_time()
        for _ in range(count):
            time.sleep(sleep_s)
        print(f"a bare {sleep_s * 1000:g} ms sleep: {(time.process_time() - cpu0) / count * 1e6:.0f} us CPU "
              f"per wake-up", flush=True)
    print(f"load average after {_load()}")
    return 0


def _by_kind(frames: list[tuple[str, bytes]], adapters: dict[str, Any], received: int,
             ) -> dict[str, list[tuple[str, bytes]]]:
    """The frames grouped by what they hold: "trade" or "<exchange> <N>-level book"."""
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for name, frame in frames:
        (record,) = adapters[name].decode(frame, received).records
        kind = f"{name} {len(record.asks)}-level book" if isinstance(record, OrderbookRecord) else "trade"
        groups.setdefault(kind, []).append((name, frame))
    return groups


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
