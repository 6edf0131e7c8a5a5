"""The connector over wss:// against the simulator serving TLS, with many frames per TLS record.

When one record holds many frames, reading one frame decrypts the whole record into the TLS layer's
buffer, where ``select`` (and Thespian's watch) cannot see it. The first test shows that this
really happens with the simulator's ``coalesce`` option; the others show that the connector, as a
plain class and as an actor, still gets every trade exactly once because it reads until the socket
would block.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import select
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import websocket
from thespian.actors import ActorSystem

from connectors.websocket_connector import WebSocketConnector
from domain.config import ExchangeConfig
from domain.exceptions import ConnectionException
from domain.state import ConnectionState as S
from exchanges.registry import get_adapter
from tests.integration.test_connector_simulator import (
    Rig,
    Streamer,
    assert_exactly_once,
    exchange_config,
    quiesce,
    sent_trades,
    wait_until,
)
from tests.support.actor_systems import actor_system

pytestmark = pytest.mark.integration

CODES = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE", "KRW-ADA"]
COALESCE = 50  # ~50 trade frames (~20 KB) per write: one full 16 KiB record plus a partial one
_admin_ports = itertools.count(20300)


def tls_config(sim: Any, codes: list[str]) -> ExchangeConfig:
    assert sim.upbit_url.startswith("wss://") and sim.ca_file
    return dataclasses.replace(exchange_config(sim, codes), tls_ca_file=sim.ca_file)


def trade_request(codes: list[str]) -> str:
    return json.dumps([{"ticket": "tls-trap"}, {"type": "trade", "codes": codes}])


@pytest.mark.simulator(tls=True, coalesce=COALESCE, markets=CODES, rate=3000, trade_ratio=1.0)
def test_tls_trap_bytes_wait_in_the_ssl_buffer_while_select_sees_nothing(simulator: Any) -> None:
    """A reader taking one frame per readable event would leave these frames behind."""
    ws = websocket.create_connection(simulator.upbit_url, timeout=5, sslopt=simulator.sslopt)
    try:
        assert isinstance(ws.sock, ssl.SSLSocket)
        ws.send(trade_request(CODES))
        trapped_bytes = 0
        for _ in range(5000):  # one frame per readable event, as a naive watcher would
            readable, _, _ = select.select([ws.sock], [], [], 2.0)
            assert readable, "the simulator stopped sending"
            ws.recv_data_frame(True)
            pending = ws.sock.pending()
            now_readable, _, _ = select.select([ws.sock], [], [], 0)
            if pending > 0 and not now_readable:
                trapped_bytes = pending
                break
        assert trapped_bytes > 0, "no frame ever waited in the TLS buffer: coalescing had no effect"
        # What select missed is whole frames: reading until the socket would block recovers them.
        ws.sock.setblocking(False)
        recovered = 0
        while True:
            try:
                ws.recv_data_frame(True)
            except (BlockingIOError, ssl.SSLWantReadError):
                break
            recovered += 1
        assert recovered >= 1
        assert ws.sock.pending() == 0
    finally:
        ws.close()


def read_when_readable(connector: WebSocketConnector, sim: Any, wanted: int) -> list[Any]:
    """Drive the connector the way the actor does: drain only when select reports the socket readable.

    After ``wanted`` records the feed stops; the loop ends once select has seen nothing for 1.5 s.
    Nothing else ever triggers a read here, so frames that ``drain()`` left in the TLS buffer
    would stay there for good and be missing from the result.
    """
    records: list[Any] = []
    stopped_feed = False
    while True:
        fd = connector.fileno()
        assert fd is not None and connector.state is S.CONNECTED, connector.transitions
        readable, _, _ = select.select([fd], [], [], 1.5)
        if not readable:
            assert stopped_feed, f"no data for 1.5 s after {len(records)} records"
            return records
        result = connector.drain()
        records.extend(result.records)
        while result.more:
            result = connector.drain()
            records.extend(result.records)
        assert not result.lost, result.lost
        if not stopped_feed and len(records) >= wanted:
            sim.set_rate(0)
            stopped_feed = True


@pytest.mark.simulator(tls=True, coalesce=COALESCE, markets=CODES, rate=3000, trade_ratio=0.8)
def test_S2_3_b_drain_leaves_nothing_in_the_tls_buffer_every_trade_exactly_once(simulator: Any) -> None:
    connector = WebSocketConnector(tls_config(simulator, CODES), get_adapter("upbit"))
    connector.connect()
    try:
        records = read_when_readable(connector, simulator, wanted=6000)
    finally:
        connector.disconnect("test over")
    received = sorted((r.code, r.sequential_id) for r in records if r.data_type == "trade")
    sent = sorted((code, sid) for code, sids in sent_trades(simulator).items() for sid in sids)
    assert len(sent) >= 4000
    assert received == sent
    books_sent = sum(simulator.sent_log()["orderbooks"].values())
    assert sum(1 for r in records if r.data_type == "orderbook") == books_sent
    assert connector.reconnects == 0 and connector.pipeline.counters.malformed == 0


@pytest.mark.simulator(tls=True, coalesce=COALESCE, markets=CODES, rate=3000, trade_ratio=0.8)
def test_S2_3_b_stream_market_data_over_wss_gets_every_coalesced_trade_exactly_once(simulator: Any) -> None:
    connector = WebSocketConnector(tls_config(simulator, CODES), get_adapter("upbit"))
    streamer = Streamer(connector)
    assert wait_until(lambda: len(streamer.records) >= 6000, 20), len(streamer.records)
    # With the feed stopped, any frame left in the TLS buffer would never be read: it would be
    # missing below instead of arriving late.
    quiesce(simulator, lambda: len(streamer.records))
    streamer.stop()
    assert streamer.error is None
    received = sorted((r.code, r.sequential_id) for r in streamer.records if r.data_type == "trade")
    sent = sorted((code, sid) for code, sids in sent_trades(simulator).items() for sid in sids)
    assert len(sent) >= 4000
    assert received == sent
    assert connector.reconnects == 0
    assert connector.pipeline.counters.malformed == 0
    assert [new for _, new, _, _ in connector.transitions] == [S.CONNECTING, S.CONNECTED, S.DISCONNECTED]


@pytest.mark.simulator(tls=True, markets=["KRW-BTC"], rate=50)
def test_wss_certificate_is_verified_against_tls_ca_file(simulator: Any) -> None:
    untrusting = WebSocketConnector(exchange_config(simulator, ["KRW-BTC"]), get_adapter("upbit"))
    with pytest.raises(ConnectionException):
        untrusting.connect()
    assert untrusting.state is S.RECONNECTING
    assert "CERTIFICATE_VERIFY_FAILED" in untrusting.last_reason
    untrusting.disconnect("test over")
    trusting = WebSocketConnector(tls_config(simulator, ["KRW-BTC"]), get_adapter("upbit"))
    trusting.connect()
    assert trusting.state is S.CONNECTED
    trusting.disconnect("test over")


@pytest.fixture
def asys() -> Iterator[ActorSystem]:
    with actor_system(next(_admin_ports)) as system:
        yield system


@pytest.mark.simulator(tls=True, coalesce=COALESCE, markets=CODES, rate=3000, trade_ratio=0.8)
def test_S2_3_b_connector_actor_over_wss_streams_coalesced_frames_without_loss_or_stall(
    asys: ActorSystem, simulator: Any
) -> None:
    rig = Rig(asys, tls_config(simulator, CODES))
    first = rig.wait(lambda r: r.record_count > 6000, 20)
    assert first.record_count > 6000
    # Still flowing later on: a connector stuck on the TLS buffer would stop growing here.
    later = rig.wait(lambda r: r.record_count > first.record_count + 3000, 10)
    assert later.record_count > first.record_count + 3000
    quiesce(simulator, lambda: rig.report().record_count)
    report = rig.report(detail=True)
    received, sent = assert_exactly_once(simulator, report)
    assert len(sent) >= 6000
    assert received == sent
    books_sent = sum(simulator.sent_log()["orderbooks"].values())
    assert sum(1 for _, dt, _ in report.records if dt == "orderbook") == books_sent
    assert [new for _, new, _ in report.states] == ["CONNECTING", "CONNECTED"]
    assert report.stats is not None and report.stats.reconnects == 0 and report.stats.malformed == 0
