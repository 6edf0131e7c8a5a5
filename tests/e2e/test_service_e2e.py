"""krwfeed as a process against the exchange simulator and the real broker; results read back from Kafka.

Each test ends the simulator's flow first (rate 0) and waits until everything received has been
published, so "sent by the simulator" and "read by krwfeed" are the same set before comparing.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from proto.krwfeed.v1 import market_data_pb2 as pb
from tests.e2e.kafka_readback import Read, create_topics, read_topic
from tests.e2e.service_process import REPO_ROOT, ServiceProcess, service_config
from tests.support.kafka_broker import START_LIMIT_S, KafkaControl, LocalBroker, missing_prerequisite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def topics(prefix: str, exchanges: tuple[str, ...] = ("upbit", "bithumb")) -> list[str]:
    return [f"{prefix}.{e}.{t}" for e in exchanges for t in ("trade", "orderbook")]


def quiesce(sim: Any, service: ServiceProcess, exchanges: tuple[str, ...], settle_s: float = 8.0) -> dict[str, Any]:
    """Stop the simulated flow and wait until the service has published what it received."""
    for exchange in exchanges:
        sim.set_rate(0, exchange)
    time.sleep(0.5)

    def settled(s: dict[str, Any]) -> bool:
        depth = sum(s["buffer"]["depth"].values()) if s["buffer"]["depth"] else 0
        dropped = sum(s["buffer"]["dropped"].values()) if s["buffer"]["dropped"] else 0
        failed = sum(int(p.get("failed", 0)) for p in s["producers"].values())
        # a failed publish is settled too (and the tests that allow none say so with its count)
        return depth == 0 and s["total_published"] + failed + dropped >= s["total_received"]

    return service.wait_for(settled, settle_s, "buffer empty and everything received published")


def decode_trades(reads: list[Read], exchange: str) -> dict[str, list[pb.Trade]]:
    by_code: dict[str, list[pb.Trade]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for read in reads:
        trade = pb.Trade.FromString(read.value)
        assert read.key == trade.code.encode(), "the Kafka key is the market code"
        by_code[trade.code].append(trade)
        partitions[trade.code].add(read.partition)
    spread = {code: p for code, p in partitions.items() if len(p) > 1}
    assert not spread, f"{exchange}: codes on more than one partition: {spread}"
    return by_code


def assert_exactly_once(sent: dict[str, list[int]], got: dict[str, list[pb.Trade]], exchange: str,
                        made: dict[str, list[int]] | None = None) -> int:
    """Every trade sent is in Kafka once; a trade in Kafka that was never sent must be one the
    simulator made (``made``, its tape: the backfill after a reconnect fetched it over REST)."""
    got_ids = {code: [t.sequential_id for t in trades] for code, trades in got.items()}
    dups = {code: [i for i, n in Counter(ids).items() if n > 1] for code, ids in got_ids.items()}
    dups = {c: d for c, d in dups.items() if d}
    assert not dups, f"{exchange}: duplicate trades in Kafka: {dict(list(dups.items())[:5])}"
    want = {code: set(ids) for code, ids in sent.items() if ids}
    have = {code: set(ids) for code, ids in got_ids.items()}
    missing = {c: len(want[c] - have.get(c, set())) for c in want if want[c] - have.get(c, set())}
    tape = {code: set(ids) for code, ids in (made or {}).items()}
    extra = {c: len(n) for c in have if (n := have[c] - want.get(c, set()) - tape.get(c, set()))}
    assert not missing and not extra, f"{exchange}: missing {missing} extra {extra}"
    return sum(len(v) for v in want.values())


def check_prices(sim: Any, exchange: str, got: dict[str, list[pb.Trade]], codes: int = 5) -> int:
    """Prices in Kafka equal the simulator's own trade history digit for digit."""
    checked = 0
    for code in sorted(got)[:codes]:
        _, body = sim.get_json(f"{sim.rest(exchange)}/v1/trades/ticks?market={code}&count=500")
        assert isinstance(body, list)
        history = {tick["sequential_id"]: tick for tick in body}
        for trade in got[code]:
            tick = history.get(trade.sequential_id)
            if tick is not None:
                assert Decimal(trade.price) == Decimal(str(tick["trade_price"])), (code, trade.sequential_id)
                checked += 1
    return checked


