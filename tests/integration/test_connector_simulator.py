"""The connector against the exchange simulator over real WebSockets: the plain class, and the actor
in a real multiprocTCPBase ActorSystem with a sink actor as its buffer and supervisor."""
from __future__ import annotations

import itertools
import json
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from thespian.actors import ActorExitRequest, ActorSystem

from actors.connector import ConnectorActor
from connectors.websocket_connector import WebSocketConnector
from domain.config import ExchangeConfig
from domain.state import ConnectionState as S
from exchanges.registry import get_adapter
from messages import StartConnector, StopConnector, SubscriptionQuery, SubscriptionReport
from tests.integration.connector_sink import SinkActor, SinkListen, SinkQuery, SinkReport
from tests.support.actor_systems import actor_system

pytestmark = pytest.mark.integration

FIXTURES = Path("/work/shared/fixtures")
_ports = itertools.count(19600)


def exchange_config(sim: Any, markets: list[str], **timers: float) -> ExchangeConfig:
    cfg = ExchangeConfig("upbit", sim.upbit_url, sim.upbit_rest, tuple(markets), backoff_initial_s=0.2,
                         backoff_max_s=2.0)
    # Production settings refuse pings faster than every 30 s; a test cannot wait that long, so the
    # short timers are set on the validated object directly (they survive pickling to the actor).
    for name, value in timers.items():
        object.__setattr__(cfg, name, value)
    return cfg


def sent_trades(sim: Any) -> dict[str, list[int]]:
    return {code: sids for code, sids in sim.sent_log()["trades"].items()}


# --- plain class ------------------------------------------------------------------------------
class Streamer:
    """Runs stream_market_data() on a thread; stop() disconnects and joins."""

    def __init__(self, connector: WebSocketConnector) -> None:
        self.connector = connector
        self.records: list[Any] = []
        self.error: BaseException | None = None
        connector.connect()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for record in self.connector.stream_market_data():
                self.records.append(record)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            self.error = err

    def stop(self) -> None:
        self.connector.disconnect("test over")
        self.thread.join(5)
        assert not self.thread.is_alive()


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def quiesce(sim: Any, count: Callable[[], int], settle: float = 0.6, timeout: float = 10.0) -> None:
    """Stop the simulator's feed, then wait until the receiving side stops growing."""
    sim.set_rate(0)
    last, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now_count = count()
        if now_count != last:
            last, stable_since = now_count, time.monotonic()
        elif time.monotonic() - stable_since >= settle:
            return
        time.sleep(0.1)


@pytest.mark.simulator(markets=["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE"], rate=400)
def test_S2_2_c_plain_connector_decodes_binary_frames_of_subscribed_codes(simulator: Any) -> None:
    codes = ["KRW-BTC", "KRW-ETH", "KRW-XRP"]
    states: list[S] = []
    connector = WebSocketConnector(exchange_config(simulator, codes), get_adapter("upbit"),
                                   on_state=lambda old, new, reason, attempt: states.append(new))
    streamer = Streamer(connector)
    assert wait_until(lambda: len(streamer.records) >= 300, 10)
    quiesce(simulator, lambda: len(streamer.records))
    streamer.stop()
    assert streamer.error is None
    got = Counter((r.code, r.data_type) for r in streamer.records)
    assert {code for code, _ in got} == set(codes)
    assert {dt for _, dt in got} == {"trade", "orderbook"}
    sent = sent_trades(simulator)
    received = sorted((r.code, r.sequential_id) for r in streamer.records if r.data_type == "trade")
    assert received == sorted((code, sid) for code, sids in sent.items() for sid in sids)
    assert all(r.raw_data for r in streamer.records)
    assert connector.pipeline.counters.malformed == 0
    assert states == [S.CONNECTING, S.CONNECTED, S.DISCONNECTED]


