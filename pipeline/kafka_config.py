"""``KafkaSettings`` -> keyword arguments for kafka-python's ``KafkaProducer`` (seed S2.4-a).

Pure. The seed's producer settings pass through unchanged (linger_ms=5, acks='all',
batch_size=16384, compression_type='lz4', max_in_flight_requests_per_connection=5, retries=0,
request_timeout_ms=500, client_id='data-ingestion-connector'), plus what kafka-python 3.x needs
to behave predictably:

* ``enable_idempotence=False`` stated explicitly: retries=0 is incompatible with idempotence, and
  leaving the default makes the client warn and switch it off anyway;
* an explicit ``api_version`` so the constructor does not try to reach a broker (it would block
  for 30 s when the broker is down);
* a bounded ``delivery_timeout_ms`` so records waiting for an unreachable broker fail (and are
  counted) within seconds instead of two minutes, and ``max_block_ms`` bounding ``send()``'s wait
  for metadata.

Secrets: the SASL and TLS key passwords are unwrapped here and only here; ``describe()`` gives a
masked copy for log lines.
"""
from __future__ import annotations

from typing import Any

from messages.settings import KafkaSettings

_SECRET_KEYS = frozenset({"sasl_plain_password", "ssl_password"})


def producer_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    # kafka-python rejects delivery_timeout_ms < linger_ms + request_timeout_ms
    delivery_timeout_ms = max(settings.delivery_timeout_ms, settings.linger_ms + settings.request_timeout_ms)
    kwargs: dict[str, Any] = {
        "bootstrap_servers": list(settings.bootstrap_servers),
        "client_id": settings.client_id,
        "acks": settings.acks,
        "linger_ms": settings.linger_ms,
        "batch_size": settings.batch_size,
        "compression_type": settings.compression_type,
        "max_in_flight_requests_per_connection": settings.max_in_flight_requests_per_connection,
        "retries": settings.retries,
        "request_timeout_ms": settings.request_timeout_ms,
        "delivery_timeout_ms": delivery_timeout_ms,
        "max_block_ms": settings.max_block_ms,
        "api_version": tuple(settings.api_version),
        "enable_idempotence": settings.enable_idempotence,
        "security_protocol": settings.security_protocol,
    }
    if settings.sasl_mechanism:
        kwargs["sasl_mechanism"] = settings.sasl_mechanism
        if settings.sasl_username is not None:
            kwargs["sasl_plain_username"] = settings.sasl_username
        if settings.sasl_password is not None:
            kwargs["sasl_plain_password"] = settings.sasl_password.value
    kwargs.update(ssl_kwargs(settings))
    return kwargs


def ssl_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    """The TLS part, in kafka-python's names: files, the key's password, hostname checking."""
    kwargs: dict[str, Any] = {}
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        value = getattr(settings, name)
        if value:
            kwargs[name] = value
    if settings.ssl_password is not None:
        kwargs["ssl_password"] = settings.ssl_password.value
    if settings.security_protocol.endswith("SSL"):
        kwargs["ssl_check_hostname"] = settings.ssl_check_hostname
    return kwargs


def describe(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A copy safe to log: secret values masked."""
    return {key: ("****" if key in _SECRET_KEYS and value else value) for key, value in kwargs.items()}
