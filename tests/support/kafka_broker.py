"""The real Kafka broker for tests (pytest plugin, loaded by tests/conftest.py).

Fixtures:
    kafka_bootstrap       (session)  "127.0.0.1:PORT" of a running broker
    kafka_topic_factory   (function) make(prefix="test", partitions=6) -> a new, unique topic
    kafka_control         (function) kill/start/pause/resume the broker this session started

``KRWFEED_KAFKA_BOOTSTRAP`` points the tests at an existing cluster (nothing is started or
stopped). Otherwise the project's broker is started with scripts/kafka.sh on ``KAFKA_PORT``
(default 9092) and stopped at the end, unless it was already running before the session.
A broker that cannot be started skips the tests that need it, with the reason; under
``KRWFEED_REQUIRE_REAL_PARTS=1`` (CI) it fails them instead.

A broker this session starts (or restarts after a fault test) is warmed before any test uses it:
a just-started JVM answers its first produce requests in hundreds of milliseconds, above the
seed's 500 ms request timeout once the service's own start-up competes for the CPU, so a test
that asserts no loss would fail on the broker's start-up rather than on krwfeed. ``warm_up``
produces to a topic of its own until acknowledgements come back at steady-state latency.

``read_all`` reads a whole topic back; other tests import it from here.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO_ROOT / "scripts" / "kafka.sh"
CLIENT_ID = "krwfeed-tests"
# Fetching the jars (first run) plus the broker's own 90 s readiness limit.
START_LIMIT_S = 300.0
WARMUP_TOPIC = "krwfeed-tests-warmup"
WARMUP_LIMIT_S = 60.0
WARM_MAX_ACK_MS = 100.0  # every acknowledgement of a round within this: the broker is warm
WARM_ROUNDS = 3  # consecutive warm rounds needed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int  # milliseconds since the epoch, as stored by Kafka


def require_real_parts() -> bool:
    return os.environ.get("KRWFEED_REQUIRE_REAL_PARTS") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skips on a developer machine; fails where real parts are required (CI)."""
    if require_real_parts():
        pytest.fail(f"{reason} (KRWFEED_REQUIRE_REAL_PARTS=1 turns this skip into a failure)", pytrace=False)
    pytest.skip(reason)