@pytest.mark.simulator(markets=["KRW-BTC"], rate=0, idle_timeout=2)
def test_S2_1_j_pings_at_the_configured_interval_keep_an_idle_connection(simulator: Any) -> None:
    connector = WebSocketConnector(
        exchange_config(simulator, ["KRW-BTC"], ping_interval_s=0.5, pong_timeout_s=0.4, stale_timeout_s=5.0),
        get_adapter("upbit"))
    streamer = Streamer(connector)
    time.sleep(5.0)  # the simulator cuts a connection silent for 2 s
    streamer.stop()
    assert connector.reconnects == 0
    assert 8 <= connector.liveness.pings_sent <= 11  # one ping per 0.5 s
    assert [s for _, s, _, _ in connector.transitions].count(S.RECONNECTING) == 0


@pytest.mark.simulator(markets=["KRW-BTC"], rate=0, idle_timeout=2)
def test_S2_1_g_without_pings_in_time_the_idle_connection_is_cut_and_restored(simulator: Any) -> None:
    connector = WebSocketConnector(
        exchange_config(simulator, ["KRW-BTC"], ping_interval_s=30.0, pong_timeout_s=10.0, stale_timeout_s=45.0),
        get_adapter("upbit"))
    streamer = Streamer(connector)
    assert wait_until(lambda: connector.reconnects >= 1, 8)  # cut at ~2 s, reconnected after backoff
    streamer.stop()
    assert connector.liveness.pings_sent == 0
    reasons = [reason for _, new, reason, _ in connector.transitions if new is S.RECONNECTING]
    assert reasons and "connection lost" in reasons[0]


@pytest.mark.simulator(markets=["KRW-BTC", "KRW-ETH"], rate=200)
def test_S2_1_g_stall_without_pong_reconnects(simulator: Any) -> None:
    connector = WebSocketConnector(
        exchange_config(simulator, ["KRW-BTC", "KRW-ETH"], ping_interval_s=0.3, pong_timeout_s=0.5,
                        stale_timeout_s=1.0),
        get_adapter("upbit"))
    streamer = Streamer(connector)
    assert wait_until(lambda: len(streamer.records) > 50, 5)
    simulator.stall(2.0, freeze=True)  # nothing sent, pings unanswered
    assert wait_until(lambda: connector.reconnects >= 1, 8)
    before = len(streamer.records)
    assert wait_until(lambda: len(streamer.records) > before + 50, 8)  # streaming resumed
    streamer.stop()
    reasons = [reason for _, new, reason, _ in connector.transitions if new is S.RECONNECTING]
    assert any(reason.startswith("stalled") for reason in reasons)
    sids = [(r.code, r.sequential_id) for r in streamer.records if r.data_type == "trade"]
    assert len(sids) == len(set(sids))


def test_error_frame_closes_and_reconnects(simulator_factory: Callable[..., Any], tmp_path: Path) -> None:
    trade_lines = (FIXTURES / "upbit_trade.jsonl").read_text().splitlines()[:2]
    error_line = (FIXTURES / "upbit_error.jsonl").read_text().splitlines()[0]
    replay = tmp_path / "replay.jsonl"
    replay.write_text("\n".join([*trade_lines, error_line]) + "\n")
    sim = simulator_factory(markets=["KRW-BTC"], replay=[str(replay)], rate=50)
    connector = WebSocketConnector(exchange_config(sim, ["KRW-BTC"]), get_adapter("upbit"))
    streamer = Streamer(connector)
    assert wait_until(lambda: connector.reconnects >= 1, 8)
    # The second connection replays the same two trades; wait until both were read before stopping.
    assert wait_until(lambda: connector.pipeline.counters.duplicates >= 2, 8)
    streamer.stop()
    reasons = [reason for _, new, reason, _ in connector.transitions if new is S.RECONNECTING]
    assert reasons[0].startswith("error frame: INVALID_AUTH")
    assert connector.pipeline.counters.error_frames >= 1
    # The replayed trades arrived once: the second connection's identical trades were duplicates.
    trades = [(r.code, r.sequential_id) for r in streamer.records]
    assert len(trades) == len(set(trades)) == 2
    assert connector.pipeline.counters.duplicates >= 2


# --- the actor --------------------------------------------------------------------------------
@pytest.fixture
def asys() -> Iterator[ActorSystem]:
    with actor_system(next(_ports)) as system:
        yield system


