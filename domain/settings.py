"""The service's validated settings as plain frozen data (picklable, passed to actors).

``settings/`` builds these from YAML + environment with marshmallow; nothing here reads files or
the environment. Secrets (SASL password, TLS key password) are ``Secret`` values whose repr and
str are masked, so they cannot leak through logging.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from domain.config import ExchangeConfig
from domain.records import DataType

EVENTS_TOPIC_TYPE = "events"  # what stands for {data_type} in the events topic's name


@dataclass(frozen=True, slots=True)
class Secret:
    value: str = field(repr=False)

    def __str__(self) -> str:
        return "****" if self.value else ""

    def __repr__(self) -> str:
        return "Secret('****')"


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    client: str = "kafka-python"  # or "confluent-kafka" (librdkafka)
    delivery: str = "at_most_once"  # or "at_least_once": idempotent, acks=all, retried for minutes
    bootstrap_servers: tuple[str, ...] = ("127.0.0.1:9092",)
    topic_template: str = "market.{exchange}.{data_type}"
    client_id: str = "data-ingestion-connector"
    acks: str = "all"
    linger_ms: int = 5
    batch_size: int = 16384
    compression_type: str = "lz4"
    max_in_flight_requests_per_connection: int = 5
    retries: int = 0
    request_timeout_ms: int = 500
    delivery_timeout_ms: int = 3000
    max_block_ms: int = 2000
    api_version: tuple[int, ...] = (4, 0)
    enable_idempotence: bool = False
    max_consecutive_failures: int = 10  # failed attempts, paced so that they span max_outage_s
    max_outage_s: float = 120.0  # deliveries failing continuously this long stop the service
    reconnect_backoff_max_ms: int = 1000  # the client tries a lost broker again at least this often
    # the producer's credit step (records granted at a time; four steps' worth may be unacknowledged
    # or granted). None: derived per data type from batch_size and max_in_flight_requests_per_connection
    # (pipeline.kafka_batching); a number replaces that for every data type.
    pull_batch_size: int | None = None
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    ssl_cafile: str | None = None  # PEM CA bundle the broker's chain must verify against
    ssl_certfile: str | None = None  # client certificate (mutual TLS)
    ssl_keyfile: str | None = None  # its private key, possibly encrypted with ssl_password
    ssl_password: Secret | None = None
    # False only with a pinned ssl_cafile: the chain is still verified, the name is not (Heroku's
    # brokers present certificates that do not name their hosts).
    ssl_check_hostname: bool = True
    # Connection and gap events on each exchange's events topic (``events_topic``); False: none
    # published, no events producer runs.
    events: bool = True

    def topic_for(self, exchange: str, data_type: str) -> str:
        return self.topic_template.format(exchange=exchange, data_type=data_type)

    def events_topic(self, exchange: str) -> str:
        """The events topic: the topic template with ``events`` in place of the data type, so the
        same template and prefix rules hold (default ``market.{exchange}.events``)."""
        return self.topic_template.format(exchange=exchange, data_type=EVENTS_TOPIC_TYPE)


# The default of buffer.linger_ms, also the default window of a connector started without settings
DATA_PATH_LINGER_MS = 10.0


@dataclass(frozen=True, slots=True)
class BufferSettings:
    capacity: int = 100_000
    # Records gather in each connector this long (or MAX_WINDOW_RECORDS of them) before one write to
    # the buffer: the data path's own linger (``publishers.kafka_batching``)
    linger_ms: float = DATA_PATH_LINGER_MS
    ttl_s: dict[str, float] = field(default_factory=lambda: {DataType.ORDERBOOK.value: 1.0, DataType.TRADE.value: 1.0})
    # The data type a full buffer keeps; derived from the delivery choice when the settings load.
    keep_at_capacity: str = DataType.ORDERBOOK.value


@dataclass(frozen=True, slots=True)
class WebSettings:
    host: str = "127.0.0.1"  # loopback unless a deployment says otherwise
    port: int = 8080
    stale_after_s: float = 60.0  # no message for this long -> DEGRADED
    # Optional access token (from KRWFEED_WEB_TOKEN only). ``auth_scope`` says what it guards:
    # "dashboard" = the dashboard page, its static files and /api/status; "all" = every endpoint.
    token: Secret | None = None
    auth_scope: str = "dashboard"


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: str = "INFO"
    json: bool = False
    file: str | None = None
    file_max_bytes: int = 10_000_000
    file_backups: int = 5


@dataclass(frozen=True, slots=True)
class Settings:
    exchanges: tuple[ExchangeConfig, ...]
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    buffer: BufferSettings = field(default_factory=BufferSettings)
    web: WebSettings = field(default_factory=WebSettings)
    log: LogSettings = field(default_factory=LogSettings)
    progress_every: int = 1000  # a progress log line every N messages
    admin_port: int = 19500  # Thespian admin port
    source: str = ""  # the file the settings came from, for error messages
