"""The rule tying the data path's batches to the Kafka batch settings (seed S2.6-d)."""
from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path

import pytest

from domain.settings import BufferSettings, KafkaSettings
from exchanges.registry import get_adapter
from proto.serializer import serialize
from publishers.kafka_batching import (
    IN_FLIGHT_STEPS,
    RECORD_BYTES,
    connector_window_s,
    credit_plan,
    record_bytes,
)

FIXTURES = Path(__file__).resolve().parents[2] / "golden" / "fixtures"
KAFKA_RECORD_FRAMING = 30  # bytes a Kafka v2 record adds to its key and value (lengths, offsets, headers)


def kafka(**changes: object) -> KafkaSettings:
    return dataclasses.replace(KafkaSettings(), **changes)  # type: ignore[arg-type]


def test_S2_6_d_defaults_one_step_fills_a_batch_on_every_request_in_flight() -> None:
    defaults = KafkaSettings()
    assert (defaults.batch_size, defaults.max_in_flight_requests_per_connection, defaults.pull_batch_size) == (
        16384, 5, None)
    assert credit_plan(defaults, "trade") == (plan := credit_plan(defaults, "trade"))
    assert (plan.step, plan.cap) == (510, 2040)
    book = credit_plan(defaults, "orderbook")
    assert (book.step, book.cap) == (55, 220)


@pytest.mark.parametrize("data_type", ["trade", "orderbook", "ticker"])
@pytest.mark.parametrize("batch_size", [1024, 16384, 65536, 1_048_576])
@pytest.mark.parametrize("in_flight", [1, 3, 5])
def test_S2_6_d_a_step_is_whole_batches_per_request_and_never_more(data_type: str, batch_size: int,
                                                                    in_flight: int) -> None:
    plan = credit_plan(kafka(batch_size=batch_size, max_in_flight_requests_per_connection=in_flight), data_type)
    size = record_bytes(data_type)
    per_batch = plan.step // in_flight
    assert plan.step == per_batch * in_flight
    if size > batch_size:  # a record larger than a batch goes in a batch of its own
        assert per_batch == 1
    else:  # as many records as fit: one more would overflow the batch
        assert per_batch * size <= batch_size < (per_batch + 1) * size
    assert plan.cap == plan.step * IN_FLIGHT_STEPS


def test_S2_6_d_the_step_follows_batch_size_and_never_falls_to_zero() -> None:
    small, large = credit_plan(kafka(batch_size=16384), "trade"), credit_plan(kafka(batch_size=32768), "trade")
    assert large.step == 2 * small.step
    assert credit_plan(kafka(batch_size=1024, max_in_flight_requests_per_connection=1), "orderbook").step == 1
    # an unknown data type is sized like the largest known one: it never gets more credit
    assert credit_plan(kafka(), "ticker").step == credit_plan(kafka(), "orderbook").step


def test_S2_6_d_an_explicit_pull_batch_size_replaces_the_derived_step() -> None:
    for data_type in ("trade", "orderbook"):
        plan = credit_plan(kafka(pull_batch_size=250), data_type)
        assert (plan.step, plan.cap) == (250, 250 * IN_FLIGHT_STEPS)


def test_S2_6_d_the_connector_batches_within_the_data_path_linger() -> None:
    assert connector_window_s(BufferSettings()) == pytest.approx(0.010)
    assert connector_window_s(BufferSettings(linger_ms=2.5)) == pytest.approx(0.0025)
    # the Kafka client's own linger does not move it
    assert connector_window_s(dataclasses.replace(BufferSettings(), linger_ms=20)) == pytest.approx(0.020)


def _kafka_bytes(exchange: str, fixture: str) -> list[int]:
    adapter = get_adapter(exchange)
    sizes = []
    for line in (FIXTURES / fixture).read_text(encoding="utf-8").splitlines():
        for record in adapter.decode(line.encode(), 1).records:
            sizes.append(len(serialize(record)) + len(record.code) + KAFKA_RECORD_FRAMING)
    return sizes


def test_S2_6_d_the_typical_record_sizes_are_those_of_real_exchange_records() -> None:
    trades = _kafka_bytes("upbit", "upbit_trade.jsonl")
    books = _kafka_bytes("upbit", "upbit_orderbook.jsonl") + _kafka_bytes("bithumb", "bithumb_v2_orderbook.jsonl")
    assert trades and books
    assert 0.8 * RECORD_BYTES["trade"] <= statistics.median(trades) <= 1.25 * RECORD_BYTES["trade"], trades
    # sized for the largest book (Upbit's 30 levels): no real book is larger
    assert 0.9 * RECORD_BYTES["orderbook"] <= max(books) <= RECORD_BYTES["orderbook"], books
