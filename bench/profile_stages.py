"""Where a message's time goes, stage by stage, on one core: the table that says what to optimise next.

    python bench/profile_stages.py [--records 20000] [--kafka-port 39092] [--no-kafka]

Stages, in the order a message meets them:
  parse+validate   exchange adapter ``decode`` (JSON -> records) and ``validate_record``, Upbit trade /
                   orderbook frames
  serialize        ``encode_record`` (record -> Protobuf bytes)
  buffer           ``BufferQueue.enqueue`` + ``dequeue_batch(500)``
  record channel   ``encode_records`` -> Unix socket -> ``decode_records`` for batches of 500 records
                   (both ends in this process: the CPU one hop of the data path costs)
  pickle           one 500-record batch as a Thespian message would carry it, dumps + loads
  actor transport  a Thespian round trip (multiprocTCPBase, two processes) carrying 500 records: what
                   a hop would cost if records travelled as actor messages (they do not)
  kafka send       ``KafkaPublisher.publish`` of 500-record batches (kafka-python send(): lz4, batching,
                   callbacks), then flush: the client's own thread shares the process, as in krwfeed
Each row: microseconds per message and the messages per second that stage alone allows on one core.
A message crosses the record channel twice (connector -> buffer, buffer -> producer), which the
'per message path' line accounts for.
"""
from __future__ import annotations

import argparse
import os
import pickle
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.record_channel import RECORDS, ChannelEnd, decode_records, encode_records  # noqa: E402
from buffering.buffer_queue import BufferQueue  # noqa: E402
from domain.market_data import MarketDataMessage, validate_record  # noqa: E402
from exchanges.registry import get_adapter  # noqa: E402
from proto.serializer import encode_record  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "faults" / "data"
NOW_US = int(time.time() * 1_000_000)
QUOTES = ("KRW", "BTC", "USDT")
BATCH = 500


def per_message_us(fn: Callable[[], int], rounds: int = 3) -> float:
    """Best of ``rounds``: microseconds per message; ``fn`` returns how many messages it handled."""
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        n = fn()
        best = min(best, (time.perf_counter() - began) / n * 1e6)
    return best


def frames() -> dict[str, bytes]:
    def first(name: str) -> bytes:
        return (DATA / name).read_bytes().splitlines()[0]

    return {"trade": first("upbit_trade.jsonl"), "orderbook": first("upbit_orderbook.jsonl")}


def stage_codec(n: int) -> tuple[list[tuple[str, float]], list[MarketDataMessage]]:
    adapter = get_adapter("upbit")
    rows, encoded = [], []
    for kind, frame in frames().items():
        record = adapter.decode(frame, NOW_US).records[0]

        def decode_n(f: bytes = frame) -> int:
            for _ in range(n):
                for decoded in adapter.decode(f, NOW_US).records:
                    validate_record(decoded, QUOTES)
            return n

        def encode_n(r: Any = record) -> int:
            for _ in range(n):
                encode_record(r)
            return n

        rows.append((f"parse+validate ({kind})", per_message_us(decode_n)))
        rows.append((f"serialize ({kind})", per_message_us(encode_n)))
        encoded.append(encode_record(record))
    return rows, encoded


def sample_records(encoded: list[MarketDataMessage], n: int) -> list[MarketDataMessage]:
    base = encoded[0]
    return [MarketDataMessage(base.exchange, base.data_type, f"KRW-C{i % 200:04d}", base.raw_data,
                              NOW_US, i + 1) for i in range(n)]


def stage_buffer(records: list[MarketDataMessage]) -> float:
    def run() -> int:
        queue = BufferQueue(len(records) + 1, {"trade": 60.0, "orderbook": 60.0})
        for r in records:
            queue.enqueue(r, NOW_US)
        while queue.dequeue_batch(BATCH, NOW_US, "trade"):
            pass
        return len(records)

    return per_message_us(run)


@dataclass(frozen=True, slots=True)
class Batch:
    """Records as a Thespian message would carry them."""

    records: tuple[MarketDataMessage, ...]


def stage_record_channel(records: list[MarketDataMessage]) -> float:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    writer, reader = ChannelEnd(left), ChannelEnd(right)

    def run() -> int:
        got = 0
        for i in range(0, len(records), BATCH):
            writer.write_all(encode_records(records[i:i + BATCH]))
            while writer.pending or got < i + BATCH:
                got += sum(len(decode_records(body)) for kind, body in reader.read() if kind == RECORDS)
                writer.flush()
        return len(records)

    try:
        best = float("inf")
        for _ in range(3):
            began = time.process_time()
            n = run()
            best = min(best, (time.process_time() - began) / n * 1e6)
        return best
    finally:
        writer.close()
        reader.close()


