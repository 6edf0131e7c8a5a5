"""The benchmarks' measuring tools: per-hop rates, per-role CPU, the Kafka append counter, and the
minimal pipeline the benchmark compares krwfeed with, against the real simulator and broker."""
from __future__ import annotations

import http.server
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
from kafka import KafkaProducer

from bench.common import (
    CLIENT_THREADS,
    AppendCounter,
    ProcessCpu,
    RoleMeter,
    Usage,
    hop_rates,
    ordered_roles,
    usage_delta,
)
from tests.support.kafka_broker import create_topic, read_all
from tests.support.simulator_process import REPO_ROOT

HOP = "ingestion_data_path_messages_total"


@pytest.mark.unit
def test_hop_rates_are_per_second_deltas_per_hop_and_absent_without_the_metric() -> None:
    before = {(HOP, (("hop", "connector_buffer"),)): 100.0, (HOP, (("hop", "buffer_producer"),)): 40.0,
              ("other_total", ()): 5.0}
    after = {(HOP, (("hop", "connector_buffer"),)): 400.0, (HOP, (("hop", "buffer_producer"),)): 100.0,
             (HOP, (("hop", "producer_kafka"),)): 30.0, ("other_total", ()): 9.0}
    assert hop_rates(before, after, 10.0) == {"buffer_producer": 6.0, "connector_buffer": 30.0,
                                              "producer_kafka": 3.0}
    assert hop_rates({("other_total", ()): 1.0}, {("other_total", ()): 2.0}, 10.0) is None


@pytest.mark.unit
def test_usage_delta_sums_per_role_and_counts_new_processes_whole() -> None:
    before = Usage(pid_cpu={1: 10.0, 2: 5.0, 3: 1.0}, pid_thread_cpu={3: 0.5})
    after = Usage(pid_cpu={1: 12.0, 2: 6.5, 3: 4.0, 4: 0.25}, pid_thread_cpu={3: 2.0, 4: 0.1})
    roles = {1: "connector", 2: "connector", 3: "producer", 4: "producer"}
    assert usage_delta(before, after, roles) == {"connector": 3.5, "producer": 3.25, CLIENT_THREADS: 1.6}
    assert ordered_roles(["other", CLIENT_THREADS, "zeta", "producer", "connector"]) == [
        "connector", "producer", "other", "zeta", CLIENT_THREADS]


