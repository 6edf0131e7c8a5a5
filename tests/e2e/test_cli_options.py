"""The command line of ``actor_system.py`` (seed S4.1-b), run as a process: every option's good value
takes effect on the running service, where the YAML file says otherwise; every bad value exits 2 with
one line that names the option.
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.kafka_readback import create_topics, read_topic
from tests.e2e.service_process import REPO_ROOT, service_config
from tests.integration.tooling import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
DECOY_PORTS = (19700, 19799)  # ports the YAML names and the command line replaces: nothing may bind them


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_S4_1_b_every_option_overrides_the_file_on_the_running_service(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim = simulator_factory(market_count=8, rate=40)
    _, body = sim.get_json(f"{sim.rest('upbit')}/v1/market/all")
    codes = [m["market"] for m in body][:8]
    admin, web = ports
    yaml_admin = free_port(*DECOY_PORTS)
    yaml_web = free_port(yaml_admin + 1, DECOY_PORTS[1])
    dead_bootstrap = f"127.0.0.1:{free_port(yaml_web + 1, DECOY_PORTS[1])}"
    create_topics(kafka_bootstrap, [f"{topic_prefix}.{e}.{t}" for e in ("upbit", "bithumb")
                                    for t in ("trade", "orderbook")])
    # The file: other markets, a broker nobody runs, WARNING, and other ports.
    cfg = service_config(upbit_url=sim.url("upbit"), bithumb_url=sim.url("bithumb"), markets=codes[:2],
                         bootstrap=dead_bootstrap, admin_port=yaml_admin, topic_prefix=topic_prefix,
                         log={"level": "WARNING"}, web={"port": yaml_web})
    shared, upbit_only = codes[4:6], codes[6]
    service = service_factory(cfg, web_port=web, args=[
        "--log-level", "debug", "--markets", f"{','.join(shared)},upbit:{upbit_only}",
        "--kafka-bootstrap", kafka_bootstrap, "--admin-port", str(admin)])
    status = service.wait_connected(45)

    # --markets: exactly the command line's codes, per exchange; the file's are gone.
    subscribed: dict[str, set[str]] = {c["exchange"]: set() for c in status["connections"].values()}
    for connection in status["connections"].values():
        subscribed[connection["exchange"]] |= set(connection["codes"])
    assert subscribed == {"upbit": {*shared, upbit_only}, "bithumb": set(shared)}, subscribed
    # --port: the web interface answers on the command line's port, not on the file's.
    code, raw = service.http("/api/status")
    assert code == 200
    api = json.loads(raw)
    assert {m["market"] for m in api["markets"]} == {
        *(f"upbit:{c}" for c in (*shared, upbit_only)), *(f"bithumb:{c}" for c in shared)}, api["markets"]
    assert not _listening(yaml_web)
    # --admin-port: the actor system's admin listens there, and not on the file's port.
    assert _listening(admin) and not _listening(yaml_admin)
    assert f"admin port {admin}" in service.logs()
    # --kafka-bootstrap: records reach the real broker although the file names a dead one.
    # (an acknowledged publish needs a broker at that address; nothing listens at the file's)
    service.wait_for(lambda s: s["total_published"] > 20, 30, "records published through --kafka-bootstrap")
    assert read_topic(kafka_bootstrap, f"{topic_prefix}.upbit.trade")
    # --log-level: DEBUG lines (connection state changes) although the file says WARNING.
    logs = service.logs()
    assert re.search(r" DEBUG krwfeed\.supervisor .*-> CONNECTED", logs), logs[-2000:]
    assert service.terminate()[0] == 0


def _good_conf(tmp_path: Path) -> Path:
    conf = tmp_path / "krwfeed.yaml"
    conf.write_text(yaml.safe_dump(service_config(
        upbit_url="ws://127.0.0.1:9/websocket/v1", bithumb_url="ws://127.0.0.1:9/websocket/v1",
        markets=["KRW-BTC"], bootstrap="127.0.0.1:9", admin_port=19799, topic_prefix="cli")))
    return conf


BAD_VALUES = [
    ("--log-level", "LOUD", "DEBUG"),
    ("--markets", "BTC-KRW", "KRW-BTC"),
    ("--markets", "", "KRW-BTC,KRW-ETH"),
    ("--markets", "nowhere:KRW-BTC", "bithumb, upbit"),
    ("--kafka-bootstrap", "kafka-without-port", "host:port"),
    ("--kafka-bootstrap", ",", "kafka1:9092"),
    ("--port", "http", "invalid int value"),
    ("--port", "0", "from 1 to 65535"),
    ("--port", "70000", "from 1 to 65535"),
    ("--admin-port", "admin", "invalid int value"),
    ("--admin-port", "80", "from 1024 to 65535"),
    ("--conf", "/nonexistent/krwfeed.yaml", "not a readable file"),
]


@pytest.mark.parametrize(("option", "value", "hint"), BAD_VALUES,
                         ids=[f"{o}={v or 'empty'}" for o, v, _ in BAD_VALUES])
def test_S4_1_b_a_bad_value_exits_2_with_one_line_naming_the_option(
        tmp_path: Path, option: str, value: str, hint: str) -> None:
    conf = str(_good_conf(tmp_path))
    argv = [sys.executable, str(REPO_ROOT / "actor_system.py"), "--conf", conf, f"{option}={value}"]
    if option == "--conf":
        argv = [sys.executable, str(REPO_ROOT / "actor_system.py"), f"--conf={value}"]
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-1500:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("krwfeed: ") and option in lines[0] and hint in lines[0], lines[0]
    assert result.stdout == ""
