"""Prometheus metric definitions shared by every krwfeed process.

In the running service ``PROMETHEUS_MULTIPROC_DIR`` is set by the composition root before this
module is first imported, so each actor process writes its own mmap files and ``/metrics``
merges them. Gauges use ``live*`` modes so a dead process's values disappear.
Labels stay bounded: exchange (2), data_type (2), reason (a fixed set), market only where the
configured market list bounds it.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Latency buckets from 0.5 ms to 10 s: the target p99 is 25 ms, outages push into seconds.
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)

MESSAGES_RECEIVED = Counter(
    "ingestion_messages_received_total",
    "Records parsed from exchange frames",
    ["exchange", "data_type"],
)
MESSAGES_PUBLISHED = Counter(
    "ingestion_messages_published_total",
    "Records acknowledged by Kafka",
    ["exchange", "data_type"],
)
PUBLISH_FAILURES = Counter(
    "ingestion_publish_failures_total",
    "Records whose Kafka delivery failed",
    ["data_type", "error"],
)
MESSAGES_DROPPED = Counter(
    "ingestion_messages_dropped_total",
    "Records or frames dropped, by reason",
    ["exchange", "data_type", "reason"],
)
MALFORMED_FRAMES = Counter(
    "ingestion_malformed_frames_total",
    "Frames that could not be decoded (connection kept)",
    ["exchange"],
)
RECONNECTS = Counter(
    "ingestion_reconnects_total",
    "WebSocket reconnections",
    ["exchange"],
)
PROCESSING_LATENCY = Histogram(
    "ingestion_processing_latency_seconds",
    "Frame received -> record handed to the Kafka client",
    ["data_type"],
    buckets=_LATENCY_BUCKETS,
)
KAFKA_PUBLISH_LATENCY = Histogram(
    "ingestion_kafka_publish_latency_seconds",
    "send() -> broker acknowledgement",
    ["data_type"],
    buckets=_LATENCY_BUCKETS,
)
CONNECTION_STATE = Gauge(
    "ingestion_connection_state",
    "1 for the connection's current state, 0 for the others",
    ["connection", "exchange", "state"],
    multiprocess_mode="livemax",
)
CONSECUTIVE_ERRORS = Gauge(
    "ingestion_consecutive_errors",
    "Consecutive Kafka publish failures",
    ["data_type"],
    multiprocess_mode="livemax",
)
BUFFER_DEPTH = Gauge(
    "ingestion_buffer_depth",
    "Records waiting in the buffer",
    ["data_type"],
    multiprocess_mode="livesum",
)
SECONDS_SINCE_LAST_MESSAGE = Gauge(
    "ingestion_seconds_since_last_message",
    "Per market: seconds since its last record",
    ["exchange", "market"],
    multiprocess_mode="livemax",
)
SERVICE_INFO = Gauge(
    "ingestion_service_info",
    "Constant 1, labelled with the running version and configuration",
    ["version", "exchanges", "markets"],
    multiprocess_mode="livemax",
)
MARKET_MESSAGES = Counter(
    "ingestion_market_messages_received_total",
    "Per market: records parsed (the dashboard's per-market rate)",
    ["exchange", "market"],
)
DATA_PATH_MESSAGES = Counter(
    "ingestion_data_path_messages_total",
    "Messages on the data path between actor processes, by hop (record-channel frames and actor "
    "messages): the transport's cost follows this count, not the number of records",
    ["hop"],
)
ACTOR_MESSAGES_SENT = Counter(
    "ingestion_actor_messages_sent_total",
    "Thespian messages sent, by the sending actor's role (control, status and timers' replies; "
    "records travel on the record channel instead)",
    ["role"],
)
EVENTS_PUBLISHED = Counter(
    "ingestion_events_published_total",
    "Connection and gap events acknowledged by Kafka on the events topic",
    ["exchange"],
)
EVENTS_FAILED = Counter(
    "ingestion_events_failed_total",
    "Connection and gap events that could not be published (serialisation, delivery, given up at stop)",
    ["exchange"],
)
BACKFILLED_TRADES = Counter(
    "ingestion_backfilled_trades_total",
    "Trades recovered over REST after a reconnect and handed on (source: rest)",
    ["exchange"],
)
BACKFILL_REQUESTS = Counter(
    "ingestion_backfill_requests_total",
    "REST backfill requests answered, by outcome: ok, failed (5xx, timeout, unreadable), rate_limited (429)",
    ["exchange", "outcome"],
)
BACKFILL_GAPS = Counter(
    "ingestion_backfill_gaps_total",
    "Markets whose backfill after a reconnect ended with trades possibly missing, by reason "
    "(horizon, budget, rest_failed, rejected, interrupted)",
    ["exchange", "reason"],
)
MARKET_LIST_REFRESHES = Counter(
    "ingestion_market_list_refreshes_total",
    "Answers of GET /v1/market/all for exchanges configured with markets: all, by outcome (ok, or "
    "failed: the last list is kept)",
    ["exchange", "outcome"],
)
MARKET_LIST_CHANGES = Counter(
    "ingestion_market_list_changes_total",
    "Markets started or stopped being followed after a market list refresh, by change (added, removed)",
    ["exchange", "change"],
)
