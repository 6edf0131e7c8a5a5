"""One drain of a real socket (a socket pair, websocket-client's reader, the real Upbit adapter and
encoder): good frames around an absurd one all come out; an oversized message is counted and ends
the connection; refusals reach the log."""
from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from connectors.backoff import Backoff
from connectors.frame_pipeline import FramePipeline
from connectors.liveness import Liveness
from connectors.websocket_connector import FeedSocket, new_socket, read_frames
from connectors.websocket_frames import BINARY
from exchanges.registry import get_adapter
from tests.unit.connectors.fakes import config
from tests.unit.connectors.fakes import server_frame as frame

pytestmark = pytest.mark.unit
NOW_US = 1790134742200000


def trade(sid: int, volume: str = "0.5") -> bytes:
    return (f'{{"type":"trade","code":"KRW-BTC","timestamp":1730336862082,"trade_timestamp":1730336862047,'
            f'"trade_price":100473000,"trade_volume":{volume},"ask_bid":"BID","sequential_id":{sid}}}').encode()


@pytest.fixture
def pair() -> Iterator[tuple[FeedSocket, socket.socket]]:
    client, server = socket.socketpair()
    client.setblocking(False)
    ws = new_socket(64 * 1024)
    ws.sock, ws.connected = client, True
    yield ws, server
    client.close()
    server.close()


def drain(ws: FeedSocket, pipeline: FramePipeline) -> tuple[list[bytes], int, str]:
    records, frames, lost = read_frames(ws, 100, pipeline, Liveness(30.0, 10.0, 45.0), Backoff.from_config(config()),
                                        time.monotonic, lambda: NOW_US)
    return [r.raw_data for r in records], frames, lost


def test_S2_2_f_a_read_keeps_every_good_frame_around_bad_ones(
        pair: tuple[FeedSocket, socket.socket], caplog: pytest.LogCaptureFixture) -> None:
    ws, server = pair
    pipeline = FramePipeline(get_adapter("upbit"), ["KRW-BTC"])
    nested = b'{"type":"trade","code":' + b"[" * 1200 + b"]" * 1200 + b"}"
    server.sendall(b"".join(frame(BINARY, f) for f in (trade(1), nested, trade(2), trade(3, "-1"), trade(4, "1e-50000000"),
                                               trade(5))))
    with caplog.at_level(logging.WARNING, logger="krwfeed.connector.frames"):
        payloads, frames, lost = drain(ws, pipeline)
    assert (len(payloads), frames, lost) == (3, 6, "")
    c = pipeline.counters
    assert (c.received, c.malformed, c.invalid) == (3, 2, 1)
    logged = " | ".join(r.getMessage() for r in caplog.records)
    assert "refused invalid trade record" in logged and "field='volume'" in logged and "'-1'" in logged
    assert "malformed frame" in logged


def test_S2_2_f_an_oversized_message_is_counted_and_ends_the_connection(
        pair: tuple[FeedSocket, socket.socket]) -> None:
    ws, server = pair
    pipeline = FramePipeline(get_adapter("upbit"), ["KRW-BTC"])
    server.sendall(frame(BINARY, trade(1)) + bytes([0x82, 127]) + struct.pack("!Q", 1 << 30))
    payloads, frames, lost = drain(ws, pipeline)
    assert len(payloads) == 1 and frames == 2
    assert "exceeds max_frame_bytes (65536)" in lost
    assert pipeline.counters.dropped == {("other", "oversized"): 1} and pipeline.counters.malformed == 1


def test_S2_2_f_a_frame_breaking_the_websocket_rules_is_counted_and_ends_the_connection(
        pair: tuple[FeedSocket, socket.socket]) -> None:
    ws, server = pair
    pipeline = FramePipeline(get_adapter("upbit"), ["KRW-BTC"])
    masked = bytes([0x82, 0x80 | 5]) + b"mask" + b"hello"  # servers never mask their frames
    server.sendall(frame(BINARY, trade(1)) + masked + frame(BINARY, trade(2)))
    payloads, frames, lost = drain(ws, pipeline)
    assert len(payloads) == 1 and frames == 2
    assert lost == "connection closed: masked frame from the server"
    assert pipeline.counters.dropped == {("other", "bad_framing"): 1} and pipeline.counters.malformed == 1