class Rig:
    """A connector actor wired to a sink actor."""

    def __init__(self, asys: ActorSystem, cfg: ExchangeConfig) -> None:
        self.asys = asys
        self.sink = asys.createActor(SinkActor)
        self.channel_path = os.path.join(tempfile.mkdtemp(prefix="krwfeed-test-"), "records.sock")
        assert asys.ask(self.sink, SinkListen(self.channel_path), 10) == "listening"
        self.connector = asys.createActor(ConnectorActor)
        asys.tell(self.connector, StartConnector("upbit-0", cfg, self.channel_path, self.sink))

    def report(self, detail: bool = False) -> SinkReport:
        answer = self.asys.ask(self.sink, SinkQuery(detail), 10)
        assert isinstance(answer, SinkReport), answer
        return answer

    def new_states(self) -> list[str]:
        return [new for _, new, _ in self.report().states]

    def wait(self, check: Callable[[SinkReport], bool], timeout: float) -> SinkReport:
        deadline = time.monotonic() + timeout
        while True:
            report = self.report()
            if check(report) or time.monotonic() > deadline:
                return report
            time.sleep(0.1)


def _connected_times(report: SinkReport) -> int:
    return sum(1 for _, new, _ in report.states if new == "CONNECTED")


def assert_exactly_once(sim: Any, report: SinkReport) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    received = [(code, sid) for code, dt, sid in report.records if dt == "trade"]
    assert len(received) == len(set(received)), "duplicate trades reached the buffer"
    sent = {(code, sid) for code, sids in sent_trades(sim).items() for sid in sids}
    assert set(received) <= sent
    return set(received), sent


@pytest.mark.parametrize("mode", ["close", "abort"])
@pytest.mark.simulator(markets=["KRW-BTC", "KRW-ETH", "KRW-XRP"], rate=300)
def test_S2_3_a_S3_1_f_drop_reconnect_resubscribe_resume_without_duplicates(
    asys: ActorSystem, simulator: Any, mode: str
) -> None:
    rig = Rig(asys, exchange_config(simulator, ["KRW-BTC", "KRW-ETH", "KRW-XRP"]))
    first = rig.wait(lambda r: r.record_count > 200, 10)
    assert first.record_count > 200
    # The markets keep trading while a client is away, so a resubscription's trade SNAPSHOT repeats
    # a trade already read only when nothing traded in between: drop during a quiet spell.
    quiesce(simulator, lambda: rig.report().record_count)
    simulator.drop(mode=mode)
    after_drop = rig.wait(lambda r: _connected_times(r) >= 2, 10)
    assert _connected_times(after_drop) == 2
    simulator.set_rate(300)
    resumed = rig.wait(lambda r: r.record_count > after_drop.record_count + 200, 10)
    assert resumed.record_count > after_drop.record_count + 200
    quiesce(simulator, lambda: rig.report().record_count)
    report = rig.report(detail=True)
    assert [new for _, new, _ in report.states] == ["CONNECTING", "CONNECTED", "RECONNECTING", "CONNECTING",
                                                    "CONNECTED"]
    received, sent = assert_exactly_once(simulator, report)
    assert report.stats is not None and report.stats.reconnects == 1
    assert report.stats.duplicates >= 1  # the SNAPSHOT trades repeated on resubscribe
    if mode == "close":  # a close frame comes after everything sent: nothing may be missing
        assert received == sent
    else:  # an abort loses what was in flight on the cut connection only
        per_connection = simulator.sent_log(per_connection=True)["connections"]
        second = {(code, sid) for code, sids in per_connection[-1]["trades"].items() for sid in sids}
        assert second <= received
    subscriptions = asys.ask(rig.connector, SubscriptionQuery(), 5)
    assert isinstance(subscriptions, SubscriptionReport)
    assert len(subscriptions.tickets) == 2
    assert all(codes == ("KRW-BTC", "KRW-ETH", "KRW-XRP") for codes in subscriptions.tickets.values())


