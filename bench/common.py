"""Shared harness for the end-to-end benchmarks: broker, simulator and krwfeed as real processes,
Kafka read back, latency percentiles, CPU and memory of krwfeed's whole process tree.

Latency clocks (all processes run on one host, so they share one clock):
* simulator send time: the exchange ``timestamp`` of each frame, which the simulator stamps just
  before writing the frame to the socket; krwfeed carries it as ``event_time`` (ms resolution);
* krwfeed receive time: ``received_time`` of the Protobuf record (us resolution);
* Kafka ack time: the record timestamp with the topics created as ``message.timestamp.type=
  LogAppendTime``, i.e. the broker's append time. With acks=all on a single broker the ack leaves
  right after the append, so this is the ack time within the broker's response time (well under
  1 ms locally). CreateTime would be the producer's send() call, which hides the batching delay.
Kafka timestamps have ms resolution, so every latency figure is good to about 1 ms.
"""
from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from kafka import KafkaConsumer, TopicPartition  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from domain.settings import EVENTS_TOPIC_TYPE  # noqa: E402
from proto.krwfeed.v1 import market_data_pb2 as pb  # noqa: E402
from tests.e2e.service_process import MARK, ServiceProcess, service_config  # noqa: E402
from tests.support.kafka_broker import LocalBroker, create_topic  # noqa: E402
from tests.support.simulator_process import SimulatorProcess, start_simulator  # noqa: E402

EXCHANGES = ("upbit", "bithumb")
DATA_TYPES = ("trade", "orderbook")
RESULTS = REPO_ROOT / "bench" / "results"


# --- parts ----------------------------------------------------------------------------------
@contextlib.contextmanager
def broker(port: int) -> Iterator[str]:
    """The project's broker on ``port``; started (and stopped afterwards) unless already running."""
    local = LocalBroker(port)
    started = False
    if not local.is_running():
        local.start()
        started = True
    try:
        yield local.bootstrap
    finally:
        if started:
            local.stop()


def make_topics(bootstrap: str, prefix: str, partitions: int = 6, events: bool = False) -> list[str]:
    """The trade and orderbook topics under ``prefix`` (returned); with ``events`` also each
    exchange's events topic (created, not returned), since the broker creates no topic on its own
    and a service with events on would otherwise count every event as a publish failure."""
    names = [f"{prefix}.{e}.{t}" for e in EXCHANGES for t in DATA_TYPES]
    for name in names:
        create_topic(bootstrap, name, partitions, {"message.timestamp.type": "LogAppendTime"})
    for exchange in EXCHANGES if events else ():
        create_topic(bootstrap, f"{prefix}.{exchange}.{EVENTS_TOPIC_TYPE}", 1, {"message.timestamp.type": "LogAppendTime"})
    return names


def market_codes(sim: SimulatorProcess, count: int) -> list[str]:
    _, body = sim.get_json(f"{sim.rest('upbit')}/v1/market/all")
    return [m["market"] for m in body][:count]


def start_service(sim: SimulatorProcess, bootstrap: str, codes: list[str], prefix: str, admin_port: int,
                  web_port: int, workdir: Path | None = None, exchanges: Sequence[str] = EXCHANGES,
                  **config: Any) -> ServiceProcess:
    """krwfeed as a process, reading ``codes`` on each of ``exchanges`` from the simulator.

    ``markets_per_connection=None`` leaves the setting out, so the service's own default topology
    is what gets measured."""
    per_connection = config.pop("markets_per_connection", None)
    cfg = service_config(upbit_url=sim.url("upbit") if "upbit" in exchanges else None,
                         bithumb_url=sim.url("bithumb") if "bithumb" in exchanges else None, markets=codes,
                         bootstrap=bootstrap, admin_port=admin_port, topic_prefix=prefix, **config)
    for exchange in cfg["exchanges"]:
        if per_connection is None:
            del exchange["markets_per_connection"]
        else:
            exchange["markets_per_connection"] = per_connection
    where = workdir or Path(tempfile.mkdtemp(prefix="krwfeed-bench-"))
    return ServiceProcess(cfg, where, web_port=web_port)


def simulator(markets: int, rate_per_exchange: float, **options: Any) -> SimulatorProcess:
    return start_simulator(market_count=markets, rate=rate_per_exchange, **options)


def kafka_config(client: str | None) -> dict[str, Any]:
    """The ``kafka`` settings a benchmark adds to krwfeed's config: ``kafka.client`` when one is asked
    for; none otherwise, so the service's own default applies."""
    return {"client": client} if client else {}