def start_streaming(simulator_factory: Any, service_factory: Any, bootstrap: str,
                    ports: tuple[int, int], prefix: str, *, markets: int, rate: float,
                    per_connection: int = 25, **config: Any) -> tuple[Any, ServiceProcess, list[str]]:
    sim = simulator_factory(market_count=markets, rate=rate, no_connect_limit=False)
    _, body = sim.get_json(f"{sim.rest('upbit')}/v1/market/all")
    codes = [m["market"] for m in body][:markets]
    create_topics(bootstrap, topics(prefix))
    admin, web = ports
    cfg = service_config(upbit_url=sim.url("upbit"), bithumb_url=sim.url("bithumb"), markets=codes,
                         bootstrap=bootstrap, admin_port=admin, topic_prefix=prefix,
                         markets_per_connection=per_connection, **config)
    service = service_factory(cfg, web_port=web)
    service.wait_connected(45)
    return sim, service, codes


def test_S2_3_b_100_markets_for_10_s_every_trade_in_kafka_exactly_once(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    """No loss is the promise of ``kafka.delivery: at_least_once``, so that is the mode under test. The
    shipped ``at_most_once`` (retries=0, request.timeout.ms=500) loses, and counts, every record in
    flight when the broker takes longer than 500 ms to answer, which a busy two-core machine does now
    and then; what that mode promises (every failure counted) the fault suite proves."""
    sim, service, codes = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                          markets=100, rate=400, kafka={"delivery": "at_least_once"})
    assert len(codes) == 100
    began = time.monotonic()
    time.sleep(10)
    status = quiesce(sim, service, ("upbit", "bithumb"))
    streamed_s = time.monotonic() - began
    rc, exit_s = service.terminate()
    assert rc == 0, service.logs()[-3000:]
    final = service.status() or status
    failed = {t: p["failed"] for t, p in final["producers"].items()}
    assert not any(failed.values()), f"Kafka publish failures: {failed}"
    bootstrap = kafka_bootstrap
    total = 0
    for exchange in ("upbit", "bithumb"):
        sent = sim.sent_log(exchange)
        got = decode_trades(read_topic(bootstrap, f"{topic_prefix}.{exchange}.trade"), exchange)
        total += assert_exactly_once(sent["trades"], got, exchange)
        assert check_prices(sim, exchange, got) > 0
        books = read_topic(bootstrap, f"{topic_prefix}.{exchange}.orderbook")
        for read in books[:200]:
            book = pb.Orderbook.FromString(read.value)
            assert read.key == book.code.encode() and book.asks and book.bids
        # orderbooks: delivered or counted as dropped (expired/overflow/superseded)
        assert len(books) <= sent["orderbook_count"]
        print(f"{exchange}: trades {sent['trade_count']} sent, orderbooks {sent['orderbook_count']} sent, "
              f"{len(books)} in Kafka")
    books_sent = sum(sim.sent_log(e)["orderbook_count"] for e in ("upbit", "bithumb"))
    books_kafka = sum(len(read_topic(bootstrap, f"{topic_prefix}.{e}.orderbook")) for e in ("upbit", "bithumb"))
    assert books_kafka + final_dropped_all(final, "orderbook") == books_sent
    assert final_dropped_all(final, "trade") == 0
    print(f"FIGURES e2e-100-markets: {final['total_received']} records in {streamed_s:.1f} s "
          f"({final['total_received'] / streamed_s:.0f}/s), {total} trades exactly once, SIGTERM->exit {exit_s:.2f} s")


