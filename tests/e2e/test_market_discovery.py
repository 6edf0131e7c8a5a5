"""Markets discovered and followed, on the service as a process against the simulator and the real
broker: ``markets: all`` with ``exclude`` subscribes exactly the listed KRW markets minus the excluded
ones; a market listed during the run streams into Kafka; a delisted one stops without an error; a
failed refresh keeps the last list and is counted; a start with the market list down retries and
starts once it answers; a crashed connector comes back with the codes the market list gave it.
"""
from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from typing import Any

import pytest

from proto.krwfeed.v1 import market_data_pb2 as pb
from tests.e2e.kafka_readback import create_topics, read_topic
from tests.e2e.service_process import ServiceProcess, service_config
from tests.e2e.test_service_e2e import topics

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

REFRESH_S = 1.0


def discovery_config(sim: Any, bootstrap: str, ports: tuple[int, int], prefix: str, **upbit: Any) -> dict[str, Any]:
    admin, _ = ports
    return service_config(upbit_url=sim.url("upbit"), bithumb_url=None, markets=[], bootstrap=bootstrap,
                          admin_port=admin, topic_prefix=prefix,
                          upbit={"markets": "all", "markets_refresh_s": REFRESH_S, **upbit})


def followed(status: dict[str, Any]) -> list[str]:
    return sorted(code for conn in status["connections"].values() for code in conn["codes"])


def all_connected(status: dict[str, Any]) -> bool:
    conns = status["connections"].values()
    return bool(conns) and all(c["state"] == "CONNECTED" for c in conns)


def trade_counts(bootstrap: str, topic: str) -> Counter[str]:
    return Counter(pb.Trade.FromString(read.value).code for read in read_topic(bootstrap, topic, timeout_s=10))


def wait_kafka(bootstrap: str, topic: str, predicate: Any, timeout_s: float, what: str) -> Counter[str]:
    deadline = time.monotonic() + timeout_s
    counts: Counter[str] = Counter()
    while time.monotonic() < deadline:
        counts = trade_counts(bootstrap, topic)
        if predicate(counts):
            return counts
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; trades by code: {dict(counts)}")


def api_status(service: ServiceProcess) -> dict[str, Any]:
    status, body = service.http("/api/status")
    assert status == 200, body[:500]
    return json.loads(body)  # type: ignore[no-any-return]


