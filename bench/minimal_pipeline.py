"""The minimal pipeline krwfeed is compared with: websocket-client + JSON parse + confluent-kafka
produce, no validation, one process reading in one thread.

    python bench/minimal_pipeline.py --url wss://127.0.0.1:P/websocket/v1 --codes KRW-BTC,KRW-ETH \
        --bootstrap 127.0.0.1:9092 --topic-prefix bench.minimal [--ca-file CA.pem]

It subscribes to trades and orderbooks of the codes (one request, DEFAULT format), parses each frame
(``json.loads``) only to find its type and code, and produces the frame's bytes as they came, keyed by
code, to ``<prefix>.trade`` or ``<prefix>.orderbook`` with the producer settings krwfeed uses
(``acks=all``, ``linger.ms=5``, lz4). SIGTERM or SIGINT: flush, exit 0. It is the floor of what
moving these frames into Kafka costs in Python; it checks nothing and keeps no decimal exact.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

import websocket
from confluent_kafka import Producer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the exchange WebSocket (Upbit protocol)")
    p.add_argument("--codes", required=True, help="comma-separated market codes")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic-prefix", required=True)
    p.add_argument("--ca-file", default=None, help="CA certificate to trust for wss:// (default: the system's)")
    args = p.parse_args(argv)
    codes = [c for c in args.codes.split(",") if c]
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all", "linger.ms": 5,
                         "compression.type": "lz4", "client.id": "minimal-pipeline"})
    topics = {"trade": f"{args.topic_prefix}.trade", "orderbook": f"{args.topic_prefix}.orderbook"}
    ws = websocket.create_connection(args.url, timeout=10, sslopt={"ca_certs": args.ca_file} if args.ca_file else None)
    ws.send(json.dumps([{"ticket": f"minimal-{time.time_ns()}"}, {"type": "trade", "codes": codes},
                        {"type": "orderbook", "codes": codes}]))
    ws.settimeout(0.5)  # so a stop signal is seen while the feed is quiet
    count = 0
    while not stopping:
        try:
            data = ws.recv()
        except websocket.WebSocketTimeoutException:
            producer.poll(0)
            continue
        except (websocket.WebSocketConnectionClosedException, OSError):
            break
        frame = json.loads(data)
        topic = topics.get(frame.get("type"))
        if topic is None:
            continue
        raw = data if isinstance(data, bytes) else data.encode()
        while True:
            try:
                producer.produce(topic, raw, key=frame["code"].encode())
                break
            except BufferError:  # the client's queue is full: let it send
                producer.poll(0.05)
        count += 1
        if count % 1000 == 0:
            producer.poll(0)
    ws.close()
    left = producer.flush(10)
    print(json.dumps({"frames": count, "unflushed": left}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
