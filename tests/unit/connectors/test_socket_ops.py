"""The message size cap, the fragment assembly and the control frames of the sockets krwfeed reads,
on a real socket pair (the server side writes raw WebSocket frames)."""
from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest
import websocket

from connectors.websocket_connector import DEFAULT_MAX_FRAME_BYTES, FeedSocket, new_socket
from connectors.websocket_frames import FrameProtocolError, MessageTooLarge
from tests.unit.connectors.fakes import server_frame as frame

pytestmark = pytest.mark.unit
CAP = 64 * 1024


@pytest.fixture
def pair() -> Iterator[tuple[FeedSocket, socket.socket]]:
    client, server = socket.socketpair()
    ws = new_socket(CAP)
    ws.sock, ws.connected = client, True
    yield ws, server
    client.close()
    server.close()


def test_S2_2_f_messages_up_to_the_cap_are_read_whole(pair: tuple[FeedSocket, socket.socket]) -> None:
    ws, server = pair
    server.sendall(frame(websocket.ABNF.OPCODE_BINARY, b'{"status":"UP"}'))
    assert ws.next_message() == (websocket.ABNF.OPCODE_BINARY, b'{"status":"UP"}')
    body = bytes(range(256)) * (CAP // 256)  # exactly the cap, in 4 KiB fragments
    parts = [body[i:i + 4096] for i in range(0, len(body), 4096)]
    writer = threading.Thread(target=server.sendall, args=(b"".join(
        frame(websocket.ABNF.OPCODE_BINARY if i == 0 else websocket.ABNF.OPCODE_CONT, part, i == len(parts) - 1)
        for i, part in enumerate(parts)),))
    writer.start()
    opcode, got = ws.next_message()
    writer.join()
    assert opcode == websocket.ABNF.OPCODE_BINARY and got == body


def test_S2_2_f_a_frame_announcing_more_than_the_cap_is_refused_before_its_payload(
        pair: tuple[FeedSocket, socket.socket]) -> None:
    ws, server = pair
    # The header claims 1 GB; nothing of the payload is sent or read.
    server.sendall(bytes([0x82, 127]) + struct.pack("!Q", 1 << 30))
    with pytest.raises(MessageTooLarge) as info:
        ws.next_message()
    assert info.value.size == 1 << 30 and info.value.limit == CAP
    assert isinstance(info.value, FrameProtocolError)  # the reader's "connection lost" path


def test_S2_2_f_fragments_adding_up_to_more_than_the_cap_are_refused(
        pair: tuple[FeedSocket, socket.socket]) -> None:
    ws, server = pair
    part = b"x" * 4096
    frames = [frame(websocket.ABNF.OPCODE_TEXT, part, False)] + [
        frame(websocket.ABNF.OPCODE_CONT, part, False) for _ in range(CAP // 4096)]
    writer = threading.Thread(target=server.sendall, args=(b"".join(frames),))
    writer.start()
    with pytest.raises(MessageTooLarge) as info:
        ws.next_message()
    writer.join()
    assert info.value.size == CAP + 4096


def test_the_default_cap_is_a_few_mib() -> None:
    assert 1 << 20 <= DEFAULT_MAX_FRAME_BYTES <= 16 << 20
    assert new_socket().frames.max_message_bytes == DEFAULT_MAX_FRAME_BYTES


def test_a_ping_is_answered_with_its_payload_and_the_data_around_it_still_comes_out(
        pair: tuple[FeedSocket, socket.socket]) -> None:
    ws, server = pair
    server.sendall(frame(websocket.ABNF.OPCODE_TEXT, b"a") + frame(websocket.ABNF.OPCODE_PING, b"are you there")
                   + frame(websocket.ABNF.OPCODE_TEXT, b"b"))
    got = [ws.next_message() for _ in range(3)]
    assert got == [(1, b"a"), (websocket.ABNF.OPCODE_PING, b"are you there"), (1, b"b")]
    server.settimeout(2)
    pong = server.recv(64)  # a client frame: masked, so the payload is read through the mask
    assert pong[0] == 0x80 | websocket.ABNF.OPCODE_PONG and pong[1] == 0x80 | 13
    mask = pong[2:6]
    assert bytes(b ^ mask[i % 4] for i, b in enumerate(pong[6:19])) == b"are you there"


def test_the_end_of_the_stream_is_a_lost_connection_after_every_whole_frame_was_read(
        pair: tuple[FeedSocket, socket.socket]) -> None:
    ws, server = pair
    server.sendall(frame(websocket.ABNF.OPCODE_TEXT, b"last") + frame(websocket.ABNF.OPCODE_TEXT, b"cut off")[:4])
    server.shutdown(socket.SHUT_WR)
    assert ws.next_message() == (1, b"last")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.next_message()
