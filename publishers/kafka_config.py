"""``KafkaSettings`` -> the options of each Kafka client: ``producer_kwargs`` for
kafka-python's ``KafkaProducer``, ``librdkafka_config`` for confluent-kafka's ``Producer``. Each
client's mapping is its own function; the options both take are listed once, in ``_shared_options``.

Pure. The configured producer settings pass through unchanged (linger_ms=5, acks='all',
batch_size=16384, compression_type='lz4', max_in_flight_requests_per_connection=5, retries=0,
request_timeout_ms=500, client_id='data-ingestion-connector'), plus what kafka-python 3.x needs
to behave predictably:

* ``enable_idempotence=False`` stated explicitly: retries=0 is incompatible with idempotence, and
  leaving the default makes the client warn and switch it off anyway;
* an explicit ``api_version`` so the constructor does not try to reach a broker (it would block
  for 30 s when the broker is down);
* a bounded ``delivery_timeout_ms`` so records waiting for an unreachable broker fail (and are
  counted) within seconds instead of two minutes, and ``max_block_ms`` bounding ``send()``'s wait
  for metadata;
* ``reconnect_backoff_max_ms`` (1 s by default, kafka-python's own default is 30 s) so that the
  client reaches a broker that is back within about a second instead of up to half a minute,
  while the records of the outage meanwhile expire or fail, counted.

librdkafka takes the same settings under their own names, one-to-one (``linger.ms``, ``acks``,
``batch.size``, ``compression.type``, ``max.in.flight.requests.per.connection``, ``retries``,
``request.timeout.ms``, ``client.id``), ``delivery_timeout_ms`` as ``delivery.timeout.ms`` and the
reconnect backoff as ``reconnect.backoff.max.ms``. One difference stays: librdkafka's
``request.timeout.ms`` is the broker's ack timeout, while kafka-python's is a client-side limit on
every request. So with librdkafka a stalled broker's records in flight fail at
``delivery.timeout.ms`` (3 s) rather than after 500 ms: counted all the same, just later. (Setting
librdkafka's client-side ``socket.timeout.ms`` to 500 ms as well made it drop and reopen its
connections in a loop whenever a loaded broker answered slower than that.) ``max_block_ms`` and ``api_version`` have no
librdkafka counterpart: its ``produce()`` never waits for metadata (a full queue raises
``BufferError`` at once) and its constructor never contacts a broker.

``kafka.delivery: at_least_once`` replaces the delivery guarantee's settings for both clients
(``delivery()``): acks=all, the idempotent producer, retries until a delivery timeout of 5 minutes.
``Delivery.retries_for_s`` tells the buffer how long the client would keep trying a trade
(``buffering.buffer_queue.ttl_for_delivery``).

Secrets: the SASL and TLS key passwords are unwrapped here and only here; ``describe()`` gives a
masked copy for log lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.settings import KafkaSettings

_SECRET_KEYS = frozenset({"sasl_plain_password", "ssl_password", "sasl.password", "ssl.key.password"})


# kafka.delivery: at_least_once. The idempotent producer retries a failed request with the same
# sequence numbers, so the broker writes each record once even when a retry follows a lost answer;
# retries are bounded by the delivery timeout, not by a count, and that timeout is minutes so that a
# broker restart is outlasted.
AT_LEAST_ONCE_RETRIES = 2_147_483_647
AT_LEAST_ONCE_DELIVERY_TIMEOUT_MS = 300_000


@dataclass(frozen=True, slots=True)
class Delivery:
    """The settings that decide the delivery guarantee, the same for both clients."""

    acks: str
    retries: int
    idempotence: bool
    delivery_timeout_ms: int

    @property
    def retries_for_s(self) -> float | None:
        """How long the client keeps trying to deliver a record it holds, without writing it twice
        (the idempotent producer retrying until the delivery timeout); None when it never resends."""
        return self.delivery_timeout_ms / 1000 if self.idempotence and self.retries > 0 else None


def delivery(settings: KafkaSettings) -> Delivery:
    """at_most_once: the producer settings as configured (retries=0: nothing is ever resent, a failure
    is counted); at_least_once: acks=all, idempotence on, retried until a delivery timeout of
    ``AT_LEAST_ONCE_DELIVERY_TIMEOUT_MS`` (or the configured one if longer)."""
    # both clients reject a delivery timeout below linger + request timeout
    floor = max(settings.delivery_timeout_ms, settings.linger_ms + settings.request_timeout_ms)
    if settings.delivery == "at_least_once":
        return Delivery("all", AT_LEAST_ONCE_RETRIES, True, max(floor, AT_LEAST_ONCE_DELIVERY_TIMEOUT_MS))
    return Delivery(settings.acks, settings.retries, settings.enable_idempotence, floor)


def _shared_options(settings: KafkaSettings) -> list[tuple[str, str, Any]]:
    """The options both clients take, as (kafka-python name, librdkafka name, value): one list, so
    a setting reaches both clients or neither."""
    guarantee = delivery(settings)
    options: list[tuple[str, str, Any]] = [
        ("client_id", "client.id", settings.client_id),
        ("acks", "acks", guarantee.acks),
        ("linger_ms", "linger.ms", settings.linger_ms),
        ("batch_size", "batch.size", settings.batch_size),
        ("compression_type", "compression.type", settings.compression_type),
        ("max_in_flight_requests_per_connection", "max.in.flight.requests.per.connection",
         settings.max_in_flight_requests_per_connection),
        ("retries", "retries", guarantee.retries),
        ("request_timeout_ms", "request.timeout.ms", settings.request_timeout_ms),
        ("delivery_timeout_ms", "delivery.timeout.ms", guarantee.delivery_timeout_ms),
        ("enable_idempotence", "enable.idempotence", guarantee.idempotence),
        ("reconnect_backoff_ms", "reconnect.backoff.ms", min(50, settings.reconnect_backoff_max_ms)),
        ("reconnect_backoff_max_ms", "reconnect.backoff.max.ms", settings.reconnect_backoff_max_ms),
        ("security_protocol", "security.protocol", settings.security_protocol),
    ]
    if settings.sasl_mechanism:
        options.append(("sasl_mechanism", "sasl.mechanism", settings.sasl_mechanism))
        if settings.sasl_username is not None:
            options.append(("sasl_plain_username", "sasl.username", settings.sasl_username))
        if settings.sasl_password is not None:
            options.append(("sasl_plain_password", "sasl.password", settings.sasl_password.value))
    return options + _tls_options(settings)


def _tls_options(settings: KafkaSettings) -> list[tuple[str, str, Any]]:
    """The TLS files and the key's password, as (kafka-python name, librdkafka name, value)."""
    options: list[tuple[str, str, Any]] = []
    for name, prop in (("ssl_cafile", "ssl.ca.location"), ("ssl_certfile", "ssl.certificate.location"),
                       ("ssl_keyfile", "ssl.key.location")):
        value = getattr(settings, name)
        if value:
            options.append((name, prop, value))
    if settings.ssl_password is not None:
        options.append(("ssl_password", "ssl.key.password", settings.ssl_password.value))
    return options