class LocalBroker:
    """The project's broker on one port, driven through scripts/kafka.sh."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.bootstrap = f"127.0.0.1:{port}"
        self.var_dir = REPO_ROOT / "var" / f"kafka-{port}"
        self.log_file = self.var_dir / "kafka.log"

    def run(self, command: str, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KAFKA_PORT": str(self.port)}
        return subprocess.run(
            ["bash", str(KAFKA_SH), command, *args],
            env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )

    def checked(self, command: str, *args: str, timeout: float = 60.0) -> str:
        done = self.run(command, *args, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"kafka.sh {command} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def is_running(self) -> bool:
        return self.run("status").returncode == 0

    def pid(self) -> int | None:
        try:
            return int((self.var_dir / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self) -> str:
        return self.checked("start", timeout=START_LIMIT_S)

    def stop(self) -> str:
        return self.checked("stop")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def missing_prerequisite() -> str | None:
    if shutil.which("java") is None:
        return "java is not installed (scripts/setup.sh installs openjdk-17-jre-headless)"
    cached = (REPO_ROOT / ".build" / "kafka" / "lib" / ".complete").is_file()
    if not cached and shutil.which("mvn") is None:
        return "the Kafka jars are not cached and mvn is not installed (run scripts/setup.sh)"
    return None


@dataclass
class KafkaSession:
    bootstrap: str
    broker: LocalBroker | None  # None: an external cluster from KRWFEED_KAFKA_BOOTSTRAP
    owned: bool  # this session started the broker, so it may stop, kill or pause it
    topics: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WarmUp:
    rounds: int
    seconds: float
    first_max_ack_ms: float
    last_max_ack_ms: float
    warm: bool


def warm_up(bootstrap: str, records_per_round: int = 600) -> WarmUp:
    """Produce rounds of records (acks=all, as the service) until ``WARM_ROUNDS`` rounds in a row
    have every acknowledgement within ``WARM_MAX_ACK_MS``, or ``WARMUP_LIMIT_S`` pass."""
    from kafka import KafkaProducer
    from kafka.errors import TopicAlreadyExistsError

    with contextlib.suppress(TopicAlreadyExistsError):
        create_topic(bootstrap, WARMUP_TOPIC, 6)
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=CLIENT_ID, acks="all", retries=0,
                             linger_ms=5, request_timeout_ms=30_000)
    started = time.monotonic()
    rounds = warm_in_a_row = 0
    first = last = 0.0
    try:
        while warm_in_a_row < WARM_ROUNDS and time.monotonic() - started < WARMUP_LIMIT_S:
            acks: list[float] = []
            futures = []
            for i in range(records_per_round):
                sent = time.monotonic()
                future = producer.send(WARMUP_TOPIC, key=str(i % 60).encode(), value=b"w" * 300)
                future.add_callback(lambda _meta, sent=sent, acks=acks: acks.append(time.monotonic() - sent))
                futures.append(future)
                if i % 50 == 49:
                    time.sleep(0.02)  # a steady trickle, as a feed sends, not one burst
            producer.flush(timeout=30)
            failed = sum(1 for f in futures if f.failed())
            last = max(acks, default=float("inf")) * 1000 if not failed else float("inf")
            first = first or last
            rounds += 1
            warm_in_a_row = warm_in_a_row + 1 if last <= WARM_MAX_ACK_MS else 0
    finally:
        producer.close(timeout=5)
    result = WarmUp(rounds, time.monotonic() - started, first, last, warm_in_a_row >= WARM_ROUNDS)
    log.info("broker warm-up on %s: %s", bootstrap, result)
    return result


def start_local_broker(port: int) -> KafkaSession:
    broker = LocalBroker(port)
    problem = missing_prerequisite()
    if problem:
        unavailable(f"no Kafka broker: {problem}")
    if broker.is_running():
        return KafkaSession(broker.bootstrap, broker, owned=False)
    try:
        done = broker.run("start", timeout=START_LIMIT_S)
    except subprocess.TimeoutExpired:
        unavailable(f"no Kafka broker: scripts/kafka.sh start took over {START_LIMIT_S:.0f} s")
    if done.returncode != 0:
        unavailable(f"no Kafka broker: scripts/kafka.sh start failed:\n{done.stderr.strip()[-3000:]}")
    # "already running" means a concurrent session won the start; that session owns it.
    owned = "started (pid" in done.stdout
    if owned:
        warm_up(broker.bootstrap)
    return KafkaSession(broker.bootstrap, broker, owned=owned)


def delete_topics(bootstrap: str, topics: list[str]) -> None:
    """Best effort: keeps the broker's data directory from growing run after run."""
    if not topics:
        return
    try:
        with admin_client(bootstrap) as admin:
            admin.delete_topics(topics, timeout_ms=10_000)
    except Exception as exc:  # cleanup must never fail a test run
        log.warning("could not delete %d test topics: %s", len(topics), exc)


@pytest.fixture(scope="session")
def kafka_session() -> Iterator[KafkaSession]:
    external = os.environ.get("KRWFEED_KAFKA_BOOTSTRAP", "").strip()
    if external:
        session = KafkaSession(external, None, owned=False)
    else:
        session = start_local_broker(int(os.environ.get("KAFKA_PORT", "9092")))
    yield session
    delete_topics(session.bootstrap, session.topics)
    if session.owned and session.broker is not None:
        session.broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_session: KafkaSession) -> str:
    return kafka_session.bootstrap


def admin_client(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id=CLIENT_ID,
        request_timeout_ms=10_000, bootstrap_timeout_ms=10_000,
    )


def create_topic(bootstrap: str, name: str, partitions: int, configs: dict[str, str] | None = None) -> None:
    """Returns once every partition accepts writes. Metadata can name a leader a moment before
    that leader serves the partition; a producer with retries=0 then fails with NotLeader."""
    with admin_client(bootstrap) as admin:
        spec = {"num_partitions": partitions, "replication_factor": 1, "configs": configs or {}}
        admin.create_topics({name: spec}, timeout_ms=10_000, wait_for_metadata=True)
        # ListOffsets is answered by the partition leader itself; it retries NotLeader until then.
        admin.list_partition_offsets({TopicPartition(name, p): OffsetSpec.LATEST for p in range(partitions)},
                                     timeout_ms=10_000)


