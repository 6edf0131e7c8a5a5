"""The data path's transport cost follows the data, not the clock: measured on the running service.

Records travel on the record channel in batches; Thespian carries only control, stats and
status. So the Thespian messages a service sends per second stay at a few per actor whatever
the load, record-channel writes stay below the records they carry, and an idle connected
service sends next to nothing.
"""
from __future__ import annotations

import time
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.service_process import ServiceProcess
from tests.e2e.test_service_e2e import start_streaming

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def counters(service: ServiceProcess) -> dict[str, float]:
    code, body = service.http("/metrics")
    assert code == 200
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "ingestion_actor_messages_sent_total":
                out["thespian"] = out.get("thespian", 0.0) + sample.value
            elif sample.name == "ingestion_data_path_messages_total":
                key = f"hop:{sample.labels['hop']}"
                out[key] = out.get(key, 0.0) + sample.value
    return out


def window(service: ServiceProcess, seconds: float) -> tuple[dict[str, float], float, int]:
    """Per-second rates of the counters over ``seconds``, and the records received meanwhile."""
    before, received_before, t0 = counters(service), service.status()["total_received"], time.monotonic()
    time.sleep(seconds)
    after, received_after = counters(service), service.status()["total_received"]
    elapsed = time.monotonic() - t0
    rates = {k: (after.get(k, 0.0) - before.get(k, 0.0)) / elapsed for k in after}
    return rates, elapsed, received_after - received_before


def test_actor_messages_grow_with_data_not_with_time(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                      markets=40, rate=300, per_connection=500)
    status = service.status()
    assert status is not None and len(status["connections"]) == 2  # one connection per exchange
    time.sleep(2)
    busy, elapsed, records = window(service, 6.0)
    records_per_s = records / elapsed
    assert records_per_s > 100, busy  # the feed really flowed
    into_buffer = busy.get("hop:connector_to_buffer", 0.0)
    to_producers = busy.get("hop:buffer_to_producer", 0.0)
    # batched: channel writes carry several records each, and are bounded by the batching interval
    assert 0 < into_buffer < records_per_s and into_buffer <= 2 * 200
    assert 0 < to_producers < records_per_s
    # Thespian: stats and reports, a few per actor per second (6 actors), not one per batch or record
    assert busy["thespian"] < 40, busy

    for exchange in ("upbit", "bithumb"):
        sim.set_rate(0, exchange)
    time.sleep(2)
    idle, _, idle_records = window(service, 6.0)
    assert idle_records == 0
    assert idle.get("hop:connector_to_buffer", 0.0) == 0 and idle.get("hop:buffer_to_producer", 0.0) == 0
    assert idle["thespian"] < 10, idle
    print(f"FIGURES data path: {records_per_s:.0f} records/s -> {into_buffer:.0f} connector writes/s, "
          f"{to_producers:.0f} buffer writes/s, {busy.get('hop:producer_credit', 0):.1f} credits/s, "
          f"{busy['thespian']:.1f} Thespian messages/s; idle {idle['thespian']:.1f} Thespian messages/s")
    assert service.terminate()[0] == 0
