"""Connection events through the running service: a drop forced at the simulator shows in each
exchange's events topic, read back from the real broker, as CONNECTED, DISCONNECTED and
RESUBSCRIBED with sane times and codes, and the status counts them."""
from __future__ import annotations

import time
from typing import Any

import psutil
import pytest

from proto.krwfeed.v1 import market_data_pb2 as pb
from proto.serializer import event_to_record
from tests.e2e.kafka_readback import create_topics, read_topic
from tests.e2e.service_process import service_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
KIND = pb.ConnectionEvent.Kind


def test_a_forced_drop_is_published_as_connected_disconnected_resubscribed_on_the_events_topic(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    began_us = time.time_ns() // 1000
    sim = simulator_factory(market_count=5, rate=50, no_connect_limit=False)
    _, body = sim.get_json(f"{sim.rest('upbit')}/v1/market/all")
    codes = [m["market"] for m in body][:5]
    events_topics = [f"{topic_prefix}.{e}.events" for e in ("upbit", "bithumb")]
    create_topics(kafka_bootstrap, [f"{topic_prefix}.{e}.{t}" for e in ("upbit", "bithumb")
                                    for t in ("trade", "orderbook")] + events_topics)
    admin, web = ports
    cfg = service_config(upbit_url=sim.url("upbit"), bithumb_url=sim.url("bithumb"), markets=codes,
                         bootstrap=kafka_bootstrap, admin_port=admin, topic_prefix=topic_prefix)
    service = service_factory(cfg, web_port=web)
    service.wait_connected(45)
    service.wait_for(lambda s: s["connections"]["upbit-0"]["received"] > 20, 20, "upbit streaming")
    sim.drop("upbit")
    service.wait_for(lambda s: s["connections"]["upbit-0"]["reconnects"] >= 1
                     and s["connections"]["upbit-0"]["state"] == "CONNECTED", 30, "upbit-0 reconnected")
    status = service.wait_for(
        lambda s: s["events"]["by_exchange"]["upbit"]["published"] >= 3 + len(codes)  # + BACKFILLED per market
        and s["events"]["by_exchange"]["bithumb"]["published"] >= 1, 20, "the events acknowledged")
    assert status["events"]["enabled"] is True
    assert status["events"]["by_exchange"]["upbit"]["failed"] == 0
    recent = [(r["connection_id"], r["kind"]) for r in status["events"]["recent"]]
    assert [k for c, k in recent if c == "upbit-0"][:3] == ["CONNECTED", "DISCONNECTED", "RESUBSCRIBED"]
    (events_pid,) = [p["pid"] for p in status["processes"] if p["role"] == "events"]
    events_rss_mb = psutil.Process(events_pid).memory_info().rss / 2**20
    code, metrics = service.http("/metrics")
    assert code == 200
    text = metrics.decode()
    assert f'ingestion_events_published_total{{exchange="upbit"}} {3 + len(codes)}.0' in text, text[:500]
    for exchange in ("upbit", "bithumb"):  # present from the start, for every exchange
        assert f'ingestion_events_failed_total{{exchange="{exchange}"}} 0.0' in text, exchange
    assert 'ingestion_backfilled_trades_total{exchange="bithumb"} 0.0' in text  # bithumb never dropped
    assert 'ingestion_backfilled_trades_total{exchange="upbit"}' in text
    rc, _ = service.terminate()
    assert rc == 0, service.logs()[-3000:]
    ended_us = time.time_ns() // 1000

    reads = read_topic(kafka_bootstrap, events_topics[0])
    assert {r.key for r in reads} == {b"upbit-0"}, "keyed by the connection"
    assert all(r.headers == {"schema": b"krwfeed.v1.ConnectionEvent", "exchange": b"upbit", "data_type": b"event"}
               for r in reads), reads[0].headers
    everything = [pb.ConnectionEvent.FromString(r.value) for r in reads]
    # after the return, each market's backfill outcome (BACKFILLED: the stretch away was filled)
    outcomes = [event_to_record(e) for e in everything if e.kind in (KIND.Value("BACKFILLED"), KIND.Value("GAP"))]
    assert sorted(e.codes for e in outcomes) == sorted((code,) for code in codes), outcomes
    assert all(e.kind.value == "BACKFILLED" and e.gap_closed for e in outcomes), outcomes
    events = [e for e in everything if e.kind not in (KIND.Value("BACKFILLED"), KIND.Value("GAP"))]
    kinds = [e.kind for e in events]
    # the stop is a disconnect too: the stream ends there
    assert kinds == [KIND.Value("CONNECTED"), KIND.Value("DISCONNECTED"), KIND.Value("RESUBSCRIBED"),
                     KIND.Value("DISCONNECTED")], [KIND.Name(k) for k in kinds]
    connected, dropped, back, stopped = (event_to_record(e) for e in events)
    assert all(back.to_time_us <= e.event_time_us for e in outcomes)  # type: ignore[operator]
    for event in (connected, dropped, back, stopped):
        assert event.exchange.value == "upbit" and event.connection_id == "upbit-0"
        assert sorted(event.codes) == sorted(codes)
        assert began_us <= event.event_time_us <= ended_us
    assert connected.from_time_us is None and connected.to_time_us is None
    # the drop: from the last data read, after the first subscription, to when it was noticed
    assert dropped.from_time_us is not None and dropped.to_time_us is not None
    assert connected.event_time_us < dropped.from_time_us <= dropped.to_time_us == dropped.event_time_us
    assert dropped.reason
    # the time away: from that last data read to the new subscription
    assert back.from_time_us == dropped.from_time_us
    assert back.to_time_us == back.event_time_us and dropped.to_time_us <= back.to_time_us
    assert back.to_time_us <= stopped.from_time_us <= stopped.to_time_us <= ended_us  # type: ignore[operator]
    assert "stop" in stopped.reason

    bithumb = [event_to_record(pb.ConnectionEvent.FromString(r.value)) for r in read_topic(kafka_bootstrap,
                                                                                           events_topics[1])]
    assert [e.kind.value for e in bithumb] == ["CONNECTED", "DISCONNECTED"]
    assert {e.connection_id for e in bithumb} == {"bithumb-0"}
    print(f"FIGURES connection-events: upbit away {(back.to_time_us - dropped.from_time_us) / 1e6:.3f} s "
          f"(drop noticed {(dropped.to_time_us - dropped.from_time_us) / 1e6:.3f} s after the last data); "
          f"events producer RSS {events_rss_mb:.0f} MB")


def test_with_events_off_no_events_producer_runs_and_nothing_reaches_the_events_topic(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim = simulator_factory(market_count=2, rate=20, no_connect_limit=False)
    _, body = sim.get_json(f"{sim.rest('upbit')}/v1/market/all")
    codes = [m["market"] for m in body][:2]
    events_topic = f"{topic_prefix}.upbit.events"
    create_topics(kafka_bootstrap, [f"{topic_prefix}.upbit.{t}" for t in ("trade", "orderbook")] + [events_topic])
    admin, web = ports
    cfg = service_config(upbit_url=sim.url("upbit"), bithumb_url=None, markets=codes, bootstrap=kafka_bootstrap,
                         admin_port=admin, topic_prefix=topic_prefix, kafka={"events": False})
    service = service_factory(cfg, web_port=web)
    service.wait_connected(45)
    sim.drop("upbit")
    status = service.wait_for(lambda s: s["connections"]["upbit-0"]["reconnects"] >= 1
                              and s["connections"]["upbit-0"]["state"] == "CONNECTED"
                              and s["total_published"] > 0, 30, "upbit-0 reconnected and publishing")
    assert status["events"] == {"enabled": False, "by_exchange": {}, "consecutive_failures": 0, "last_error": "",
                                "cause": "", "recent": [], "in_flight": 0}
    assert "events" not in {p["role"] for p in status["processes"]}
    rc, _ = service.terminate()
    assert rc == 0, service.logs()[-3000:]
    assert read_topic(kafka_bootstrap, events_topic, timeout_s=5) == []