@pytest.mark.simulator(markets=["KRW-BTC", "KRW-ETH"], rate=200)
def test_S2_2_f_garbage_frames_are_counted_and_the_connection_kept(asys: ActorSystem, simulator: Any) -> None:
    rig = Rig(asys, exchange_config(simulator, ["KRW-BTC", "KRW-ETH"]))
    rig.wait(lambda r: r.record_count > 50, 10)
    simulator.garbage(count=5, kind="json")
    simulator.garbage(count=5, kind="binary")
    report = rig.wait(lambda r: r.stats is not None and r.stats.malformed >= 10, 10)
    assert report.stats is not None and report.stats.malformed == 10
    later = rig.wait(lambda r: r.record_count > report.record_count + 50, 10)
    assert later.record_count > report.record_count + 50
    assert [new for _, new, _ in later.states] == ["CONNECTING", "CONNECTED"]


@pytest.mark.simulator(markets=["KRW-BTC"], rate=100)
def test_S2_1_d_refused_reconnect_with_429_backs_off_then_connects(asys: ActorSystem, simulator: Any) -> None:
    rig = Rig(asys, exchange_config(simulator, ["KRW-BTC"]))
    rig.wait(lambda r: r.record_count > 20, 10)
    simulator.refuse(2.0, status=429)
    simulator.drop(mode="abort")
    report = rig.wait(lambda r: _connected_times(r) >= 2, 15)
    assert _connected_times(report) == 2
    failures = [reason for old, new, reason in report.states if old == "CONNECTING" and new == "RECONNECTING"]
    assert failures and all("429" in reason for reason in failures)
    # Backoff 0.2 -> 0.4 -> 0.8 ... (+/- 20 %): far fewer attempts than a tight loop would make.
    assert 2 <= len(failures) <= 6
    gaps = [b - a for a, b in itertools.pairwise(report.permit_times[1:])]
    assert all(later >= earlier * 1.2 for earlier, later in itertools.pairwise(gaps))
    resumed = rig.wait(lambda r: r.record_count > report.record_count + 20, 10)
    assert resumed.record_count > report.record_count + 20


@pytest.mark.simulator(markets=["KRW-BTC", "KRW-ETH"], rate=200)
def test_stop_connector_flushes_and_reports_disconnected(asys: ActorSystem, simulator: Any) -> None:
    rig = Rig(asys, exchange_config(simulator, ["KRW-BTC", "KRW-ETH"]))
    rig.wait(lambda r: r.record_count > 100, 10)
    simulator.set_rate(0)
    asys.tell(rig.connector, StopConnector())
    report = rig.wait(lambda r: bool(r.states) and r.states[-1][1] == "DISCONNECTED", 5)
    assert report.states[-1][1] == "DISCONNECTED"
    time.sleep(0.3)
    report = rig.report(detail=True)
    received, sent = assert_exactly_once(simulator, report)
    assert received == sent  # everything read before the stop reached the buffer
    assert report.stats is not None and report.stats.received == report.record_count
    asys.tell(rig.connector, ActorExitRequest())


def test_S2_3_b_hundred_markets_ten_seconds_no_loss_no_duplicates(
    asys: ActorSystem, simulator_factory: Callable[..., Any]
) -> None:
    sim = simulator_factory(market_count=100, rate=2000)
    codes = [m["market"] for m in json.loads(_get(sim.upbit_rest + "/v1/market/all"))][:100]
    assert len(codes) == 100
    rig = Rig(asys, exchange_config(sim, codes))
    started = time.monotonic()
    rig.wait(lambda r: False, 10.0)
    quiesce(sim, lambda: rig.report().record_count)
    elapsed = time.monotonic() - started
    report = rig.report(detail=True)
    received, sent = assert_exactly_once(sim, report)
    assert received == sent
    books_sent = sum(sim.sent_log()["orderbooks"].values())
    books_received = sum(1 for _, dt, _ in report.records if dt == "orderbook")
    assert books_received == books_sent
    assert {code for code, _, _ in report.records} == set(codes)
    assert report.empty_payloads == 0
    assert report.batch_count < report.record_count / 5  # batched, not one message per frame
    print(f"\n100 markets: {report.record_count} records in {elapsed:.1f} s "
          f"({report.record_count / elapsed:.0f}/s), {report.batch_count} batches "
          f"(largest {report.largest_batch})")


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()  # type: ignore[no-any-return]