@pytest.fixture
def kafka_topic_factory(kafka_session: KafkaSession) -> Callable[..., str]:
    """make(prefix="test", partitions=6, configs=None) creates a topic no other test uses."""

    def make(prefix: str = "test", partitions: int = 6, configs: dict[str, str] | None = None) -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:12]}"
        create_topic(kafka_session.bootstrap, name, partitions, configs)
        # Deleted at session end, when kafka_control has put the broker back in shape.
        kafka_session.topics.append(name)
        return name

    return make


def read_all(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[KafkaRecord]:
    """Every record of ``topic`` from the beginning up to the end offsets taken at the start,
    ordered by (partition, offset). Raises TimeoutError if that cannot be read in time."""
    deadline = time.monotonic() + timeout_s
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, client_id=CLIENT_ID, group_id=None, enable_auto_commit=False,
        request_timeout_ms=10_000,
    )
    try:
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {topic!r} has no partitions in the metadata of {bootstrap}")
            time.sleep(0.2)
            partitions = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        records: list[KafkaRecord] = []
        pending = {tp for tp in tps if consumer.position(tp) < end[tp]}
        while pending:
            if time.monotonic() > deadline:
                left = {tp.partition: (consumer.position(tp), end[tp]) for tp in pending}
                raise TimeoutError(f"{topic}: not read to the end in {timeout_s} s (position, end): {left}")
            for tp, messages in consumer.poll(timeout_ms=500).items():
                records.extend(
                    KafkaRecord(m.partition, m.offset, m.key, m.value,
                                tuple((k, bytes(v)) for k, v in (m.headers or [])), m.timestamp)
                    for m in messages if m.offset < end[tp]
                )
            pending = {tp for tp in pending if consumer.position(tp) < end[tp]}
        records.sort(key=lambda r: (r.partition, r.offset))
        return records
    finally:
        consumer.close()


class KafkaControl:
    """Faults on the session's broker. Every test gets it back running and resumed afterwards."""

    def __init__(self, broker: LocalBroker) -> None:
        self.broker = broker
        self.bootstrap = broker.bootstrap

    def pid(self) -> int | None:
        return self.broker.pid() if self.broker.is_running() else None

    def is_running(self) -> bool:
        return self.broker.is_running()

    def kill(self) -> None:
        """SIGKILL: a crash, no controlled shutdown."""
        self.broker.checked("kill")

    def stop(self) -> None:
        """SIGTERM: a clean shutdown."""
        self.broker.stop()

    def start(self) -> None:
        """Returns once the broker serves requests again."""
        self.broker.start()

    def pause(self) -> None:
        """SIGSTOP: the process stalls with its sockets open."""
        self.broker.checked("pause")

    def resume(self) -> None:
        self.broker.checked("resume")

    def restore(self) -> None:
        status = self.broker.run("status")
        if status.returncode == 0 and "paused" in status.stdout:
            self.resume()
        elif status.returncode != 0:
            self.start()
            warm_up(self.bootstrap)  # the next test meets a warm broker, as the first one did


@pytest.fixture
def kafka_control(kafka_session: KafkaSession) -> Iterator[KafkaControl]:
    if kafka_session.broker is None:
        unavailable("broker faults need the project's own broker, not KRWFEED_KAFKA_BOOTSTRAP's cluster")
    if not kafka_session.owned:
        unavailable(
            f"the broker on port {kafka_session.broker.port} was running before this test session; "
            "faults are only injected into a broker the session started (set KAFKA_PORT to a free port)"
        )
    control = KafkaControl(kafka_session.broker)
    yield control
    with contextlib.suppress(Exception):
        control.restore()
    if not control.is_running():
        pytest.fail(f"broker could not be restored after the test:\n{kafka_session.broker.log_tail()}")
