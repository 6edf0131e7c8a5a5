"""Readiness probe and topic creation for the local broker started by scripts/kafka.sh.

Usage:
    broker_admin.py wait-ready [--timeout S] [--pid PID] [--partitions N] BOOTSTRAP [TOPIC ...]
    broker_admin.py create-topics [--partitions N] BOOTSTRAP TOPIC ...

"Ready" means the broker answers a real request: its metadata lists at least one broker and
the given topics exist (created here if missing). An open TCP port alone is not enough, because
a KRaft broker may accept connections before it has registered with its controller.
Exit codes: 0 ready/created, 1 timed out or failed, 3 the broker process died while waiting.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import sys
import time

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec
from kafka.errors import TopicAlreadyExistsError

PROBE_TIMEOUT_MS = 3000
CLIENT_ID = "krwfeed-kafka-sh"


def port_open(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


def process_alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def admin_client(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id=CLIENT_ID,
        request_timeout_ms=PROBE_TIMEOUT_MS,
        bootstrap_timeout_ms=PROBE_TIMEOUT_MS,
    )


def ensure_topics(admin: KafkaAdminClient, topics: list[str], partitions: int) -> list[str]:
    """Creates the topics that do not exist yet and waits until every partition of every topic
    accepts writes; returns the ones created."""
    existing = set(admin.list_topics())
    missing = [t for t in topics if t not in existing]
    if missing:
        spec = {t: {"num_partitions": partitions, "replication_factor": 1} for t in missing}
        # Another caller may create one of them between list and create; that is the goal anyway.
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(spec, timeout_ms=10_000, wait_for_metadata=True)
    # Metadata can name a leader a moment before that leader serves the partition (also after a
    # restart); ListOffsets is answered by the leader itself and retried until it does.
    specs = {
        TopicPartition(t["name"], p["partition_index"]): OffsetSpec.LATEST
        for t in admin.describe_topics(topics)
        for p in t["partitions"]
    }
    if specs:
        admin.list_partition_offsets(specs, timeout_ms=10_000)
    return missing


def wait_ready(bootstrap: str, timeout_s: float, pid: int | None, topics: list[str], partitions: int) -> int:
    deadline = time.monotonic() + timeout_s
    last_error = "port closed"
    while time.monotonic() < deadline:
        if not process_alive(pid):
            print(f"broker process {pid} exited while starting", file=sys.stderr)
            return 3
        if port_open(bootstrap):
            try:
                with admin_client(bootstrap) as admin:
                    brokers = admin.describe_cluster().get("brokers", [])
                    if brokers:
                        created = ensure_topics(admin, topics, partitions) if topics else []
                        if created:
                            print(f"created topics: {' '.join(created)}")
                        return 0
                    last_error = "metadata lists no broker yet"
            except Exception as exc:  # any failure means "not ready yet"; the deadline bounds it
                last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.25)
    print(f"broker at {bootstrap} not ready after {timeout_s:.0f} s ({last_error})", file=sys.stderr)
    return 1


def create_topics(bootstrap: str, topics: list[str], partitions: int) -> int:
    with admin_client(bootstrap) as admin:
        created = ensure_topics(admin, topics, partitions)
    for topic in topics:
        print(f"{topic}: {'created' if topic in created else 'exists'}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="broker_admin.py")
    sub = parser.add_subparsers(dest="command", required=True)
    ready = sub.add_parser("wait-ready")
    ready.add_argument("bootstrap")
    ready.add_argument("--timeout", type=float, default=90.0)
    ready.add_argument("--pid", type=int)
    ready.add_argument("--partitions", type=int, default=6)
    ready.add_argument("topics", nargs="*")
    create = sub.add_parser("create-topics")
    create.add_argument("bootstrap")
    create.add_argument("--partitions", type=int, default=6)
    create.add_argument("topics", nargs="+")
    args = parser.parse_args(argv)
    # kafka-python logs every refused connection at WARNING/ERROR while the broker boots.
    logging.basicConfig(level=logging.CRITICAL)
    if args.command == "wait-ready":
        return wait_ready(args.bootstrap, args.timeout, args.pid, args.topics, args.partitions)
    return create_topics(args.bootstrap, args.topics, args.partitions)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