def final_dropped_all(status: dict[str, Any], data_type: str) -> int:
    return sum(n for k, n in status["buffer"]["dropped"].items() if k.endswith(":" + data_type))


def test_S2_3_a_S3_1_f_dropped_connection_reconnects_resubscribes_no_duplicates(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                      markets=10, rate=200, per_connection=10, buffer={"ttl_s": {"trade": 10.0}})
    time.sleep(2)
    sim.drop("upbit")
    service.wait_for(lambda s: s["connections"]["upbit-0"]["reconnects"] >= 1
                     and s["connections"]["upbit-0"]["state"] == "CONNECTED", 30, "upbit-0 reconnected")
    before = service.status()["connections"]["upbit-0"]["received"]  # type: ignore[index]
    service.wait_for(lambda s: s["connections"]["upbit-0"]["received"] > before + 50, 20, "streaming resumed")
    quiesce(sim, service, ("upbit", "bithumb"))
    rc, _ = service.terminate()
    assert rc == 0
    bootstrap = kafka_bootstrap
    sent = sim.sent_log("upbit", per_connection=True)
    assert len(sent["connections"]) >= 2, "the simulator saw a second connection"
    got = decode_trades(read_topic(bootstrap, f"{topic_prefix}.upbit.trade"), "upbit")
    assert assert_exactly_once(sent["trades"], got, "upbit", sim.control("tape", "upbit")["trades"]) > 0


def test_S3_1_h_kafka_outage_keeps_connections_counts_failures_and_resumes(
        simulator_factory: Any, service_factory: Any, kafka_control: KafkaControl, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_control.bootstrap, ports, topic_prefix,
                                      markets=5, rate=50, per_connection=5)
    service.wait_for(lambda s: s["total_published"] > 50, 20, "publishing")
    kafka_control.pause()
    try:
        during = service.wait_for(lambda s: sum(p["failed"] for p in s["producers"].values()) > 0, 30,
                                  "publish failures counted")
        time.sleep(3)
        during = service.status() or during
        assert all(c["state"] == "CONNECTED" for c in during["connections"].values()), during["connections"]
    finally:
        kafka_control.resume()
    published = during["total_published"]
    after = service.wait_for(lambda s: s["total_published"] > published + 50 and all(
        p["consecutive_failures"] == 0 for p in s["producers"].values()), 40,
        "publishing resumed and the consecutive failure counts reset")
    assert sum(p["failed"] for p in after["producers"].values()) >= sum(
        p["failed"] for p in during["producers"].values()) > 0
    assert all(c["state"] == "CONNECTED" for c in after["connections"].values())
    rc, _ = service.terminate()
    assert rc == 0


@pytest.mark.parametrize("client", ["kafka-python", "confluent-kafka"])
def test_S3_1_h_a_3_4_s_broker_pause_with_the_shipped_defaults_keeps_the_service_up(
        simulator_factory: Any, service_factory: Any, kafka_control: KafkaControl, ports: tuple[int, int],
        topic_prefix: str, client: str) -> None:
    """Either client: publishing, a broker pause, publishing again, a clean stop."""
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_control.bootstrap, ports, topic_prefix,
                                      markets=5, rate=100, per_connection=5, kafka={"client": client})
    service.wait_for(lambda s: s["total_published"] > 50, 20, "publishing")
    kafka_control.pause()
    try:
        time.sleep(3.4)
    finally:
        kafka_control.resume()
    published = (service.status() or {}).get("total_published", 0)
    service.wait_for(lambda s: s["total_published"] > published + 100 and all(
        p["consecutive_failures"] == 0 for p in s["producers"].values()), 30, "publishing resumed")
    time.sleep(10)  # the old per-call rule stopped the service about 8 s after such a pause
    assert service.proc.poll() is None, service.logs()[-3000:]
    rc, _ = service.terminate()
    assert rc == 0


