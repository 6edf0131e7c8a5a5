"""Subscription tickets on the service as it runs (seed S2.2-l): ``/api/status`` shows, per
connection, the live ticket with its codes, data types, send time and first data, and after the
simulator drops the sockets, the resubscription's ticket replaces the old one and gets data.
"""
from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.e2e.service_process import ServiceProcess
from tests.e2e.test_service_e2e import start_streaming

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def api_connections(service: ServiceProcess) -> dict[str, dict[str, Any]]:
    status, body = service.http("/api/status")
    if status != 200:
        return {}
    return {c["id"]: c for c in json.loads(body)["connections"]}


def wait_api(service: ServiceProcess, predicate: Any, timeout_s: float, what: str) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    last: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        last = api_connections(service)
        if last and predicate(last):
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last connections: {json.dumps(last)[:3000]}")


def live(conn: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in conn["tickets"] if t["live"]]


def streaming(conns: dict[str, dict[str, Any]]) -> bool:
    return all(len(live(c)) == 1 and live(c)[0]["state"] == "streaming"
               and not live(c)[0]["awaiting_types"] for c in conns.values())


def test_S2_2_l_status_maps_each_ticket_to_its_subscription_before_and_after_a_resubscribe(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    began_us = time.time_ns() // 1000
    sim, service, codes = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                          markets=4, rate=100, per_connection=2)
    before = wait_api(service, streaming, 30, "a streaming ticket on every connection")
    assert set(before) == {"upbit-0", "upbit-1", "bithumb-0", "bithumb-1"}
    for cid, conn in before.items():
        [ticket] = live(conn)
        assert ticket["codes"] == list(conn["codes"]) and len(ticket["codes"]) == 2, (cid, ticket)
        assert set(ticket["codes"]) <= set(codes)
        assert sorted(ticket["data_types"]) == ["orderbook", "trade"]
        # Sent (UTC µs) after the service started, data first read after it was sent.
        assert began_us < ticket["sent_us"] <= ticket["first_data_us"], ticket
        assert ticket["sent_utc"].endswith("Z") and ticket["data_arrived"]
        assert set(ticket["first_data_by_type_us"]) == {"trade", "orderbook"}
    old = {cid: live(conn)[0]["ticket"] for cid, conn in before.items()}

    dropped_us = time.time_ns() // 1000
    assert sim.drop("upbit")["dropped"] == 2

    def resubscribed(conns: dict[str, dict[str, Any]]) -> bool:
        return streaming(conns) and all(live(conns[cid])[0]["ticket"] != old[cid]
                                        for cid in ("upbit-0", "upbit-1"))

    after = wait_api(service, resubscribed, 60, "new streaming tickets on the upbit connections")
    for cid in ("upbit-0", "upbit-1"):
        conn = after[cid]
        assert conn["reconnects"] >= 1
        [new] = live(conn)
        replaced = [t for t in conn["tickets"] if t["ticket"] == old[cid]]
        assert [t["state"] for t in replaced] == ["replaced"] and not replaced[0]["live"]
        assert conn["tickets"][-1] == new  # the live ticket is the newest
        assert new["codes"] == replaced[0]["codes"]
        assert new["sent_us"] > dropped_us > replaced[0]["first_data_us"] and new["first_data_us"] >= new["sent_us"]
    for cid in ("bithumb-0", "bithumb-1"):  # not dropped: the same ticket still streams
        assert live(after[cid])[0]["ticket"] == old[cid]
        assert len(after[cid]["tickets"]) == 1
    assert service.terminate()[0] == 0