# --- Kafka read-back ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Sample:
    exchange: str
    data_type: str
    code: str
    sequential_id: int
    sent_us: int  # simulator send time (exchange timestamp)
    received_us: int  # krwfeed receive time
    ack_ms: int  # Kafka LogAppendTime


class TopicCursor:
    """Reads what was appended to a set of topics since the last read."""

    def __init__(self, bootstrap: str, topics: Sequence[str]) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                      client_id="krwfeed-bench", request_timeout_ms=20_000,
                                      max_partition_fetch_bytes=8 << 20)
        self.tps = [TopicPartition(t, p) for t in topics
                    for p in sorted(self._partitions(t))]
        self.consumer.assign(self.tps)
        self.consumer.seek_to_beginning(*self.tps)

    def _partitions(self, topic: str) -> set[int]:
        for _ in range(100):
            found = self.consumer.partitions_for_topic(topic)
            if found:
                return set(found)
            time.sleep(0.1)
        raise TimeoutError(f"no partitions for {topic}")

    def skip_to_end(self) -> None:
        self.consumer.seek_to_end(*self.tps)
        for tp in self.tps:
            self.consumer.position(tp)

    def read_new(self, timeout_s: float = 120.0) -> list[Sample]:
        end = self.consumer.end_offsets(self.tps)
        out: list[Sample] = []
        deadline = time.monotonic() + timeout_s
        while any(self.consumer.position(tp) < end[tp] for tp in self.tps):
            if time.monotonic() > deadline:
                raise TimeoutError("Kafka read-back did not reach the end offsets")
            for tp, records in self.consumer.poll(timeout_ms=500, max_records=20_000).items():
                _, exchange, data_type = tp.topic.rsplit(".", 2)
                out += [decode(exchange, data_type, r.value, r.timestamp) for r in records if r.offset < end[tp]]
        return out

    def close(self) -> None:
        self.consumer.close()


def _us(stamp: Any) -> int:
    return int(stamp.seconds) * 1_000_000 + int(stamp.nanos) // 1000


def decode(exchange: str, data_type: str, value: bytes, ack_ms: int) -> Sample:
    msg: Any = pb.Trade.FromString(value) if data_type == "trade" else pb.Orderbook.FromString(value)
    sid = int(msg.sequential_id) if data_type == "trade" else 0
    return Sample(exchange, data_type, msg.code, sid, _us(msg.event_time), _us(msg.received_time), ack_ms)


