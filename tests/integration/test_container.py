"""The Docker image built from the Dockerfile and run against the simulator and the real broker.

Needs a running Docker engine (``docker info`` answers, e.g. through ``DOCKER_HOST``) and the base
image ``python:3.11-slim`` in it; where no registry image can be pulled,
``scripts/container_engine.sh start`` and ``base`` provide both (CI runs them). Without them the
tests are skipped on a developer machine and fail under ``KRWFEED_REQUIRE_REAL_PARTS=1`` (CI).
The container uses the host network (the engine runs with ``--bridge=none``), so it reaches the
simulator and the broker on 127.0.0.1.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.kafka_readback import create_topics
from tests.e2e.service_process import service_config
from tests.integration.live_service import ADMIN_PORTS, WEB_PORTS
from tests.integration.tooling import free_port
from tests.support.kafka_broker import KafkaControl, unavailable
from tests.support.simulator_process import SimulatorProcess, start_simulator

pytestmark = [pytest.mark.container, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "python:3.11-slim"
HEALTHY_WITHIN_S = 30.0  # seed S4.3-c


def docker(*args: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker CLI"
    try:
        if docker("info", "--format", "{{.ServerVersion}}", timeout=10, check=False).returncode != 0:
            return "no Docker engine answers (start dockerd, set DOCKER_HOST)"
        if docker("image", "inspect", BASE_IMAGE, timeout=10, check=False).returncode != 0:
            return f"the base image {BASE_IMAGE} is not in the engine (see docs/operations.md)"
    except subprocess.TimeoutExpired:
        return "the Docker engine does not answer"
    return None


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    problem = engine_problem()
    if problem:
        unavailable(f"{problem}; scripts/container_engine.sh start && scripts/container_engine.sh base")
    tag = f"krwfeed-test:{uuid.uuid4().hex[:8]}"
    began = time.monotonic()
    built = subprocess.run(["docker", "build", "--network", "host", "-t", tag, str(ROOT)], capture_output=True,
                           text=True, timeout=600, env={**os.environ, "DOCKER_BUILDKIT": "0"})
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    print(f"FIGURES container: image built in {time.monotonic() - began:.1f} s")
    yield tag
    docker("rmi", "-f", tag, check=False)


def _health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def run_container(image: str, simulator: SimulatorProcess, kafka_bootstrap: str,
                  tmp_path: Path) -> tuple[str, int, float]:
    """Starts the image against the simulator's first 4 markets; returns (container id, web port,
    monotonic time of ``docker run``)."""
    _, body = simulator.get_json(f"{simulator.rest('upbit')}/v1/market/all")
    codes = [m["market"] for m in body][:4]
    prefix = "ctr-" + uuid.uuid4().hex[:10]
    create_topics(kafka_bootstrap, [f"{prefix}.{e}.{t}" for e in ("upbit", "bithumb")
                                    for t in ("trade", "orderbook")])
    web_port, admin_port = free_port(*WEB_PORTS), free_port(*ADMIN_PORTS)
    config = service_config(upbit_url=simulator.url("upbit"), bithumb_url=simulator.url("bithumb"),
                            markets=codes, bootstrap=kafka_bootstrap, admin_port=admin_port,
                            topic_prefix=prefix, markets_per_connection=4)
    conf = tmp_path / "krwfeed.yaml"
    conf.write_text(yaml.safe_dump(config))
    conf.chmod(0o644)  # read by the image's non-root user
    started = time.monotonic()
    container = docker("run", "-d", "--network", "host", "-e", f"PORT={web_port}",
                       "-v", f"{conf}:/app/conf/test.yaml:ro", image,
                       "python", "actor_system.py", "--conf", "conf/test.yaml").stdout.strip()
    return container, web_port, started


def health_of(container: str) -> str:
    return docker("inspect", "-f", "{{.State.Health.Status}}", container).stdout.strip()


def wait_health(container: str, limit_s: float) -> tuple[str, float]:
    began = time.monotonic()
    health = ""
    while time.monotonic() - began < limit_s:
        health = health_of(container)
        if health in ("healthy", "unhealthy"):
            break
        time.sleep(0.5)
    return health, time.monotonic() - began


def test_S4_3_c_container_reports_healthy_within_30_s_and_stops_on_sigterm(
        image: str, kafka_bootstrap: str, tmp_path: Path) -> None:
    simulator = start_simulator(market_count=4, rate=50)
    container = ""
    try:
        container, web_port, started = run_container(image, simulator, kafka_bootstrap, tmp_path)
        health, _ = wait_health(container, HEALTHY_WITHIN_S + 15)
        healthy_s = time.monotonic() - started
        logs = docker("logs", container, check=False)
        assert health == "healthy", f"{health} after {healthy_s:.1f} s\n{logs.stdout[-2000:]}{logs.stderr[-2000:]}"
        assert healthy_s <= HEALTHY_WITHIN_S, healthy_s
        # $PORT bound on all interfaces, reached from the host; 200 once every market had a message
        deadline = started + HEALTHY_WITHIN_S + 15
        while _health(web_port) != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _health(web_port) == 200

        assert docker("exec", container, "id", "-u").stdout.strip() == "10001"
        pid1 = docker("exec", container, "cat", "/proc/1/cmdline").stdout.replace("\0", " ")
        assert pid1.startswith("/usr/bin/tini"), pid1

        stop_began = time.monotonic()
        docker("stop", "-t", "20", container, timeout=60)
        stop_s = time.monotonic() - stop_began
        exit_code = docker("inspect", "-f", "{{.State.ExitCode}}", container).stdout.strip()
        assert exit_code == "0", docker("logs", "--tail", "30", container, check=False).stderr
        assert stop_s < 10.0, stop_s  # SIGTERM reached krwfeed through tini (no SIGKILL after 20 s)
        print(f"FIGURES container: healthy after {healthy_s:.1f} s, docker stop -> exit 0 in {stop_s:.1f} s")
    finally:
        if container:
            docker("rm", "-f", container, check=False)
        simulator.stop()


OUTAGE_S = 40.0  # longer than the HEALTHCHECK's 3 retries at 10 s


def test_container_stays_healthy_through_a_kafka_outage_the_service_survives(
        image: str, kafka_bootstrap: str, kafka_control: KafkaControl, tmp_path: Path) -> None:
    """A trickle of records during the outage makes a few publish calls fail, far fewer than the
    service's limit, so it rides the outage out; /health says 503 meanwhile (Kafka failing, markets
    going stale), but the container must not turn unhealthy, which would get it restarted."""
    simulator = start_simulator(market_count=4, rate=50)
    container = ""
    try:
        container, web_port, _ = run_container(image, simulator, kafka_bootstrap, tmp_path)
        health, _ = wait_health(container, HEALTHY_WITHIN_S + 15)
        assert health == "healthy"
        simulator.set_rate(0, "upbit")
        simulator.set_rate(0, "bithumb")
        time.sleep(2)  # the buffer drains into Kafka
        kafka_control.stop()
        began, seen, service_health, bursts = time.monotonic(), set(), set(), 0
        while time.monotonic() - began < OUTAGE_S:
            if time.monotonic() - began >= 10 * bursts:  # a record or two every 10 s: one failed publish each
                simulator.set_rate(10, "upbit")
                time.sleep(0.15)
                simulator.set_rate(0, "upbit")
                bursts += 1
            seen.add(health_of(container))
            service_health.add(_health(web_port))
            time.sleep(2)
        running = docker("inspect", "-f", "{{.State.Running}}", container).stdout.strip()
        kafka_control.start()
        assert running == "true", docker("logs", "--tail", "30", container, check=False).stderr
        assert 503 in service_health  # the outage was visible on /health
        assert seen == {"healthy"}, seen
        print(f"FIGURES container: healthy through a {OUTAGE_S:.0f} s Kafka outage; /health {sorted(service_health)}")
    finally:
        if container:
            docker("rm", "-f", container, check=False)
        simulator.stop()
