"""Stopping is idempotent (seed S3.1-d), on the service as it runs: ``StopService`` sent twice to the real
supervisor through the service's own actor system, and two SIGTERMs in quick succession to the
process. Either way there is one drain, every record received is published, dropped (counted) or a
counted failed publish, nothing is left in the buffer, and the process exits 0. The feed is light:
the point is the stop, not a service pushed past what a shared machine carries.
"""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.e2e.kafka_readback import read_topic
from tests.e2e.service_process import REPO_ROOT, ServiceProcess
from tests.e2e.test_service_e2e import start_streaming, topics

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


# Joins the service's actor system as a client, tells the supervisor StopService twice in a row and
# prints every ServiceStopped it gets back. It is a short-lived process of its own, so nothing stays
# joined to the service's actor system once the test has its answers (a client kept in the test
# process was seen holding the admin's final shutdown up until its 10 s limit).
STOP_TWICE = """
import json, sys, time
from thespian.actors import ActorSystem
from actors.thespian_setup import CAPABILITIES, prepare_thespian
from actors.supervisor import GLOBAL_NAME, Supervisor
from messages import ServiceStopped, StopService
prepare_thespian()  # as the service does: its admin listens on, and is reached at, 127.0.0.1 only
asys = ActorSystem("multiprocTCPBase", {**CAPABILITIES, "Admin Port": int(sys.argv[1])}, transientUnique=True)
supervisor = asys.createActor(Supervisor, globalName=GLOBAL_NAME)
asys.tell(supervisor, StopService(deadline_s=8.0))
asys.tell(supervisor, StopService(deadline_s=8.0))
replies, deadline = [], time.monotonic() + 15
while len(replies) < 2 and time.monotonic() < deadline:
    reply = asys.listen(1.0)
    if isinstance(reply, ServiceStopped):
        replies.append([reply.flushed, reply.left_in_buffer])
print(json.dumps(replies))
"""


def _settled(status: dict[str, Any]) -> tuple[int, int, int, int, int]:
    dropped = sum(status["buffer"]["dropped"].values())
    failed = sum(p["failed"] for p in status["producers"].values())
    depth = sum(status["buffer"]["depth"].values())
    return status["total_received"], status["total_published"], dropped, failed, depth


def _assert_one_clean_drain(service: ServiceProcess, final: dict[str, Any]) -> None:
    received, published, dropped, failed, depth = _settled(final)
    assert received > 0
    assert received == published + dropped + failed, (received, published, dropped, failed)
    assert depth == 0
    logs = service.logs()
    # One stop sequence: the supervisor announces each sequence it begins, the main process each stop.
    assert len(re.findall(r"krwfeed\.supervisor .*stopping: \d+ connectors", logs)) == 1, logs[-3000:]
    assert len(re.findall(r"krwfeed\.main .*stopping \(", logs)) == 1, logs[-3000:]
    assert "deadline reached" not in logs


def test_S3_1_d_stop_service_twice_to_the_running_supervisor_drains_once(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                      markets=6, rate=80, per_connection=3, buffer={"ttl_s": {"trade": 10.0}})
    service.wait_for(lambda s: s["total_published"] > 200, 30, "publishing")
    client = subprocess.run([sys.executable, "-c", STOP_TWICE, str(ports[0])], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert client.returncode == 0, client.stderr[-2000:]
    replies = json.loads(client.stdout.strip().splitlines()[-1])
    # Both callers get the one sequence's answer: the same count published, nothing left behind.
    assert len(replies) == 2 and replies[0] == replies[1] and replies[0][1] == 0, replies
    stopped = service.wait_for(lambda s: not s["running"], 10, "the supervisor reports itself stopped")
    assert stopped["total_published"] == replies[0][0]
    assert all(c["state"] in ("DISCONNECTED", "FAILED") for c in stopped["connections"].values())
    # The process exits 0 on SIGTERM: its own stop joins the finished sequence instead of starting one.
    rc, exit_s = service.terminate(15.0)
    assert rc == 0, service.logs()[-3000:]
    assert not service.leftovers()
    final = service.status()
    assert final is not None
    assert final["total_received"] == stopped["total_received"], "nothing was read after the stop"
    _assert_one_clean_drain(service, final)
    in_kafka = sum(len(read_topic(kafka_bootstrap, t)) for t in topics(topic_prefix))
    assert in_kafka == final["total_published"]


def test_S3_1_d_two_sigterms_in_quick_succession_drain_once_and_exit_0(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                      markets=6, rate=80, per_connection=3, buffer={"ttl_s": {"trade": 10.0}})
    service.wait_for(lambda s: s["total_published"] > 200, 30, "publishing")
    service.proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    rc, exit_s = service.terminate(15.0)  # the second SIGTERM, while the first stop is under way
    assert rc == 0 and exit_s < 10.0, (rc, exit_s, service.logs()[-3000:])
    assert not service.leftovers()
    final = service.status()
    assert final is not None and not final["running"]
    _assert_one_clean_drain(service, final)
    assert "graceful stop done" in service.logs()