def _fresh_broker_port() -> int:
    """A broker port (and its controller port, the next one) near this run's own KAFKA_PORT."""
    base = int(os.environ.get("KAFKA_PORT", "9092")) + 50
    for port in range(base, base + 40, 2):
        if all(_bindable(p) for p in (port, port + 1)):
            return port
    raise RuntimeError(f"no free port pair in {base}-{base + 40}")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_S3_1_h_a_service_started_before_its_fresh_broker_stays_up_and_publishes(
        simulator_factory: Any, service_factory: Any, ports: tuple[int, int], topic_prefix: str) -> None:
    """The broker is brand new (empty data directory) and still starting when the service starts,
    so the first publishes fail (unreachable, then slow while it elects itself); the service rides
    that out and publishes once the broker serves."""
    if missing_prerequisite():
        pytest.skip(f"no local broker: {missing_prerequisite()}")
    broker = LocalBroker(_fresh_broker_port())
    shutil.rmtree(broker.var_dir, ignore_errors=True)
    sim = simulator_factory(market_count=5, rate=100, no_connect_limit=False)
    _, body = sim.get_json(f"{sim.rest('upbit')}/v1/market/all")
    codes = [m["market"] for m in body][:5]
    admin, web = ports
    cfg = service_config(upbit_url=sim.url("upbit"), bithumb_url=sim.url("bithumb"), markets=codes,
                         bootstrap=broker.bootstrap, admin_port=admin, topic_prefix=topic_prefix,
                         markets_per_connection=5)
    service = service_factory(cfg, web_port=web)

    def start_broker() -> None:
        broker.start()
        create_topics(broker.bootstrap, topics(topic_prefix))  # the broker creates none by itself

    starting = threading.Thread(target=start_broker, daemon=True)
    try:
        service.wait_connected(45)
        service.wait_for(lambda s: sum(p["failed"] for p in s["producers"].values()) > 0, 30,
                         "publishes failing while there is no broker")
        starting.start()
        service.wait_for(lambda s: s["total_published"] > 200, 120, "publishing to the fresh broker")
        assert service.proc.poll() is None, service.logs()[-3000:]
        rc, _ = service.terminate()
        assert rc == 0, service.logs()[-3000:]
    finally:
        starting.join(timeout=START_LIMIT_S)
        with contextlib.suppress(Exception):
            broker.run("kill")
        shutil.rmtree(broker.var_dir, ignore_errors=True)


def test_S3_1_e_an_outage_longer_than_max_outage_s_stops_the_service_with_exit_1(
        simulator_factory: Any, service_factory: Any, kafka_control: KafkaControl, ports: tuple[int, int],
        topic_prefix: str) -> None:
    """The bound is lowered to 8 s only to keep the test short; the rule is the one the defaults use."""
    max_outage_s = 8.0
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_control.bootstrap, ports, topic_prefix,
                                      markets=5, rate=100, per_connection=5, kafka={"max_outage_s": max_outage_s})
    service.wait_for(lambda s: s["total_published"] > 50, 20, "publishing")
    kafka_control.pause()
    paused = time.monotonic()
    try:
        rc = service.wait_exit(90)
        down_s = time.monotonic() - paused
    finally:
        kafka_control.resume()
    assert rc == 1, f"exit code {rc}"
    # not before the bound; and within it plus the delivery timeout (3 s) and the drain (10 s)
    assert max_outage_s <= down_s <= max_outage_s + 3 + 10 + 10, down_s
    logs = service.logs()
    fatal = [line for line in logs.splitlines() if "consecutive Kafka publish failures" in line]
    assert fatal, logs[-3000:]
    # a stopped broker times requests out, then takes no new connection: the line names the cause
    assert "timed out for" in fatal[0] or "broker unreachable for" in fatal[0], fatal[0]
    assert not service.leftovers()


