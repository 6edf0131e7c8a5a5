"""Shared fixtures. The real parts (Kafka broker, exchange simulator) live in tests/support, and so does
the ``--update-results`` option (tests/support/results.py)."""
pytest_plugins = [
    "tests.support.kafka_broker",
    "tests.support.kafka_tls",
    "tests.support.simulator_process",
    "tests.support.results",
]