# --- figures --------------------------------------------------------------------------------
def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max (nearest-rank); NaN when there is nothing to measure."""
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]

    return {"p50": pick(0.50), "p99": pick(0.99), "max": ordered[-1]}


def latencies_ms(samples: Sequence[Sample]) -> tuple[dict[str, float], dict[str, float]]:
    """(simulator send -> Kafka ack, krwfeed receive -> Kafka ack), in milliseconds."""
    send = [s.ack_ms - s.sent_us / 1000 for s in samples]
    receive = [s.ack_ms - s.received_us / 1000 for s in samples]
    return percentiles(send), percentiles(receive)


class ProcessTree:
    """krwfeed's processes: the main one plus every process carrying the run's mark (admin, logger,
    actors). Re-listed on each call, since a restarted actor has a new pid."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self._cpu_dead = 0.0
        self._last: dict[int, float] = {}

    def processes(self) -> list[psutil.Process]:
        found = [psutil.Process(self.service.proc.pid)]
        for proc in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error):
                if proc.pid != self.service.proc.pid and proc.environ().get(MARK) == self.service.mark:
                    found.append(proc)
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU of the whole tree since it started (processes that ended included)."""
        now: dict[int, float] = {}
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                now[proc.pid] = times.user + times.system
        self._cpu_dead += sum(v for pid, v in self._last.items() if pid not in now)
        self._last = now
        return self._cpu_dead + sum(now.values())

    def rss_mb(self) -> dict[str, float]:
        """Resident memory per process, labelled by pid and a short name from the command line."""
        out: dict[str, float] = {}
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                out[f"{proc.pid}"] = proc.memory_info().rss / 2**20
        return out

    def pss_mb(self) -> float:
        """The tree's proportional set size: each page shared between the forked processes counted
        once in all (the RAM the tree holds, as a cgroup's memory limit counts it)."""
        total = 0.0
        for proc in self.processes():
            with contextlib.suppress(psutil.Error, AttributeError):
                total += proc.memory_full_info().pss / 2**20
        return total


def scrape(web_port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def counters_from_metrics(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float]
                          ) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """(received per data type, dropped per (data type, reason)); Kafka delivery failures enter as
    reason ``publish_failed``."""
    received: Counter[str] = Counter()
    dropped: Counter[tuple[str, str]] = Counter()
    for (name, labels), value in metrics.items():
        lab = dict(labels)
        if name == "ingestion_messages_received_total":
            received[lab["data_type"]] += int(value)
        elif name == "ingestion_messages_dropped_total":
            dropped[(lab["data_type"], lab["reason"])] += int(value)
        elif name == "ingestion_publish_failures_total":
            dropped[(lab["data_type"], "publish_failed")] += int(value)
    return received, dropped


def settled(status: dict[str, Any]) -> bool:
    """The buffer is empty and every record received has been published, failed or dropped."""
    depth = sum((status["buffer"].get("depth") or {}).values())
    dropped = sum((status["buffer"].get("dropped") or {}).values())
    failed = sum(int(p.get("failed", 0)) for p in status["producers"].values())
    return bool(depth == 0 and status["total_published"] + failed + dropped >= status["total_received"])


# --- cost per role ----------------------------------------------------------------------------
ROLE_ORDER = ("connector", "buffer", "producer", "events", "supervisor", "main", "other")
CLIENT_THREADS = "producer: client threads"  # a share of "producer": every thread but the main one


def api_status(web_port: int) -> dict[str, Any] | None:
    """krwfeed's ``/api/status`` JSON, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/api/status", timeout=5) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except urllib.error.HTTPError as exc:  # 503 while starting still carries a body
        try:
            return json.loads(exc.read())  # type: ignore[no-any-return]
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


@dataclass
class Usage:
    """CPU seconds (since each process started) and resident memory, per role."""

    cpu: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    processes: Counter[str] = field(default_factory=Counter)
    pid_cpu: dict[int, float] = field(default_factory=dict)
    pid_thread_cpu: dict[int, float] = field(default_factory=dict)


def cpu_of(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def thread_cpu_except_main(proc: psutil.Process) -> float:
    """CPU of every thread of ``proc`` but its main one (whose id is the pid): in a producer, the
    Kafka client's I/O threads."""
    return float(sum(t.user_time + t.system_time for t in proc.threads() if t.id != proc.pid))


class RoleMeter:
    """Where krwfeed's CPU and memory go, per role.

    Roles come from ``processes`` in ``/api/status`` (``[{"role", "name", "pid"}]``); processes of
    the tree that the list does not name (Thespian's admin and logger) are ``other``. Without that
    list every process but the main one is ``other``, so the roles still add up to the whole tree.
    """

    def __init__(self, tree: ProcessTree, web_port: int) -> None:
        self.tree = tree
        self.web_port = web_port
        self.per_role = False

    def roles(self) -> dict[int, str]:
        status = api_status(self.web_port) or {}
        listed = {int(p["pid"]): str(p["role"]) for p in status.get("processes") or [] if p.get("pid")}
        self.per_role = bool(listed)
        main = self.tree.service.proc.pid
        return {proc.pid: listed.get(proc.pid) or ("main" if proc.pid == main else "other")
                for proc in self.tree.processes()}

    def sample(self) -> Usage:
        usage = Usage()
        for pid, role in self.roles().items():
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                cpu = cpu_of(proc)
                usage.pid_cpu[pid] = cpu
                usage.cpu[role] = usage.cpu.get(role, 0.0) + cpu
                usage.rss_mb[role] = usage.rss_mb.get(role, 0.0) + proc.memory_info().rss / 2**20
                usage.processes[role] += 1
                if role == "producer":
                    usage.pid_thread_cpu[pid] = thread_cpu_except_main(proc)
        return usage


def usage_delta(before: Usage, after: Usage, roles: dict[int, str]) -> dict[str, float]:
    """CPU seconds per role between two samples (a process that started in between counts whole)."""
    out: dict[str, float] = {}
    for pid, cpu in after.pid_cpu.items():
        role = roles.get(pid, "other")
        out[role] = out.get(role, 0.0) + cpu - before.pid_cpu.get(pid, 0.0)
    threads = sum(v - before.pid_thread_cpu.get(pid, 0.0) for pid, v in after.pid_thread_cpu.items())
    if after.pid_thread_cpu:
        out[CLIENT_THREADS] = threads
    return out


def ordered_roles(names: Sequence[str]) -> list[str]:
    known = [r for r in ROLE_ORDER if r in names]
    return known + sorted(n for n in names if n not in ROLE_ORDER and n != CLIENT_THREADS) + (
        [CLIENT_THREADS] if CLIENT_THREADS in names else [])


class ProcessCpu:
    """CPU seconds and RSS of one process and its children (the simulator, a peer, the broker)."""

    def __init__(self, pid: int | Callable[[], int | None]) -> None:
        self._pid = pid

    def processes(self) -> list[psutil.Process]:
        pid = self._pid() if callable(self._pid) else self._pid
        if pid is None:
            return []
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                total += cpu_of(proc)
        return total

    def rss_mb(self) -> float:
        total = 0.0
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss / 2**20
        return total


# --- actor messages on the data path -----------------------------------------------------------
HOP_METRIC = "ingestion_data_path_messages_total"


def hop_counts(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[str, float] | None:
    """Actor messages sent so far on each hop of the data path, or None when krwfeed does not count them."""
    out: dict[str, float] = {}
    for (name, labels), value in metrics.items():
        if name == HOP_METRIC:
            hop = dict(labels).get("hop", "?")
            out[hop] = out.get(hop, 0.0) + value
    return out or None


def hop_rates(before: dict[tuple[str, tuple[tuple[str, str], ...]], float],
              after: dict[tuple[str, tuple[tuple[str, str], ...]], float], seconds: float) -> dict[str, float] | None:
    a, b = hop_counts(before), hop_counts(after)
    if b is None:
        return None
    a = a or {}
    return {hop: (value - a.get(hop, 0.0)) / seconds for hop, value in sorted(b.items())}


# --- Kafka: records appended in a time window ---------------------------------------------------
class AppendCounter:
    """Counts the records a set of LogAppendTime topics received between two wall-clock times,
    from the offsets the broker looks up for those times (nothing is read or decoded)."""

    def __init__(self, bootstrap: str, topics: Sequence[str]) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                      client_id="krwfeed-bench-count", request_timeout_ms=20_000)
        self.tps: list[TopicPartition] = []
        for topic in topics:
            found: set[int] | None = None
            for _ in range(100):
                found = self.consumer.partitions_for_topic(topic)
                if found:
                    break
                time.sleep(0.1)
            if not found:
                raise TimeoutError(f"no partitions for {topic}")
            self.tps += [TopicPartition(topic, p) for p in sorted(found)]

    def _offsets(self, at_ms: int) -> dict[TopicPartition, int]:
        end = self.consumer.end_offsets(self.tps)
        found = self.consumer.offsets_for_times({tp: at_ms for tp in self.tps})
        return {tp: (found[tp].offset if found.get(tp) is not None else end[tp]) for tp in self.tps}

    def between(self, t0: float, t1: float) -> int:
        """Records appended at or after ``t0`` and before ``t1`` (seconds since the epoch)."""
        start, stop = self._offsets(int(t0 * 1000)), self._offsets(int(t1 * 1000))
        return sum(stop[tp] - start[tp] for tp in self.tps)

    def close(self) -> None:
        self.consumer.close()


class BrokerProbe:
    """How long the broker takes to acknowledge one small record (acks=all), sampled now and then
    during a step: when every client slows down together, this shows whether the broker is the cause."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        from kafka import KafkaProducer

        create_topic(bootstrap, topic, 1)
        self.topic = topic
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0,
                                      client_id="krwfeed-bench-probe")
        self.samples_ms: list[float] = []

    def probe(self) -> None:
        began = time.perf_counter()
        self.producer.send(self.topic, b"probe").get(timeout=30)
        self.samples_ms.append((time.perf_counter() - began) * 1000)

    def sleep_probing(self, seconds: float, every_s: float = 1.0) -> None:
        """Sleep ``seconds`` (wall clock), probing about every ``every_s``."""
        end = time.monotonic() + seconds
        while end - time.monotonic() > 0:
            self.probe()
            time.sleep(max(0.0, min(every_s, end - time.monotonic())))

    def take_p50(self) -> float:
        """Median of the samples since the last call (NaN without any)."""
        values, self.samples_ms = self.samples_ms, []
        return percentiles(values)["p50"]

    def close(self) -> None:
        self.producer.close()