@pytest.mark.parametrize("client", ["kafka-python", "confluent-kafka"])
def test_S2_4_at_least_once_broker_sigkill_and_restart_leaves_every_trade_in_kafka_exactly_once(
        simulator_factory: Any, service_factory: Any, kafka_control: KafkaControl, ports: tuple[int, int],
        topic_prefix: str, client: str) -> None:
    """kafka.delivery: at_least_once with the shipped buffer settings. The broker stays down until the
    client holds its in-flight cap and trades wait in the buffer for credit; they are kept as long as
    the client would retry them, longer than the buffer's configured 1 s TTL."""
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_control.bootstrap, ports, topic_prefix,
                                      markets=5, rate=200, per_connection=5,
                                      kafka={"client": client, "delivery": "at_least_once"})
    service.wait_for(lambda s: s["total_published"] > 100, 30, "publishing")
    kafka_control.kill()
    service.wait_for(lambda s: s["buffer"]["depth"].get("trade", 0) > 0, 60, "trades waiting in the buffer")
    time.sleep(3)  # they wait longer than the configured TTL
    kafka_control.start()
    published = (service.status() or {}).get("total_published", 0)
    service.wait_for(lambda s: s["total_published"] > published + 100, 90, "publishing resumed")
    time.sleep(3)
    quiesce(sim, service, ("upbit", "bithumb"), settle_s=20)
    rc, _ = service.terminate()
    assert rc == 0, service.logs()[-3000:]
    final = service.status() or {}
    failed = {t: p["failed"] for t, p in final.get("producers", {}).items()}
    assert not any(failed.values()), failed
    assert not final["buffer"]["dropped"].get("expired:trade"), final["buffer"]["dropped"]
    for exchange in ("upbit", "bithumb"):
        sent = sim.sent_log(exchange)
        got = decode_trades(read_topic(kafka_control.bootstrap, f"{topic_prefix}.{exchange}.trade"), exchange)
        assert assert_exactly_once(sent["trades"], got, exchange) > 0  # 0 missing, 0 duplicates, by id


def test_S2_2_f_malformed_frames_counted_connection_kept(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                      markets=5, rate=50, per_connection=5)
    sim.garbage(5, "upbit")
    status = service.wait_for(lambda s: s["connections"]["upbit-0"]["malformed"] >= 5, 20, "malformed counted")
    assert status["connections"]["upbit-0"]["state"] == "CONNECTED"
    assert status["connections"]["upbit-0"]["reconnects"] == 0
    before = status["connections"]["upbit-0"]["received"]
    service.wait_for(lambda s: s["connections"]["upbit-0"]["received"] > before + 20, 20, "still streaming")
    assert service.terminate()[0] == 0


def test_S3_1_b_S3_1_c_sigterm_while_streaming_exits_within_10_s_with_everything_in_kafka(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    sim, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                      markets=20, rate=500, per_connection=10, buffer={"ttl_s": {"trade": 10.0}})
    time.sleep(3)
    rc, exit_s = service.terminate(15.0)
    assert rc == 0 and exit_s < 10.0, (rc, exit_s)
    assert not service.leftovers()
    final = service.status()
    assert final is not None
    bootstrap = kafka_bootstrap
    in_kafka = sum(len(read_topic(bootstrap, t)) for t in topics(topic_prefix))
    dropped = sum(final["buffer"]["dropped"].values())
    failed = sum(p["failed"] for p in final["producers"].values())
    # everything krwfeed received is in Kafka or counted: dropped by the buffer, or a failed publish
    # (retries=0, as the seed requires); nothing stayed behind in the buffer. A publish that timed
    # out may have been written all the same, so a failed record can also be in Kafka, never more.
    received = final["total_received"]
    figures = (in_kafka, dropped, failed, received)
    assert in_kafka + dropped <= received <= in_kafka + dropped + failed, figures
    assert sum(final["buffer"]["depth"].values()) == 0
    print(f"FIGURES sigterm: exit in {exit_s:.2f} s, {in_kafka} records in Kafka, {dropped} dropped, "
          f"{failed} failed publishes")


