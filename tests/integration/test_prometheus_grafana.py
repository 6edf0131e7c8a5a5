"""Grafana dashboard and provisioning checked statically, then every panel's PromQL run against a real
Prometheus (Debian's) scraping the running krwfeed service (``python actor_system.py``) fed by the
exchange simulator and publishing to the real broker; its actors write the metrics in their own
processes and the web thread merges them (multiprocess mode)."""
from __future__ import annotations

import json
import math
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.live_service import LiveService, live_service
from tests.integration.tooling import free_port, require_tool

pytestmark = pytest.mark.prometheus
ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/dashboards/krwfeed.json"
MACROS = {"$__rate_interval": "10s", "$__interval": "5s", "$__range": "1h", "$exchange": ".*"}


def dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return doc


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))  # collapsed rows nest their panels


def queries() -> list[tuple[str, str]]:
    found = []
    for panel in all_panels(dashboard()["panels"]):
        for target in panel.get("targets", []):
            expr = target["expr"]
            for macro, value in MACROS.items():
                expr = expr.replace(macro, value)
            found.append((panel["title"], expr))
    return found


def test_S4_3_b_provisioning_files_are_well_formed() -> None:
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasources["apiVersion"] == 1
    (source,) = datasources["datasources"]
    assert {k: source[k] for k in ("type", "uid", "url")} == {
        "type": "prometheus", "uid": "prometheus", "url": "http://prometheus:9090"}
    providers = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/krwfeed.yml").read_text())
    assert providers["apiVersion"] == 1
    assert [p["type"] for p in providers["providers"]] == ["file"]


def test_S4_3_b_dashboard_json_is_valid_for_file_provisioning() -> None:
    doc = dashboard()
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", doc["uid"]) and doc["title"] and doc["schemaVersion"] >= 30
    assert "__inputs" not in doc and "${DS_" not in DASHBOARD.read_text()
    variables = {v["name"] for v in doc["templating"]["list"]}
    panels = list(all_panels(doc["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        grid = panel["gridPos"]
        assert set(grid) >= {"h", "w", "x", "y"} and grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel["targets"]:
            uid = (target.get("datasource") or panel["datasource"])["uid"]
            assert uid == "prometheus" or uid.lstrip("$") in variables, panel["title"]
    titles = " ".join(p["title"].lower() for p in panels)
    for subject in ("received", "dropped", "publish latency", "connection states", "since last message",
                    "buffer depth", "consecutive"):
        assert subject in titles


def test_S4_3_b_every_panel_query_parses_with_promtool(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    rules = {"groups": [{"name": "panels", "rules": [
        {"record": f"panel:query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries())]}]}
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    body = _get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


@pytest.fixture(scope="module")
def krwfeed(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The real service, streaming 8 markets per exchange from the simulator into the broker.
    One upbit drop and a few garbage frames make the reconnect, malformed and drop series exist, as
    they would in production. The drop comes while upbit's markets are quiet, so the reconnect's
    SNAPSHOT trades repeat trades krwfeed already has and are dropped as duplicates."""
    with live_service(tmp_path_factory.mktemp("krwfeed"), kafka_bootstrap, markets=8, rate=200) as live:
        live.simulator.set_rate(0, "upbit")
        time.sleep(1.0)  # what was traded so far has been read
        live.simulator.drop("upbit")
        live.simulator.garbage(3, "bithumb")
        live.service.wait_connected(30)
        live.service.wait_for(lambda s: any(c["duplicates"] for c in s["connections"].values()), 30,
                              "the reconnect's repeated snapshot trades dropped as duplicates")
        live.simulator.set_rate(200, "upbit")
        yield live


@pytest.fixture(scope="module")
def prometheus(krwfeed: LiveService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_tool("prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    target = krwfeed.base.removeprefix("http://")
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "scrape_configs": [{"job_name": "krwfeed", "static_configs": [{"targets": [target]}]}]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port(19290, 19299)
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30  # target discovery is throttled to 5 s: poll `up`, never sleep
        while not any(r["value"][1] == "1" for r in _safe_query(base, "up")):
            assert process.poll() is None and time.monotonic() < deadline, "Prometheus never scraped krwfeed"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def _safe_query(base: str, expr: str) -> list[dict[str, Any]]:
    try:
        return _query(base, expr)
    except (OSError, AssertionError):
        return []


def test_S4_3_b_every_grafana_panel_returns_data_from_real_prometheus(prometheus: str) -> None:
    all_queries = queries()
    pending = dict(enumerate(all_queries))
    deadline = time.monotonic() + 60  # rate() needs two samples inside its window
    while pending and time.monotonic() < deadline:
        for key, (_title, expr) in list(pending.items()):
            values = [float(r["value"][1]) for r in _query(prometheus, expr)]
            if values and not any(math.isnan(v) for v in values):
                del pending[key]
        time.sleep(0.5)
    assert not pending, f"panels without data: {list(pending.values())}"
    panels = {title for title, _ in all_queries}
    print(f"FIGURES grafana: {len(all_queries)}/{len(all_queries)} queries of {len(panels)} panels returned data "
          f"from Prometheus scraping the running service")


def test_S4_3_b_per_market_panels_name_every_configured_market(prometheus: str, krwfeed: LiveService) -> None:
    expected = {(e, c) for e in ("upbit", "bithumb") for c in krwfeed.codes}
    rate_expr = dict(queries())["Messages / s per market"]
    deadline = time.monotonic() + 30
    seen: set[tuple[str, str]] = set()
    while seen != expected and time.monotonic() < deadline:
        seen = {(r["metric"]["exchange"], r["metric"]["market"]) for r in _query(prometheus, rate_expr)
                if float(r["value"][1]) > 0}
        time.sleep(0.5)
    assert seen == expected
    states = _query(prometheus, dict(queries())["Connection states"])
    assert {(r["metric"]["connection"], r["metric"]["state"]) for r in states} == {
        (f"{e}-{i}", "CONNECTED") for e in ("upbit", "bithumb") for i in (0, 1)}


def test_S4_3_a_service_metrics_pass_promtool_check_metrics(krwfeed: LiveService) -> None:
    promtool = require_tool("promtool")
    status, headers, text = krwfeed.get("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    for name in ("ingestion_messages_received_total", "ingestion_messages_published_total",
                 "ingestion_processing_latency_seconds_bucket", "ingestion_kafka_publish_latency_seconds_bucket",
                 "ingestion_connection_state", "ingestion_consecutive_errors", "ingestion_service_info",
                 "ingestion_messages_dropped_total", "ingestion_buffer_depth", "ingestion_reconnects_total",
                 "ingestion_malformed_frames_total", "ingestion_seconds_since_last_message",
                 "ingestion_market_messages_received_total"):
        assert f"\n{name}{{".encode() in text, name
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
