"""The service as a process, configured only by a Heroku-style environment, streams the simulator's
trades to a broker that speaks TLS with client certificates; every trade it published is read back."""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from proto.krwfeed.v1 import market_data_pb2 as pb
from tests.e2e.kafka_readback import create_topics, read_topic
from tests.e2e.service_process import service_config
from tests.support.kafka_tls import KEY_PASSWORD, TlsBroker

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def test_S2_4_heroku_kafka_environment_streams_over_tls(
        kafka_tls_broker: TlsBroker, simulator_factory: Any, service_factory: Any, ports: tuple[int, int]) -> None:
    files = kafka_tls_broker.files
    tenant = f"tenant-{uuid.uuid4().hex[:6]}."
    prefix = "e2e-tls-" + uuid.uuid4().hex[:8]
    topics = [f"{tenant}{prefix}.upbit.{t}" for t in ("trade", "orderbook")]
    create_topics(kafka_tls_broker.plaintext, topics)
    sim = simulator_factory(market_count=3, rate=60)
    _, body = sim.get_json(f"{sim.rest('upbit')}/v1/market/all")
    codes = [m["market"] for m in body][:3]
    # The file names the plaintext port; the environment must move the service to the TLS one.
    cfg = service_config(upbit_url=sim.url("upbit"), bithumb_url=None, markets=codes,
                         bootstrap=kafka_tls_broker.plaintext, admin_port=ports[0], topic_prefix=prefix,
                         markets_per_connection=3, log={"level": "DEBUG"})
    env = {"KAFKA_URL": f"kafka+ssl://{kafka_tls_broker.tls}", "KAFKA_TRUSTED_CERT": files.text(files.ca),
           "KAFKA_CLIENT_CERT": files.text(files.client_cert), "KAFKA_CLIENT_CERT_KEY": files.text(files.client_key),
           "KAFKA_PREFIX": tenant, "KRWFEED_KAFKA_SSL_PASSWORD": KEY_PASSWORD}
    service = service_factory(cfg, web_port=ports[1], env=env)
    service.wait_connected(45)
    service.wait_for(lambda s: s["total_published"] >= 50, 60, "50 records published over TLS")
    sim.set_rate(0, "upbit")
    time.sleep(0.5)

    def failed(s: dict[str, Any]) -> int:
        return sum(int(p["failed"]) for p in s["producers"].values())

    def accounted(s: dict[str, Any]) -> bool:
        dropped = sum(s["buffer"]["dropped"].values())
        return not sum(s["buffer"]["depth"].values()) and (
            s["total_published"] + failed(s) + dropped >= s["total_received"])

    final = service.wait_for(accounted, 20, "every record received published, failed or dropped")
    reads = read_topic(kafka_tls_broker.plaintext, topics[0]) + read_topic(kafka_tls_broker.plaintext, topics[1])
    # A publish that timed out may still have been written (retries=0, acks=all): it is counted as
    # failed, and Kafka holds it. Nothing else may differ.
    assert final["total_published"] <= len(reads) <= final["total_published"] + failed(final), final
    assert final["total_published"] >= 50
    rc, _ = service.terminate(15.0)
    assert rc == 0, service.logs()[-3000:]
    trades = [pb.Trade.FromString(r.value) for r in read_topic(kafka_tls_broker.plaintext, topics[0])]
    assert trades and {t.code for t in trades} <= set(codes)
    # Secrets never reach a log line, even at DEBUG with kafka-python's own logging.
    text = service.logs()
    for path in Path(service.workdir).glob("*.log"):
        text += path.read_text(errors="replace")
    assert len(text) > 1000
    key_lines = [line for line in files.text(files.client_key).splitlines() if not line.startswith("-----")]
    assert KEY_PASSWORD not in text and not any(line in text for line in key_lines)