# Joins the running service's actor system from a process of its own (a client left in the test
# process could be a stale actor system of an earlier test) and sends a second StartService.
SECOND_START = """
import sys
from thespian.actors import ActorSystem
from actors.thespian_setup import CAPABILITIES, prepare_thespian
from messages import ServiceError, StartService
prepare_thespian()  # as the service does: its admin listens on, and is reached at, 127.0.0.1 only
asys = ActorSystem("multiprocTCPBase", {**CAPABILITIES, "Admin Port": int(sys.argv[1])}, transientUnique=True)
sup = asys.createActor("actors.supervisor.Supervisor", globalName="krwfeed-supervisor")
reply = asys.ask(sup, StartService(None), 10)
print(type(reply).__name__, getattr(reply, "reason", ""))
"""


def test_S3_1_a_second_start_is_refused(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str) -> None:
    _, service, _ = start_streaming(simulator_factory, service_factory, kafka_bootstrap, ports, topic_prefix,
                                    markets=2, rate=10, per_connection=2)
    client = subprocess.run([sys.executable, "-c", SECOND_START, str(ports[0])], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert client.stdout.startswith("ServiceError") and "already started" in client.stdout, (
        client.stdout, client.stderr[-2000:])
    assert service.terminate()[0] == 0


def test_S4_1_c_invalid_config_exits_2_with_the_clear_message(service_factory: Any, ports: tuple[int, int]) -> None:
    bad = ("exchanges:\n  - name: upbit\n    ws_url: wss://api.upbit.com/websocket/v1\n"
           f"    rest_url: https://api.upbit.com\n    markets: [BTC-KRW]\nadmin_port: {ports[0]}\n")
    service = service_factory(bad)
    assert service.wait_exit(20) == 2
    err = service.stderr_path.read_text()
    assert "krwfeed.yaml" in err and "exchanges[0].markets[0] = 'BTC-KRW'" in err and "KRW-BTC" in err
    assert "Traceback" not in err


def test_S4_1_e_S4_2_c_sasl_secret_never_in_logs(
        simulator_factory: Any, service_factory: Any, kafka_bootstrap: str, ports: tuple[int, int],
        topic_prefix: str, tmp_path: Any) -> None:
    """The broker speaks PLAINTEXT, so SASL fails and kafka-python logs errors: the password must not appear."""
    secret = "e2e-Secret-" + topic_prefix
    bootstrap = kafka_bootstrap
    sim = simulator_factory(market_count=2, rate=20)
    log_file = str(tmp_path / "krwfeed.log")
    cfg = service_config(upbit_url=sim.url("upbit"), bithumb_url=None, markets=["KRW-BTC"], bootstrap=bootstrap,
                         admin_port=ports[0], topic_prefix=topic_prefix, log_file=log_file,
                         kafka={"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"},
                         log={"level": "DEBUG"})
    service = service_factory(cfg, env={"KRWFEED_KAFKA_SASL_USERNAME": "feeder",
                                        "KRWFEED_KAFKA_SASL_PASSWORD": secret})
    time.sleep(6)
    service.terminate()
    thespian_log = service.workdir / "thespian.log"
    text = service.logs() + Path(log_file).read_text() + (thespian_log.read_text() if thespian_log.exists() else "")
    assert len(text) > 500
    assert secret not in text
    assert json.dumps(secret) not in text


def test_a_config_that_would_fork_too_many_actor_processes_exits_2(
        service_factory: Any, ports: tuple[int, int]) -> None:
    codes = ", ".join(f"KRW-C{n:03d}" for n in range(400))  # 40 connections of 10
    bad = ("exchanges:\n  - name: upbit\n    ws_url: wss://api.upbit.com/websocket/v1\n"
           f"    rest_url: https://api.upbit.com\n    markets: [{codes}]\n    markets_per_connection: 10\n"
           f"admin_port: {ports[0]}\n")
    service = service_factory(bad)
    assert service.wait_exit(20) == 2
    err = service.stderr_path.read_text()
    assert "40 connections would run 47 actor processes (at most 32)" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 3
