"""The configured client is loaded before the actors fork, and an unknown one is refused later."""
from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

PROBE = """
import sys
from publishers.factory import preload_client
before = {"kafka", "confluent_kafka"} & set(sys.modules)
preload_client(sys.argv[1])
print(sorted(before), sorted({"kafka", "confluent_kafka"} & set(sys.modules)))
"""


def _loaded(client: str) -> str:
    # A fresh interpreter: this test process may have imported either library already.
    done = subprocess.run([sys.executable, "-c", PROBE, client], capture_output=True, text=True, timeout=60,
                          check=True)
    return done.stdout.strip()


def test_preload_imports_only_the_chosen_kafka_library() -> None:
    assert _loaded("kafka-python") == "[] ['kafka']"


def test_preload_of_confluent_kafka_imports_librdkafka_binding() -> None:
    pytest.importorskip("confluent_kafka")
    assert _loaded("confluent-kafka") == "[] ['confluent_kafka']"


def test_preload_leaves_an_unknown_client_to_make_publisher() -> None:
    assert _loaded("no-such-client") == "[] []"
