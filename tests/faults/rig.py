"""One fault scenario's parts: the simulator, krwfeed as a process, its topics on the suite's own
broker, and the accounting at the end (simulator sent log x Kafka read-back x krwfeed counters).

krwfeed's counters are read from its prometheus_client multiprocess directory, which outlives the
process, so a scenario that ends with krwfeed stopped (SIGTERM) is accounted the same way.
"""
from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from proto.krwfeed.v1 import market_data_pb2 as pb
from tests.e2e.service_process import ServiceProcess, service_config
from tests.faults.accounting import Account, KrwfeedCounters, account_orderbooks, account_trades
from tests.support.kafka_broker import create_topic, delete_topics, read_all
from tests.support.simulator_process import SimulatorProcess, start_simulator

EXCHANGES = ("upbit", "bithumb")
DATA_TYPES = ("trade", "orderbook")


def krwfeed_counters(metrics_dir: Path) -> KrwfeedCounters:
    """Received per data type and dropped per (data type, reason), Kafka failures as publish_failed."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))  # type: ignore[no-untyped-call]
    received: Counter[str] = Counter()
    dropped: Counter[tuple[str, str]] = Counter()
    for family in registry.collect():
        for s in family.samples:
            if not s.name.endswith("_total"):
                continue
            if s.name == "ingestion_messages_received_total":
                received[s.labels["data_type"]] += int(s.value)
            elif s.name == "ingestion_messages_dropped_total":
                dropped[(s.labels["data_type"], s.labels["reason"])] += int(s.value)
            elif s.name == "ingestion_publish_failures_total":
                dropped[(s.labels["data_type"], "publish_failed")] += int(s.value)
    return KrwfeedCounters(received=dict(received), dropped=dict(dropped))


def settled(status: dict[str, Any]) -> bool:
    depth = sum((status["buffer"].get("depth") or {}).values())
    dropped = sum((status["buffer"].get("dropped") or {}).values())
    failed = sum(int(p.get("failed", 0)) for p in status["producers"].values())
    return bool(depth == 0 and status["total_published"] + failed + dropped >= status["total_received"])


def summary(status: dict[str, Any] | None) -> str:
    """The parts of a status snapshot that say why a drain is not finishing."""
    if not status:
        return "no status"
    keys = ("total_received", "total_published", "buffer", "producers")
    return str({k: status.get(k) for k in keys})


class Rig:
    def __init__(self, bootstrap: str, workdir: Path, admin_port: int, *, markets: int = 20,
                 rate: float = 200.0, markets_per_connection: int = 10, **config: Any) -> None:
        self.bootstrap = bootstrap
        self.prefix = "faults-" + uuid.uuid4().hex[:10]
        for exchange in EXCHANGES:
            for data_type in (*DATA_TYPES, "events"):
                create_topic(bootstrap, f"{self.prefix}.{exchange}.{data_type}", 6)
        self.sim: SimulatorProcess = start_simulator(market_count=markets, rate=rate, idle_timeout=0)
        _, body = self.sim.get_json(f"{self.sim.rest('upbit')}/v1/market/all")
        codes = [m["market"] for m in body][:markets]
        kafka = config.pop("kafka", {})
        cfg = service_config(upbit_url=self.sim.url("upbit"), bithumb_url=self.sim.url("bithumb"),
                             markets=codes, bootstrap=bootstrap, admin_port=admin_port, topic_prefix=self.prefix,
                             markets_per_connection=markets_per_connection, kafka=kafka, **config)
        self.service = ServiceProcess(cfg, workdir)
        try:
            self.service.wait_connected(60)
        except BaseException:
            self.close()
            raise

    # --- driving ------------------------------------------------------------------------
    def set_rate(self, rate: float) -> None:
        for exchange in EXCHANGES:
            self.sim.set_rate(rate, exchange)

    def each(self, action: str, **params: Any) -> None:
        for exchange in EXCHANGES:
            self.sim.control(action, exchange, **params)

    def quiesce(self, timeout_s: float = 45.0) -> None:
        """Stop the flow; wait until the simulator has written everything and krwfeed published it."""
        self.set_rate(0)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(self.sim.stats(e)["backlog"] for e in EXCHANGES):
            time.sleep(0.2)
        time.sleep(0.6)
        status = self.service.status()
        while not (status and settled(status)):
            if time.monotonic() > deadline or self.service.proc.poll() is not None:
                raise AssertionError(
                    f"krwfeed did not drain within {timeout_s:.0f} s (exit code {self.service.proc.poll()}): "
                    f"{summary(status)}\nlog tail:\n{self.service.logs()[-4000:]}")
            time.sleep(0.2)
            status = self.service.status()
        time.sleep(1.5)  # connectors and buffer sync their metrics about once a second

    # --- accounting ---------------------------------------------------------------------
    def account(self, allow_unread: bool = False) -> list[Account]:
        logs = [self.sim.sent_log(e) for e in EXCHANGES]
        counters = krwfeed_counters(self.service.workdir / "prometheus")
        trades: list[tuple[str, str, int]] = []
        made: set[tuple[str, str, int]] = set()
        rest_trades: list[tuple[str, str, int]] = []
        books: Counter[tuple[str, str]] = Counter()
        seen_books: set[bytes] = set()
        book_copies = 0
        for exchange in EXCHANGES:
            for r in read_all(self.bootstrap, f"{self.prefix}.{exchange}.trade", 60):
                trade = pb.Trade.FromString(r.value or b"")
                assert r.key == trade.code.encode(), "the Kafka key is the market code"
                trades.append((exchange, trade.code, int(trade.sequential_id)))
                if dict(r.headers or ()).get("source") == b"rest":
                    rest_trades.append(trades[-1])
            tape = self.sim.control("tape", exchange)["trades"]
            made.update((exchange, code, int(sid)) for code, sids in tape.items() for sid in sids)
            for r in read_all(self.bootstrap, f"{self.prefix}.{exchange}.orderbook", 60):
                book = pb.Orderbook.FromString(r.value or b"")
                book.ClearField("received_time")  # the same frame read twice differs only here
                identity = book.SerializeToString(deterministic=True)
                if identity in seen_books:
                    book_copies += 1
                    continue
                seen_books.add(identity)
                books[(exchange, book.code)] += 1
        return [account_trades(logs, trades, counters, allow_unread, made, rest_trades),
                account_orderbooks(logs, books, counters, allow_unread, book_copies)]

    def cross_check(self) -> str:
        """krwfeed's own status counters next to its metrics, for a failure message."""
        status = self.service.status() or {}
        counters = krwfeed_counters(self.service.workdir / "prometheus")
        return (f"status: received {status.get('total_received')}, published {status.get('total_published')}, "
                f"buffer {status.get('buffer')}, producers "
                f"{ {k: (v.get('succeeded'), v.get('failed')) for k, v in (status.get('producers') or {}).items()} }"
                f"\nmetrics: {counters}\n")

    def close(self) -> list[int]:
        try:
            return self.service.cleanup()
        finally:
            self.sim.stop()
            # Fewer partitions keep the broker's restart after a SIGKILL short (each one is recovered).
            delete_topics(self.bootstrap, [f"{self.prefix}.{e}.{t}" for e in EXCHANGES for t in (*DATA_TYPES, "events")])
