"""Seed S4.3-a: the metric names, types and bounded labels the dashboards and alerts rely on."""
from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.metrics import MetricWrapperBase

from monitoring import metrics

pytestmark = pytest.mark.unit

EXPECTED = {
    "ingestion_messages_received_total": ("counter", ("exchange", "data_type")),
    "ingestion_messages_published_total": ("counter", ("exchange", "data_type")),
    "ingestion_processing_latency_seconds": ("histogram", ("data_type",)),
    "ingestion_kafka_publish_latency_seconds": ("histogram", ("data_type",)),
    "ingestion_connection_state": ("gauge", ("connection", "exchange", "state")),
    "ingestion_consecutive_errors": ("gauge", ("data_type",)),
    "ingestion_service_info": ("gauge", ("version", "exchanges", "markets")),
    "ingestion_messages_dropped_total": ("counter", ("exchange", "data_type", "reason")),
    "ingestion_buffer_depth": ("gauge", ("data_type",)),
    "ingestion_publish_failures_total": ("counter", ("data_type", "error")),
    "ingestion_reconnects_total": ("counter", ("exchange",)),
    "ingestion_malformed_frames_total": ("counter", ("exchange",)),
    "ingestion_seconds_since_last_message": ("gauge", ("exchange", "market")),
    "ingestion_market_messages_received_total": ("counter", ("exchange", "market")),
    "ingestion_data_path_messages_total": ("counter", ("hop",)),
    "ingestion_actor_messages_sent_total": ("counter", ("role",)),
    "ingestion_events_published_total": ("counter", ("exchange",)),
    "ingestion_events_failed_total": ("counter", ("exchange",)),
    "ingestion_backfilled_trades_total": ("counter", ("exchange",)),
    "ingestion_backfill_requests_total": ("counter", ("exchange", "outcome")),
    "ingestion_backfill_gaps_total": ("counter", ("exchange", "reason")),
    "ingestion_market_list_refreshes_total": ("counter", ("exchange", "outcome")),
    "ingestion_market_list_changes_total": ("counter", ("exchange", "change")),
}


def _metric_objects() -> list[MetricWrapperBase]:
    return [v for v in vars(metrics).values() if isinstance(v, MetricWrapperBase)]


def _defined() -> dict[str, tuple[str, tuple[str, ...]]]:
    found = {}
    for value in _metric_objects():
        name = value._name
        if name.startswith("ingestion_"):
            full = name + "_total" if value._type == "counter" else name
            found[full] = (value._type, tuple(value._labelnames))
    return found


def test_S4_3_a_seed_metrics_are_defined_with_bounded_labels() -> None:
    assert _defined() == EXPECTED


def test_S4_3_a_metrics_are_exposed_with_their_types() -> None:
    text = generate_latest(REGISTRY).decode()
    for name, (kind, _) in EXPECTED.items():
        assert f"# TYPE {name} {kind}" in text, name


def test_S4_3_a_gauges_drop_dead_processes() -> None:
    # live* modes: a dead actor process's gauge values vanish after mark_process_dead.
    for value in _metric_objects():
        if value._type == "gauge":
            assert value._multiprocess_mode.startswith("live"), value._name
