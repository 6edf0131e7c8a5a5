"""Print krwfeed records from Kafka as JSON, one line each: a quick look at the data.

    python scripts/tail.py --bootstrap 127.0.0.1:9092 market.upbit.trade [--from-beginning] [-n 20]
    python scripts/tail.py market.upbit.events --from-beginning   # connection events
"""
from __future__ import annotations

import argparse
import json
import sys

from google.protobuf import json_format
from kafka import KafkaConsumer

from proto.serializer import parse, parse_event


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("topic", help="e.g. market.upbit.trade, market.bithumb.orderbook or market.upbit.events")
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--from-beginning", action="store_true")
    ap.add_argument("-n", "--count", type=int, default=0, help="stop after N records (0: follow)")
    args = ap.parse_args(argv)
    data_type = "orderbook" if args.topic.endswith("orderbook") else "event" if args.topic.endswith("events") \
        else "trade"
    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        auto_offset_reset="earliest" if args.from_beginning else "latest",
        enable_auto_commit=False,
        consumer_timeout_ms=0 if args.count == 0 else 10_000,
    )
    seen = 0
    try:
        for msg in consumer:
            message = parse_event(msg.value) if data_type == "event" else parse(data_type, msg.value)
            record = json_format.MessageToDict(message, preserving_proto_field_name=True)
            line = {"partition": msg.partition, "offset": msg.offset, "key": (msg.key or b"").decode(), "record": record}
            print(json.dumps(line, ensure_ascii=False), flush=True)
            seen += 1
            if args.count and seen >= args.count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
