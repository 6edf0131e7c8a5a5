"""The frame decoder alone: bytes in any cut, messages out whole; what a server may not send is refused."""
from __future__ import annotations

import random
import struct

import pytest

from connectors.websocket_frames import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    TEXT,
    FrameDecoder,
    FrameProtocolError,
    MessageTooLarge,
)
from tests.unit.connectors.fakes import server_frame as frame

pytestmark = pytest.mark.unit


def drain(decoder: FrameDecoder) -> list[tuple[int, bytes]]:
    out = []
    while (message := decoder.next()) is not None:
        out.append(message)
    return out


def test_S2_2_f_messages_come_out_whole_however_the_bytes_are_cut() -> None:
    payloads = [b"x" * n for n in (0, 1, 125, 126, 300, 65535, 65536, 70000)]
    stream = b"".join(frame(TEXT if i % 2 else BINARY, p) for i, p in enumerate(payloads))
    rng = random.Random(7)
    for _ in range(20):
        decoder, got, at = FrameDecoder(1 << 20), [], 0
        while at < len(stream):
            step = rng.choice((1, 2, 3, 10, 1000, 70000))
            decoder.feed(stream[at:at + step])
            at += step
            got.extend(drain(decoder))
        assert [p for _, p in got] == payloads
        assert [o for o, _ in got] == [TEXT if i % 2 else BINARY for i in range(len(payloads))]
        assert decoder.buffered == 0


def test_S2_2_f_fragments_are_joined_and_control_frames_between_them_come_out_first() -> None:
    decoder = FrameDecoder(1024)
    decoder.feed(frame(TEXT, b"ab", fin=False) + frame(PING, b"p") + frame(CONT, b"cd", fin=False)
                 + frame(CONT, b"ef"))
    assert drain(decoder) == [(PING, b"p"), (TEXT, b"abcdef")]


def test_S2_2_f_a_header_announcing_more_than_the_cap_is_refused_before_its_payload_arrives() -> None:
    decoder = FrameDecoder(1000)
    decoder.feed(bytes([0x82, 127]) + struct.pack("!Q", 1 << 30))
    with pytest.raises(MessageTooLarge) as info:
        decoder.next()
    assert (info.value.size, info.value.limit) == (1 << 30, 1000)
    assert decoder.buffered == 10  # nothing but the header was held


def test_S2_2_f_fragments_adding_up_to_more_than_the_cap_are_refused() -> None:
    decoder = FrameDecoder(1000)
    decoder.feed(frame(TEXT, b"x" * 600, fin=False) + frame(CONT, b"x" * 600))
    with pytest.raises(MessageTooLarge) as info:
        decoder.next()
    assert info.value.size == 1200


@pytest.mark.parametrize(("stream", "why"), [
    (frame(TEXT, b"a", first=0x40), "reserved bits"),
    (bytes([0x81, 0x81]) + b"mask" + b"a", "masked"),
    (frame(0x3, b"a"), "unknown opcode"),
    (frame(PING, b"a", fin=False), "control frame"),
    (frame(CLOSE, b"a" * 126), "control frame"),
    (frame(CONT, b"a"), "no message under way"),
    (frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"), "before the fragmented one ended"),
])
def test_S2_2_f_what_a_server_may_not_send_is_refused(stream: bytes, why: str) -> None:
    decoder = FrameDecoder(1000)
    decoder.feed(stream)
    with pytest.raises(FrameProtocolError, match=why):
        drain(decoder)


def test_a_long_lived_buffer_is_compacted_instead_of_growing() -> None:
    decoder = FrameDecoder(1 << 20)
    one = frame(BINARY, b"y" * 1000)
    decoder.feed(one[:5])
    for _ in range(2000):  # always a partial frame left behind, so the buffer is never emptied whole
        decoder.feed(one[5:] + one[:5])
        assert drain(decoder) == [(BINARY, b"y" * 1000)]
    assert decoder.buffered == 5
    assert len(decoder._buf) < 512 * 1024
