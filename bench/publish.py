"""Per-record publish CPU of each Kafka client, through krwfeed's own publishers, against a local broker.

For each client (kafka-python, confluent-kafka) and data type, N real records (an Upbit trade and a
30-level Upbit orderbook from the golden fixtures, encoded as krwfeed publishes them, spread over
200 market codes) go through ``make_publisher(...).publish()`` in batches of 500 with the producer
actor's in-flight cap (4 batches), then ``flush()``. The figure is the CPU time of this whole
process per record: the calling thread *and* the client's own threads (kafka-python's sender,
librdkafka's broker threads), from the first publish to the last acknowledgement. Clients are
alternated round by round so that a load change on the machine hits both; the best round is shown.

    python3 bench/publish.py [--records 20000] [--rounds 3] [--kafka-port $KAFKA_PORT]

The broker must be running on that port (``scripts/kafka.sh start``); topics are created here.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.market_data import MarketDataMessage  # noqa: E402
from domain.settings import KafkaSettings  # noqa: E402
from exchanges.registry import get_adapter  # noqa: E402
from proto.serializer import encode_record  # noqa: E402
from publishers.factory import make_publisher  # noqa: E402
from tests.support.kafka_broker import create_topic  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "golden" / "fixtures"
CLIENTS = ("kafka-python", "confluent-kafka")
BATCH = 500
IN_FLIGHT_CAP = 4 * BATCH  # as the producer actor allows
NOW_US = 1_790_000_000_000_000


def records(data_type: str, n: int) -> list[MarketDataMessage]:
    fixture = {"trade": "upbit_trade.jsonl", "orderbook": "upbit_orderbook.jsonl"}[data_type]
    frame = (FIXTURES / fixture).read_bytes().splitlines()[0]
    base = encode_record(get_adapter("upbit").decode(frame, NOW_US).records[0])
    now_us = time.time_ns() // 1000
    return [MarketDataMessage(base.exchange, base.data_type, f"KRW-C{i % 200:04d}", base.raw_data, now_us, i + 1)
            for i in range(n)]


def run(client: str, data_type: str, batch: list[MarketDataMessage], bootstrap: str) -> tuple[float, float, int]:
    """(CPU us per record, wall us per record, failed records) for one client and data type."""
    template = f"bench-publish-{uuid.uuid4().hex[:8]}.{{exchange}}.{{data_type}}"
    settings = KafkaSettings(client=client, bootstrap_servers=(bootstrap,), topic_template=template)
    create_topic(bootstrap, settings.topic_for("upbit", data_type), 6)
    publisher = make_publisher(settings, data_type)
    try:
        publisher.publish(batch[:BATCH])  # warm-up: connections, metadata
        publisher.flush(10)
        warm = publisher.snapshot()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for start in range(0, len(batch), BATCH):
            publisher.publish(batch[start:start + BATCH])
            while publisher.snapshot().in_flight > IN_FLIGHT_CAP:
                publisher.poll()
                time.sleep(0.0005)
        publisher.flush(60)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        snap = publisher.snapshot()
    finally:
        publisher.close(5)
    done = snap.succeeded - warm.succeeded
    failed = snap.failed - warm.failed
    assert done + failed == len(batch), (done, failed, len(batch))
    return cpu / len(batch) * 1e6, wall / len(batch) * 1e6, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", "9092")))
    args = parser.parse_args()
    # failures show in the table's count; one log line per failed batch would bury it
    logging.basicConfig(level=logging.ERROR)
    bootstrap = f"127.0.0.1:{args.kafka_port}"
    data = {dt: records(dt, args.records) for dt in ("trade", "orderbook")}
    best: dict[tuple[str, str], tuple[float, float, int]] = {}
    for _ in range(args.rounds):
        for data_type, batch in data.items():
            for client in CLIENTS:
                result = run(client, data_type, batch, bootstrap)
                key = (client, data_type)
                if key not in best or result[0] < best[key][0]:
                    best[key] = result
    print(f"publish CPU per record, {args.records} records per run, best of {args.rounds} rounds, "
          f"broker {bootstrap}")
    print(f"{'client':<16} {'data type':<10} {'payload B':>9} {'CPU us/rec':>10} {'wall us/rec':>11} {'failed':>6}")
    for (client, data_type), (cpu_us, wall_us, failed) in sorted(best.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        size = len(data[data_type][0].raw_data)
        print(f"{client:<16} {data_type:<10} {size:>9} {cpu_us:>10.1f} {wall_us:>11.1f} {failed:>6}")
    for data_type in data:
        ratio = best[("kafka-python", data_type)][0] / best[("confluent-kafka", data_type)][0]
        print(f"{data_type}: kafka-python costs {ratio:.1f}x the CPU of confluent-kafka per record")
    return 0


if __name__ == "__main__":
    sys.exit(main())