def test_markets_all_follows_listings_and_delistings_and_keeps_the_list_when_a_refresh_fails(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim = simulator_factory(market_count=6, rate=60)
    _, body = sim.get_json(f"{sim.rest('upbit')}/v1/market/all")
    listed = [m["market"] for m in body if m["market"].startswith("KRW-")]
    assert len(listed) == 6
    excluded = listed[1]
    create_topics(kafka_bootstrap, topics(topic_prefix, ("upbit",)))
    cfg = discovery_config(sim, kafka_bootstrap, ports, topic_prefix, exclude=[excluded], markets_per_connection=3)
    service = service_factory(cfg, web_port=ports[1])

    # Exactly the listed KRW markets minus the excluded one, on two connections of at most 3 codes.
    start = service.wait_for(lambda s: all_connected(s) and len(followed(s)) == 5, 60, "5 markets followed")
    expected = sorted(set(listed) - {excluded})
    assert followed(start) == expected
    assert sorted(start["connections"]) == ["upbit-0", "upbit-1"]
    assert start["discovery"]["upbit"]["state"] == "following"
    assert sim.stats("upbit")["subscribed_codes"] == 5
    trade_topic = f"{topic_prefix}.upbit.trade"
    first = wait_kafka(kafka_bootstrap, trade_topic, lambda c: set(expected) <= set(c), 60, "trades of every market")
    assert excluded not in first

    # Two listings: the first fills upbit-1 (resubscribed on its open socket), the second opens upbit-2.
    for code in ("KRW-NEWA", "KRW-NEWB"):
        assert sim.control("list", "upbit", code=code, price="1000")["listed"]
    grown = service.wait_for(lambda s: all_connected(s) and {"KRW-NEWA", "KRW-NEWB"} <= set(followed(s)), 60,
                             "the new listings followed")
    assert sorted(grown["connections"]) == ["upbit-0", "upbit-1", "upbit-2"]
    assert "KRW-NEWA" in grown["connections"]["upbit-1"]["codes"]
    assert grown["connections"]["upbit-1"]["reconnects"] == 0  # new codes without a new socket
    assert grown["connections"]["upbit-2"]["codes"] == ["KRW-NEWB"]
    assert grown["discovery"]["upbit"]["markets_added"] == 2
    wait_kafka(kafka_bootstrap, trade_topic, lambda c: c["KRW-NEWA"] > 0 and c["KRW-NEWB"] > 0, 60,
               "trades of the new listings in Kafka")
    # upbit-1's open socket carries the new request: its ticket is live, the first one replaced.
    upbit_1 = next(c for c in api_status(service)["connections"] if c["id"] == "upbit-1")
    live = [t for t in upbit_1["tickets"] if t["live"]]
    assert [t["codes"] for t in live] == [upbit_1["codes"]] and "KRW-NEWA" in live[0]["codes"]
    assert [t["state"] for t in upbit_1["tickets"][:-1]] == ["replaced"]

    # Delist KRW-NEWB (upbit-2's only code) and one code of upbit-0.
    gone = {"KRW-NEWB", expected[0]}
    for code in gone:
        assert sim.control("delist", "upbit", code=code)["delisted"]
    shrunk = service.wait_for(lambda s: not gone & set(followed(s)) and "upbit-2" not in s["connections"], 60,
                              "the delisted markets dropped and upbit-2 stopped")
    assert shrunk["discovery"]["upbit"]["markets_removed"] == 2
    assert all_connected(shrunk)
    time.sleep(2 * REFRESH_S)
    before = trade_counts(kafka_bootstrap, trade_topic)
    time.sleep(3)
    after = api_status(service)
    later = trade_counts(kafka_bootstrap, trade_topic)
    assert all(later[code] == before[code] for code in gone), (before, later)
    assert later["KRW-NEWA"] > before["KRW-NEWA"]  # the others still stream
    for conn in after["connections"]:
        assert conn["state"] == "CONNECTED" and conn["malformed"] == 0 and conn["reconnects"] == 0, conn
    health, health_body = service.http("/health")
    assert health == 200, health_body[:1000]

    # A failed refresh keeps the last list and is counted.
    failed_before = after["discovery"]["upbit"]["refreshes_failed"]
    sim.control("rest_fail", "upbit", seconds=3 * REFRESH_S, status=503)
    failing = service.wait_for(lambda s: s["discovery"]["upbit"]["refreshes_failed"] > failed_before, 30,
                               "a failed refresh counted")
    assert followed(failing) == followed(shrunk)
    assert "503" in failing["discovery"]["upbit"]["last_error"]
    assert all_connected(failing)
    recovered = service.wait_for(lambda s: not s["discovery"]["upbit"]["last_error"], 30, "a refresh that works")
    assert followed(recovered) == followed(shrunk)
    rc, _ = service.terminate()
    assert rc == 0, service.logs()[-3000:]
    logs = service.logs()
    assert "market list refresh failed" in logs and "keeping the last list" in logs


def test_start_with_the_market_list_down_retries_and_starts_once_it_answers(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim = simulator_factory(market_count=3, rate=30)
    create_topics(kafka_bootstrap, topics(topic_prefix, ("upbit",)))
    sim.control("rest_fail", "upbit", seconds=6, status=500)
    service = service_factory(discovery_config(sim, kafka_bootstrap, ports, topic_prefix), web_port=ports[1])
    waiting = service.wait_for(lambda s: s["discovery"].get("upbit", {}).get("refreshes_failed", 0) >= 1, 30,
                               "a failed first attempt")
    assert waiting["discovery"]["upbit"]["state"] == "retrying" and not waiting["connections"]
    api = api_status(service)
    assert api["discovery"]["upbit"]["state"] == "retrying" and "500" in api["discovery"]["upbit"]["last_error"]
    started = service.wait_for(lambda s: all_connected(s) and len(followed(s)) == 3, 60,
                               "the connections once the market list answers")
    assert started["discovery"]["upbit"]["state"] == "following"
    assert started["discovery"]["upbit"]["refreshes_ok"] >= 1
    wait_kafka(kafka_bootstrap, f"{topic_prefix}.upbit.trade", lambda c: len(c) == 3, 60, "trades of all 3 markets")

    # A connector that crashes is restarted with the codes the market list gave it, and a listing
    # made meanwhile reaches the restarted one.
    [old_pid] = [p["pid"] for p in started["processes"] if p["name"] == "upbit-0"]
    os.kill(old_pid, signal.SIGKILL)
    assert sim.control("list", "upbit", code="KRW-AFTER", price="500")["listed"]

    def restarted(s: dict[str, Any]) -> bool:
        pids = [p["pid"] for p in s["processes"] if p["name"] == "upbit-0"]
        return all_connected(s) and pids != [old_pid] and "KRW-AFTER" in followed(s)

    again = service.wait_for(restarted, 60, "upbit-0 restarted with the new listing")
    assert len(followed(again)) == 4
    wait_kafka(kafka_bootstrap, f"{topic_prefix}.upbit.trade", lambda c: c["KRW-AFTER"] > 0, 60,
               "trades of the listing after the restart")
    rc, _ = service.terminate()
    assert rc == 0, service.logs()[-3000:]
    assert "the market list is unavailable" in service.logs()
