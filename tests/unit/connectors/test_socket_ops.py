"""The message size cap and the linear fragment assembly of the sockets krwfeed reads, on a real
socket pair with websocket-client's own frame reader (the server side writes raw WebSocket frames)."""
from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest
import websocket

from connectors.websocket_connector import DEFAULT_MAX_FRAME_BYTES, MessageTooLarge, new_socket

pytestmark = pytest.mark.unit
CAP = 64 * 1024


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A server frame (unmasked), with the 7-, 16- or 64-bit length form as RFC 6455 gives it."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        return head + bytes([n]) + payload
    if n < 65536:
        return head + bytes([126]) + struct.pack("!H", n) + payload
    return head + bytes([127]) + struct.pack("!Q", n) + payload


@pytest.fixture
def pair() -> Iterator[tuple[websocket.WebSocket, socket.socket]]:
    client, server = socket.socketpair()
    ws = new_socket(CAP)
    ws.sock, ws.connected = client, True
    yield ws, server
    client.close()
    server.close()


def test_S2_2_f_messages_up_to_the_cap_are_read_whole(pair: tuple[websocket.WebSocket, socket.socket]) -> None:
    ws, server = pair
    server.sendall(frame(websocket.ABNF.OPCODE_BINARY, b'{"status":"UP"}'))
    assert ws.recv_data_frame(True)[1].data == b'{"status":"UP"}'
    body = bytes(range(256)) * (CAP // 256)  # exactly the cap, in 4 KiB fragments
    parts = [body[i:i + 4096] for i in range(0, len(body), 4096)]
    writer = threading.Thread(target=server.sendall, args=(b"".join(
        frame(websocket.ABNF.OPCODE_BINARY if i == 0 else websocket.ABNF.OPCODE_CONT, part, i == len(parts) - 1)
        for i, part in enumerate(parts)),))
    writer.start()
    opcode, got = ws.recv_data_frame(True)
    writer.join()
    assert opcode == websocket.ABNF.OPCODE_BINARY and got.data == body


def test_S2_2_f_a_frame_announcing_more_than_the_cap_is_refused_before_its_payload(
        pair: tuple[websocket.WebSocket, socket.socket]) -> None:
    ws, server = pair
    # The header claims 1 GB; nothing of the payload is sent or read.
    server.sendall(bytes([0x82, 127]) + struct.pack("!Q", 1 << 30))
    with pytest.raises(MessageTooLarge) as info:
        ws.recv_data_frame(True)
    assert info.value.size == 1 << 30 and info.value.limit == CAP
    assert isinstance(info.value, websocket.WebSocketException)  # the reader's "connection lost" path


def test_S2_2_f_fragments_adding_up_to_more_than_the_cap_are_refused(
        pair: tuple[websocket.WebSocket, socket.socket]) -> None:
    ws, server = pair
    part = b"x" * 4096
    frames = [frame(websocket.ABNF.OPCODE_TEXT, part, False)] + [
        frame(websocket.ABNF.OPCODE_CONT, part, False) for _ in range(CAP // 4096)]
    writer = threading.Thread(target=server.sendall, args=(b"".join(frames),))
    writer.start()
    with pytest.raises(MessageTooLarge) as info:
        ws.recv_data_frame(True)
    writer.join()
    assert info.value.size == CAP + 4096


def test_the_default_cap_is_a_few_mib() -> None:
    assert 1 << 20 <= DEFAULT_MAX_FRAME_BYTES <= 16 << 20
    assert new_socket().frame_buffer.max_bytes == DEFAULT_MAX_FRAME_BYTES  # type: ignore[attr-defined]
