"""KafkaSettings -> each client's options (seed S2.4-a)."""
from __future__ import annotations

import pytest

from domain.settings import KafkaSettings, Secret
from publishers.kafka_config import (
    AT_LEAST_ONCE_RETRIES,
    describe,
    librdkafka_config,
    producer_kwargs,
    ssl_kwargs,
)

pytestmark = pytest.mark.unit


def test_S2_4_a_producer_settings_exactly_as_the_seed() -> None:
    kwargs = producer_kwargs(KafkaSettings())
    assert {k: kwargs[k] for k in (
        "linger_ms", "acks", "batch_size", "compression_type",
        "max_in_flight_requests_per_connection", "retries", "request_timeout_ms", "client_id",
    )} == {
        "linger_ms": 5, "acks": "all", "batch_size": 16384, "compression_type": "lz4",
        "max_in_flight_requests_per_connection": 5, "retries": 0, "request_timeout_ms": 500,
        "client_id": "data-ingestion-connector",
    }


def test_S2_4_a_idempotence_off_explicit_api_version_bounded_timeouts() -> None:
    kwargs = producer_kwargs(KafkaSettings())
    assert kwargs["enable_idempotence"] is False
    assert kwargs["api_version"] == (4, 0)
    assert kwargs["delivery_timeout_ms"] == 3000
    assert kwargs["max_block_ms"] == 2000
    assert kwargs["bootstrap_servers"] == ["127.0.0.1:9092"]
    assert "sasl_mechanism" not in kwargs and "ssl_cafile" not in kwargs


def test_kafka_python_keeps_no_sensors_of_its_own() -> None:
    """krwfeed never reads kafka-python's metrics (its own accounting and Prometheus metrics do that
    job), so the client is told not to record them on its I/O thread."""
    assert producer_kwargs(KafkaSettings())["metrics_enabled"] is False
    from kafka import KafkaProducer

    assert KafkaProducer.DEFAULT_CONFIG["metrics_enabled"] is True  # the option exists and is on by default


def test_delivery_timeout_never_below_linger_plus_request_timeout() -> None:
    kwargs = producer_kwargs(KafkaSettings(delivery_timeout_ms=100, request_timeout_ms=500, linger_ms=5))
    assert kwargs["delivery_timeout_ms"] == 505


def test_sasl_and_tls_from_settings_with_secret_masked_in_description() -> None:
    settings = KafkaSettings(
        security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="svc",
        sasl_password=Secret("s3cr3t"), ssl_cafile="/etc/ca.pem",
    )
    kwargs = producer_kwargs(settings)
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_username"] == "svc"
    assert kwargs["sasl_plain_password"] == "s3cr3t"
    assert kwargs["ssl_cafile"] == "/etc/ca.pem"
    shown = describe(kwargs)
    assert shown["sasl_plain_password"] == "****"
    assert "s3cr3t" not in repr(shown)


def test_tls_mapping_to_kafka_python_names_with_the_key_password_masked() -> None:
    settings = KafkaSettings(security_protocol="SSL", ssl_cafile="/run/ca.pem", ssl_certfile="/run/cert.pem",
                             ssl_keyfile="/run/key.pem", ssl_password=Secret("key-pw"), ssl_check_hostname=False)
    assert ssl_kwargs(settings) == {"ssl_cafile": "/run/ca.pem", "ssl_certfile": "/run/cert.pem",
                                    "ssl_keyfile": "/run/key.pem", "ssl_password": "key-pw",
                                    "ssl_check_hostname": False}
    kwargs = producer_kwargs(settings)
    assert {k: kwargs[k] for k in ssl_kwargs(settings)} == ssl_kwargs(settings)
    assert describe(kwargs)["ssl_password"] == "****" and "key-pw" not in repr(describe(kwargs))
    # hostname checking is stated only where TLS is spoken; kafka-python's default (True) stays otherwise
    assert ssl_kwargs(KafkaSettings(security_protocol="SASL_SSL"))["ssl_check_hostname"] is True
    assert "ssl_check_hostname" not in ssl_kwargs(KafkaSettings())


def test_S2_4_a_librdkafka_gets_the_seed_settings_under_its_own_names() -> None:
    config = librdkafka_config(KafkaSettings())
    assert {k: config[k] for k in ("linger.ms", "acks", "batch.size", "compression.type",
                                   "max.in.flight.requests.per.connection", "retries", "request.timeout.ms",
                                   "client.id", "enable.idempotence", "delivery.timeout.ms",
                                   "reconnect.backoff.max.ms")} == {
        "linger.ms": 5, "acks": "all", "batch.size": 16384, "compression.type": "lz4",
        "max.in.flight.requests.per.connection": 5, "retries": 0, "request.timeout.ms": 500,
        "client.id": "data-ingestion-connector", "enable.idempotence": False, "delivery.timeout.ms": 3000,
        "reconnect.backoff.max.ms": 1000}


def test_at_least_once_is_idempotent_with_acks_all_and_minutes_of_retries_for_both_clients() -> None:
    settings = KafkaSettings(delivery="at_least_once", acks="1")
    kw, rd = producer_kwargs(settings), librdkafka_config(settings)
    assert (kw["enable_idempotence"], kw["acks"], kw["retries"]) == (True, "all", AT_LEAST_ONCE_RETRIES)
    assert (rd["enable.idempotence"], rd["acks"], rd["retries"]) == (True, "all", AT_LEAST_ONCE_RETRIES)
    assert kw["delivery_timeout_ms"] == rd["delivery.timeout.ms"] == 300_000
    # the default stays the seed's at-most-once settings
    default = producer_kwargs(KafkaSettings())
    assert (default["enable_idempotence"], default["retries"], default["delivery_timeout_ms"]) == (False, 0, 3000)


def test_tls_settings_reach_librdkafka_under_its_own_names_with_the_key_password_masked() -> None:
    settings = KafkaSettings(security_protocol="SSL", ssl_cafile="/run/ca.pem", ssl_certfile="/run/cert.pem",
                             ssl_keyfile="/run/key.pem", ssl_password=Secret("key-pw"), ssl_check_hostname=False)
    config = librdkafka_config(settings)
    assert {k: config[k] for k in ("ssl.ca.location", "ssl.certificate.location", "ssl.key.location",
                                   "ssl.key.password", "ssl.endpoint.identification.algorithm")} == {
        "ssl.ca.location": "/run/ca.pem", "ssl.certificate.location": "/run/cert.pem",
        "ssl.key.location": "/run/key.pem", "ssl.key.password": "key-pw",
        "ssl.endpoint.identification.algorithm": "none"}
    assert describe(config)["ssl.key.password"] == "****"
    assert librdkafka_config(KafkaSettings(security_protocol="SASL_SSL"))[
        "ssl.endpoint.identification.algorithm"] == "https"
    assert "ssl.endpoint.identification.algorithm" not in librdkafka_config(KafkaSettings())
