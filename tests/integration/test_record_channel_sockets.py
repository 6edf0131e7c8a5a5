"""The record channel over a real Unix socket pair: a peer that stops reading costs bounded memory."""
from __future__ import annotations

import socket

import pytest

from actors.record_channel import RECORDS, ChannelEnd, encode_frame

pytestmark = pytest.mark.integration


def test_a_full_peer_costs_bounded_memory_and_the_write_is_refused() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    end = ChannelEnd(left, max_pending_bytes=1 << 20)
    frame = encode_frame(RECORDS, b"x" * 65536)
    accepted = 0
    while end.write(frame):  # nobody reads `right`: the kernel buffer fills, then the queue
        accepted += 1
        assert accepted < 10_000
    assert end.pending <= 1 << 20
    peer = ChannelEnd(right)
    got = 0
    while end.pending or got < accepted:
        got += sum(1 for kind, _ in peer.read() if kind == RECORDS)
        end.flush()
    assert got == accepted
    end.close()
    peer.read()
    assert peer.closed
