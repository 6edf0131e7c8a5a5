"""Shared fixtures. The real parts (Kafka broker, exchange simulator) live in tests/support."""
pytest_plugins = [
    "tests.support.kafka_broker",
    "tests.support.kafka_tls",
    "tests.support.simulator_process",
]