@pytest.mark.unit
def test_process_cpu_includes_children() -> None:
    busy_child = ("import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
                  "time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                               f"subprocess.Popen([sys.executable, '-c', {busy_child!r}])\ntime.sleep(60)"])
    meter = ProcessCpu(parent.pid)
    try:
        deadline = time.monotonic() + 30
        while meter.cpu_seconds() < 0.3:  # the parent alone only starts up; the child burns 0.3 s
            assert time.monotonic() < deadline, f"only {meter.cpu_seconds():.2f} CPU-s seen"
            time.sleep(0.1)
        assert len(meter.processes()) == 2
        assert meter.rss_mb() > 0
    finally:
        for proc in meter.processes()[::-1]:
            proc.kill()
        parent.wait()


@pytest.mark.integration
def test_append_counter_counts_what_was_appended_in_a_window(kafka_bootstrap: str) -> None:
    topic = f"bench-count-{time.time_ns()}"
    create_topic(kafka_bootstrap, topic, 3, {"message.timestamp.type": "LogAppendTime"})
    counter = AppendCounter(kafka_bootstrap, [topic])
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        for _ in range(7):
            producer.send(topic, b"before")
        producer.flush()
        time.sleep(0.05)
        t0 = time.time()
        for i in range(25):
            producer.send(topic, b"inside", key=str(i).encode())
        producer.flush()
        time.sleep(0.05)
        t1 = time.time()
        for _ in range(4):
            producer.send(topic, b"after")
        producer.flush()
        assert counter.between(t0, t1) == 25
        assert counter.between(t0 - 3600, time.time() + 1) == 36
    finally:
        producer.close()
        counter.close()


@pytest.mark.integration
@pytest.mark.parametrize("tls", [False, True])
def test_minimal_pipeline_moves_every_frame_it_read_into_kafka(simulator_factory: Any, kafka_bootstrap: str,
                                                               tls: bool) -> None:
    sim = simulator_factory(markets=["KRW-BTC", "KRW-ETH", "KRW-XRP"], rate=0, load=True, idle_timeout=0,
                            tls=tls)
    prefix = f"bench-minimal-{time.time_ns()}"
    for kind in ("trade", "orderbook"):
        create_topic(kafka_bootstrap, f"{prefix}.{kind}", 3)
    argv = [sys.executable, str(REPO_ROOT / "bench" / "minimal_pipeline.py"), "--url", sim.upbit_url,
            "--codes", "KRW-BTC,KRW-ETH,KRW-XRP", "--bootstrap", kafka_bootstrap, "--topic-prefix", prefix]
    if tls:
        argv += ["--ca-file", str(sim.ca_file)]
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while sim.stats()["subscribed_codes"] < 3:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        sim.set_rate(1000)
        time.sleep(2.0)
        sim.set_rate(0)
        time.sleep(0.1)  # past the feed's last tick
        logged = sim.stats()["logged"]
        counter = AppendCounter(kafka_bootstrap, [f"{prefix}.trade", f"{prefix}.orderbook"])
        try:  # until everything sent is in Kafka (or 30 s), so the stop does not cut a live stream
            while counter.between(0, time.time() + 60) < logged and time.monotonic() < deadline + 30:
                time.sleep(0.2)
        finally:
            counter.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    log = sim.sent_log()
    trades = read_all(kafka_bootstrap, f"{prefix}.trade")
    books = read_all(kafka_bootstrap, f"{prefix}.orderbook")
    assert summary == {"frames": log["trade_count"] + log["orderbook_count"], "unflushed": 0}
    assert summary["frames"] > 1000
    sent_ids = Counter((code, sid) for code, sids in log["trades"].items() for sid in sids)
    got_ids: Counter[tuple[str, int]] = Counter()
    for record in trades:
        frame = json.loads(record.value or b"")
        assert record.key == frame["code"].encode()
        got_ids[(frame["code"], frame["sequential_id"])] += 1
    assert got_ids == sent_ids
    assert Counter(json.loads(r.value or b"")["code"] for r in books) == Counter(log["orderbooks"])


class _StatusHandler(http.server.BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.mark.integration
def test_role_meter_uses_the_processes_krwfeed_lists_and_calls_the_rest_other() -> None:
    sleepers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(3)]
    main, connector, producer = sleepers
    tree = SimpleNamespace(service=SimpleNamespace(proc=main),
                           processes=lambda: [psutil.Process(p.pid) for p in sleepers])
    server = http.server.HTTPServer(("127.0.0.1", 0), _StatusHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        meter = RoleMeter(tree, server.server_address[1])  # type: ignore[arg-type]
        assert meter.roles() == {main.pid: "main", connector.pid: "other", producer.pid: "other"}
        assert meter.per_role is False  # nothing listed: the tree is main and other
        _StatusHandler.body = json.dumps({"processes": [
            {"role": "connector", "name": "upbit-0", "pid": connector.pid},
            {"role": "producer", "name": "trade", "pid": producer.pid}]}).encode()
        assert meter.roles() == {main.pid: "main", connector.pid: "connector", producer.pid: "producer"}
        assert meter.per_role is True
        usage = meter.sample()
        assert dict(usage.processes) == {"main": 1, "connector": 1, "producer": 1}
        assert set(usage.pid_thread_cpu) == {producer.pid}  # client threads are measured in producers only
        assert all(v > 1 for v in usage.rss_mb.values())
    finally:
        server.shutdown()
        for proc in sleepers:
            proc.kill()
            proc.wait()