def stage_pickle(records: list[MarketDataMessage]) -> float:
    batch = Batch(tuple(records[:BATCH]))
    return per_message_us(lambda: sum(BATCH for _ in range(200) if pickle.loads(pickle.dumps(batch))))


class _Sink:
    """Replies with how many records a batch carried (an actor created in its own process)."""

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, Batch):
            self.send(sender, len(msg.records))  # type: ignore[attr-defined]


def _sink_class() -> type:
    from thespian.actors import Actor

    return type("CountingSink", (_Sink, Actor), {"__module__": __name__})


if __name__ != "__main__":
    CountingSink = _sink_class()


def stage_actor_transport(records: list[MarketDataMessage], admin_port: int) -> tuple[float, float]:
    """(ms per round trip carrying one batch, us per message)."""
    from thespian.actors import ActorSystem

    from bench.profile_stages import CountingSink  # by module path: the actor process imports it

    asys = ActorSystem("multiprocTCPBase", {"Admin Port": admin_port}, transientUnique=True)
    try:
        sink = asys.createActor(CountingSink)
        batch = Batch(tuple(records[:BATCH]))
        asys.ask(sink, batch, 10)
        trips = 200
        began = time.perf_counter()
        for _ in range(trips):
            asys.ask(sink, batch, 10)
        elapsed = time.perf_counter() - began
    finally:
        asys.shutdown()
    return elapsed / trips * 1000, elapsed / (trips * BATCH) * 1e6


def stage_kafka(records: list[MarketDataMessage], port: int) -> tuple[float, float]:
    """(us per message spent in publish() calls, us per message until everything is acknowledged)."""
    from domain.settings import KafkaSettings
    from publishers.kafka_publisher import KafkaPublisher
    from tests.support.kafka_broker import create_topic

    bootstrap = f"127.0.0.1:{port}"
    prefix = "profile-" + uuid.uuid4().hex[:8]
    create_topic(bootstrap, f"{prefix}.upbit.trade", 6)
    publisher = KafkaPublisher(KafkaSettings(bootstrap_servers=(bootstrap,),
                                             topic_template=prefix + ".{exchange}.{data_type}"), "trade")
    try:
        publisher.publish(records[:BATCH])
        publisher.flush(10)
        in_calls = 0.0
        began = time.perf_counter()
        for i in range(0, len(records), BATCH):
            t = time.perf_counter()
            publisher.publish(records[i:i + BATCH])
            in_calls += time.perf_counter() - t
            while publisher.in_flight > 4 * BATCH:  # the producer actor's in-flight cap
                time.sleep(0.001)
        publisher.flush(30)
        total = time.perf_counter() - began
    finally:
        publisher.close(5)
    return in_calls / len(records) * 1e6, total / len(records) * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=20_000)
    p.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", "39092")))
    p.add_argument("--admin-port", type=int, default=20050)
    p.add_argument("--no-kafka", action="store_true")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "profile_stages.txt"))
    args = p.parse_args()
    rows, encoded = stage_codec(min(args.records, 5000))
    records = sample_records(encoded, args.records)
    rows.append(("buffer enqueue+dequeue", stage_buffer(records)))
    rows.append((f"record channel, {BATCH}/write (both ends)", stage_record_channel(records)))
    rows.append((f"pickle batch of {BATCH} (dumps+loads)", stage_pickle(records)))
    trip_ms, transport_us = stage_actor_transport(records, args.admin_port)
    rows.append((f"actor transport, {BATCH}/msg ({trip_ms:.2f} ms/trip)", transport_us))
    if not args.no_kafka:
        in_calls, acked = stage_kafka(records, args.kafka_port)
        rows.append(("kafka send (in publish())", in_calls))
        rows.append(("kafka send -> all acked", acked))
    width = max(len(name) for name, _ in rows)
    lines = [f"{'stage'.ljust(width)}  {'us/msg':>8}  {'msgs/s on 1 core':>16}"]
    lines += [f"{name.ljust(width)}  {us:8.2f}  {1e6 / us:16,.0f}" for name, us in rows]
    by = dict(rows)
    path = (by["parse+validate (trade)"] + by["parse+validate (orderbook)"]) / 2 + \
        (by["serialize (trade)"] + by["serialize (orderbook)"]) / 2 + by["buffer enqueue+dequeue"] + \
        2 * by[next(k for k in by if k.startswith("record channel"))] + \
        by.get("kafka send (in publish())", 0.0)
    lines.append(f"{'per message path (50/50 mix, 2 hops)'.ljust(width)}  {path:8.2f}  {1e6 / path:16,.0f}")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(f"python bench/profile_stages.py {' '.join(sys.argv[1:])}\n"
                              f"load average at start: {os.getloadavg()}\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