def ssl_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    """The TLS part, in kafka-python's names: files, the key's password, hostname checking."""
    kwargs: dict[str, Any] = {name: value for name, _, value in _tls_options(settings)}
    if settings.security_protocol.endswith("SSL"):
        kwargs["ssl_check_hostname"] = settings.ssl_check_hostname
    return kwargs


def producer_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    """kafka-python's ``KafkaProducer`` keyword arguments."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": list(settings.bootstrap_servers),
        "max_block_ms": settings.max_block_ms,
        "api_version": tuple(settings.api_version),
        # kafka-python's own sensors (per request, per batch, per topic) are Python code on its I/O
        # thread that krwfeed never reads: its delivery outcomes and Prometheus metrics are its own.
        "metrics_enabled": False,
    }
    kwargs.update((name, value) for name, _, value in _shared_options(settings))
    kwargs.update(ssl_kwargs(settings))
    return kwargs


def librdkafka_config(settings: KafkaSettings) -> dict[str, Any]:
    """confluent-kafka's ``Producer`` configuration, in librdkafka's own property names."""
    config: dict[str, Any] = {"bootstrap.servers": ",".join(settings.bootstrap_servers)}
    config.update((prop, value) for _, prop, value in _shared_options(settings))
    if "SSL" in settings.security_protocol.upper():
        # librdkafka's name for the check kafka-python calls ssl_check_hostname; the chain is verified either way
        config["ssl.endpoint.identification.algorithm"] = "https" if settings.ssl_check_hostname else "none"
    return config


def describe(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A copy safe to log: secret values masked."""
    return {key: ("****" if key in _SECRET_KEYS and value else value) for key, value in kwargs.items()}
