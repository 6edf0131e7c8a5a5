"""Orderbooks and trades have producers of their own (seed S2.4-e), on the service as it runs: one
producer actor and one Kafka client per data type, each in its own process, and a stalled trade
producer does not hold orderbooks up.

The stall is the real broker's: the trade topics do not exist (the broker never creates topics on
its own), so each trade send blocks for ``max_block_ms`` waiting for metadata, then fails, and the
trade producer publishes nothing. While that goes on, orderbooks must reach Kafka without a pause
anywhere near that long.

The feed is kept light (60 events/s per exchange): the point is the coupling, not the throughput,
and a service pushed past what the machine carries expires records for reasons of its own.
"""
from __future__ import annotations

import re
import time
from typing import Any

import psutil
import pytest

from tests.e2e.kafka_readback import create_topics
from tests.e2e.service_process import MARK, ServiceProcess, service_config
from tests.support.kafka_broker import read_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
MAX_BLOCK_MS = 3000  # each trade send waits this long for the missing topic's metadata
STALL_WINDOW_S = 8.0
ORDERBOOK_GAP_LIMIT_S = 1.5  # half a trade stall: a shared client or thread would show gaps >= 3 s


def _service_pids(service: ServiceProcess) -> list[psutil.Process]:
    found = [psutil.Process(service.proc.pid)]
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid != service.proc.pid and proc.environ().get(MARK) == service.mark:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _pids_connected_to(processes: list[psutil.Process], port: int) -> set[int]:
    pids = set()
    for proc in processes:
        try:
            if any(c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
                   for c in proc.net_connections(kind="tcp")):
                pids.add(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return pids


def _start(simulator_factory: Any, service_factory: Any, bootstrap: str, ports: tuple[int, int], prefix: str,
           *, trade_topics: bool, **kafka: Any) -> tuple[ServiceProcess, list[str]]:
    sim = simulator_factory(market_count=6, rate=60)
    _, body = sim.get_json(f"{sim.rest('upbit')}/v1/market/all")
    codes = [m["market"] for m in body][:6]
    types = ("orderbook", "trade") if trade_topics else ("orderbook",)
    orderbook_topics = [f"{prefix}.{e}.orderbook" for e in ("upbit", "bithumb")]
    create_topics(bootstrap, [f"{prefix}.{e}.{t}" for e in ("upbit", "bithumb") for t in (*types, "events")])
    admin, web = ports
    cfg = service_config(upbit_url=sim.url("upbit"), bithumb_url=sim.url("bithumb"), markets=codes,
                         bootstrap=bootstrap, admin_port=admin, topic_prefix=prefix, markets_per_connection=3,
                         kafka=kafka)
    service = service_factory(cfg, web_port=web)
    service.wait_connected(45)
    return service, orderbook_topics


def test_S2_4_e_one_producer_actor_and_one_kafka_client_per_data_type(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    service, _ = _start(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix, trade_topics=True)
    status = service.wait_for(lambda s: all(p["succeeded"] > 0 for p in s["producers"].values()),
                              30, "both data types published")
    assert set(status["producers"]) == {"trade", "orderbook"}
    logs = service.logs()
    client_pids = {t: [int(p) for p in re.findall(rf"pid=(\d+) kafka producer (?:\([^)]*\) )?for {t}: ", logs)]
                   for t in ("trade", "orderbook")}
    assert all(len(pids) == 1 for pids in client_pids.values()), client_pids
    trade_pid, orderbook_pid = client_pids["trade"][0], client_pids["orderbook"][0]
    assert trade_pid != orderbook_pid
    assert re.search(rf"pid={trade_pid} producer trade started", logs)
    assert re.search(rf"pid={orderbook_pid} producer orderbook started", logs)
    # the events producer has a client of its own too, in its own process
    service.wait_for(lambda s: s["events"]["by_exchange"]["upbit"]["published"] > 0, 20,
                     "the events producer publishing")
    logs = service.logs()
    events_pids = [int(p) for p in re.findall(r"pid=(\d+) kafka producer (?:\([^)]*\) )?for event: ", logs)]
    assert len(events_pids) == 1 and events_pids[0] not in (trade_pid, orderbook_pid), events_pids
    broker_port = int(kafka_bootstrap.rsplit(":", 1)[1])
    connected: set[int] = set()
    expected = {trade_pid, orderbook_pid, events_pids[0]}
    deadline = time.monotonic() + 10
    while connected != expected and time.monotonic() < deadline:
        connected = _pids_connected_to(_service_pids(service), broker_port)
        time.sleep(0.2)
    # Exactly the producers talk to the broker: no client is shared, none sits elsewhere.
    assert connected == expected, connected
    assert service.terminate()[0] == 0


def test_S2_4_e_a_stalled_trade_producer_does_not_hold_up_orderbooks(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    # The stall lasts well under kafka.max_outage_s, so the service rides it out with the shipped limits.
    service, orderbook_topics = _start(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                       trade_topics=False, max_block_ms=MAX_BLOCK_MS)
    # The trade producer is stalled: its first send blocked and failed, and nothing succeeds.
    before = service.wait_for(lambda s: s["producers"]["trade"]["failed"] > 0, 20, "trade sends failing")
    window_start_ms = int(time.time() * 1000)
    progress = []  # orderbooks published, once a second through the window
    for _ in range(int(STALL_WINDOW_S)):
        time.sleep(1.0)
        now = service.status()
        progress.append(now["producers"]["orderbook"]["succeeded"] if now else None)
    window_end_ms = int(time.time() * 1000)
    during = service.status()
    assert during is not None
    trade, orderbook = during["producers"]["trade"], during["producers"]["orderbook"]
    assert trade["succeeded"] == 0 and trade["consecutive_failures"] > 0, trade
    assert orderbook["failed"] == 0 and orderbook["consecutive_failures"] == 0, orderbook
    assert orderbook["succeeded"] > before["producers"]["orderbook"]["succeeded"] + 50, (
        before["producers"], progress, during["producers"], during["buffer"])

    # Orderbooks kept reaching the broker all through the stall, never pausing for long.
    stamps = sorted(r.timestamp for t in orderbook_topics for r in read_all(kafka_bootstrap, t)
                    if window_start_ms <= r.timestamp <= window_end_ms)
    assert stamps, "no orderbook reached Kafka during the trade stall"
    edges = [window_start_ms, *stamps, window_end_ms]
    longest_gap_s = max(b - a for a, b in zip(edges, edges[1:], strict=False)) / 1000
    print(f"FIGURES S2.4-e: {len(stamps)} orderbooks in Kafka during an {STALL_WINDOW_S:.0f} s trade stall, "
          f"longest gap {longest_gap_s:.2f} s; trade failures {trade['failed']}")
    assert longest_gap_s < ORDERBOOK_GAP_LIMIT_S, longest_gap_s
    assert service.terminate(20.0)[0] == 0
