"""Benchmark of reading WebSocket frames off a socket: websocket-client's own reader against the
connector's (``FeedSocket``: chunked reads cut by ``connectors.websocket_frames.FrameDecoder``).

A socket pair carries 1,000 server frames of the bench's shapes (half trades of about 260 bytes,
half orderbooks of about 2.5 KB), written at once as a busy connection's kernel buffer holds them;
each reader then takes frames until the socket would block. Prints CPU microseconds per frame for
each reader, best and worst of the rounds, alternated in one run. Only the framing is measured: the
payloads go nowhere.

Run: ``python bench/frame_reading.py [--rounds N] [--out FILE]``.
"""
from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

import websocket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.websocket_connector import new_socket  # noqa: E402

FRAMES = 1000


def server_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes([0x81, n]) + payload
    if n < 65536:
        return bytes([0x81, 126]) + struct.pack("!H", n) + payload
    return bytes([0x81, 127]) + struct.pack("!Q", n) + payload


def stream() -> bytes:
    trade = b'{"type":"trade","code":"KRW-BTC","trade_price":100473000,"trade_volume":0.0001,' + b' ' * 180 + b'}'
    book = b'{"type":"orderbook","code":"KRW-BTC","orderbook_units":[' + b' ' * 2450 + b']}'
    return b"".join(server_frame(trade if i % 2 else book) for i in range(FRAMES))


def websocket_client_reader(sock: socket.socket) -> Callable[[], object]:
    ws = websocket.WebSocket(enable_multithread=False, skip_utf8_validation=True)
    ws.sock, ws.connected = sock, True
    return lambda: ws.recv_data_frame(True)


def feed_socket_reader(sock: socket.socket) -> Callable[[], object]:
    ws = new_socket()
    ws.sock, ws.connected = sock, True
    return ws.next_message


def time_reader(make: Callable[[socket.socket], Callable[[], object]], data: bytes) -> float:
    """CPU µs per frame to read ``data`` off a fresh socket pair."""
    writer, reader = socket.socketpair()
    try:
        for s, opt in ((writer, socket.SO_SNDBUF), (reader, socket.SO_RCVBUF)):
            s.setsockopt(socket.SOL_SOCKET, opt, 4 * 1024 * 1024)
        reader.setblocking(False)
        writer.sendall(data)
        read = make(reader)
        frames = 0
        start = time.process_time()
        while True:
            try:
                read()
            except BlockingIOError:
                break
            frames += 1
        elapsed = time.process_time() - start
        if frames != FRAMES:
            raise SystemExit(f"read {frames} frames of {FRAMES}")
        return elapsed / frames * 1e6
    finally:
        writer.close()
        reader.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    data = stream()
    readers = {"websocket-client recv_data_frame": websocket_client_reader, "FeedSocket.next_message": feed_socket_reader}
    results: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(args.rounds):
        for name, make in readers.items():
            results[name].append(time_reader(make, data))
    lines = [f"python bench/frame_reading.py --rounds {args.rounds}", "",
             f"{FRAMES} server frames ({len(data):,} bytes) per round, CPU clock, readers alternated",
             f"{'reader':36} {'best µs/frame':>14} {'worst':>8}"]
    for name, values in results.items():
        lines.append(f"{name:36} {min(values):14.2f} {max(values):8.2f}")
    old, new = (min(v) for v in results.values())
    lines += [f"ratio (best): {new / old:.2f}", f"load average at the end (2 cores): {', '.join(f'{x:.1f}' for x in os.getloadavg())}"]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
