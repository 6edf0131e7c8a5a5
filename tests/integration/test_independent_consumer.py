"""What a consumer outside Python sees: records published by krwfeed (either Kafka client) are read back
with Debian's kcat (librdkafka) and decoded with Debian's protoc (C++), neither sharing code with
kafka-python or the Python protobuf runtime. Prices stay the exact wire text, keys are market codes,
headers name the schema."""
from __future__ import annotations

import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import grpc_tools
import pytest

from domain.records import OrderbookRecord, TradeRecord
from domain.settings import KafkaSettings
from exchanges.registry import get_adapter
from proto.serializer import encode_record
from publishers.factory import make_publisher
from tests.support.kafka_broker import unavailable

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "golden" / "fixtures"
WELL_KNOWN = Path(grpc_tools.__path__[0]) / "_proto"  # google/protobuf/timestamp.proto


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        unavailable(f"{name} is not installed (scripts/setup.sh installs it with apt)")
    return exe


def _protoc_decode(message: str, payload: bytes) -> str:
    done = subprocess.run(
        [_tool("protoc"), f"-I{REPO / 'proto'}", f"-I{WELL_KNOWN}", f"--decode=krwfeed.v1.{message}",
         "market_data.proto"],
        input=payload, capture_output=True, timeout=30, check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


def _kcat_one(bootstrap: str, topic: str, offset: int) -> tuple[str, dict[str, str], bytes]:
    """(key, headers, payload) of one record; the payload read on its own so any byte survives."""
    common = [_tool("kcat"), "-b", bootstrap, "-C", "-t", topic, "-o", str(offset), "-c", "1", "-e", "-q"]
    meta = subprocess.run([*common, "-f", "%k\n%h"], capture_output=True, timeout=30, check=True).stdout
    raw = subprocess.run([*common, "-f", "%s"], capture_output=True, timeout=30, check=True).stdout
    key, headers = meta.decode().split("\n", 1)
    return key, dict(h.split("=", 1) for h in headers.strip().split(",")), raw


def _records(fixture: str, exchange: str) -> list[TradeRecord | OrderbookRecord]:
    adapter = get_adapter(exchange)
    out: list[TradeRecord | OrderbookRecord] = []
    for line in (FIXTURES / fixture).read_text().splitlines():
        out.extend(adapter.decode(line.encode(), 1_790_000_000_000_000).records)
    return out


@pytest.mark.parametrize("client", ["kafka-python", "confluent-kafka"])
@pytest.mark.parametrize(
    ("fixture", "exchange", "data_type", "message"),
    [
        ("upbit_trade.jsonl", "upbit", "trade", "Trade"),
        ("upbit_orderbook.jsonl", "upbit", "orderbook", "Orderbook"),
        ("bithumb_v2_orderbook.jsonl", "bithumb", "orderbook", "Orderbook"),
    ],
)
def test_S2_4_b_records_read_by_kcat_and_decoded_by_protoc(
    kafka_bootstrap: str, kafka_topic_factory, fixture: str, exchange: str, data_type: str, message: str,
    client: str,
) -> None:
    topic = kafka_topic_factory(prefix=f"indep-{data_type}", partitions=1)
    settings = KafkaSettings(client=client, bootstrap_servers=(kafka_bootstrap,), topic_template=topic)
    records = _records(fixture, exchange)
    assert records, f"{fixture} gave no records"
    publisher = make_publisher(settings, data_type)
    try:
        publisher.publish([encode_record(r) for r in records])
        publisher.flush(10.0)
        deadline = time.monotonic() + 10
        while publisher.snapshot().succeeded < len(records) and time.monotonic() < deadline:
            publisher.poll()
            time.sleep(0.05)
        snap = publisher.snapshot()
        assert (snap.succeeded, snap.failed) == (len(records), 0)
    finally:
        publisher.close(5.0)

    for offset, record in enumerate(records):
        key, headers, payload = _kcat_one(kafka_bootstrap, topic, offset)
        assert key == record.code
        assert headers["schema"] == f"krwfeed.v1.{message}"
        assert headers["exchange"] == exchange and headers["data_type"] == data_type
        text = _protoc_decode(message, payload)
        assert f'code: "{record.code}"' in text
        if isinstance(record, TradeRecord):
            assert f'price: "{record.price}"' in text  # the record's exact text, as protoc reads it
            assert f'volume: "{record.volume}"' in text
            assert f"sequential_id: {record.sequential_id}" in text
        else:
            # every level the exchange sent (after dropping zero padding), prices exact
            assert text.count("asks {") == len(record.asks)
            assert text.count("bids {") == len(record.bids)
            best_ask = record.asks[0].price
            assert f'price: "{best_ask}"' in text
            assert Decimal(best_ask) > 0 and "E" not in best_ask
