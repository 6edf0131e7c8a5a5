"""cryptofeed's Upbit feed with its Kafka backend (aiokafka), pointed at the simulator, for the peer
comparison in bench/peers.py.

    python bench/cryptofeed_peer.py --ws-url ws://127.0.0.1:P/websocket/v1 --rest-url http://127.0.0.1:P \
        --codes KRW-BTC,KRW-ETH --bootstrap 127.0.0.1:9092 --trade-topic T --book-topic B

cryptofeed takes a venue's WebSocket and REST addresses from class attributes of its feed, so a
subclass of its ``Upbit`` points it at the simulator; no cryptofeed code is changed. It subscribes as
it does against Upbit (SIMPLE format, trades and orderbooks of every code on one connection). Its
Kafka callbacks write one topic per symbol; here ``topic()`` returns one topic per data type, so that
every contender writes to the same partitions; how the backend sends (each send awaited in turn)
stays cryptofeed's. SIGTERM or SIGINT stops it (cryptofeed's own handlers).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from cryptofeed import FeedHandler
from cryptofeed.backends.kafka import BookKafka, TradeKafka
from cryptofeed.connection import RestEndpoint, Routes, WebsocketEndpoint
from cryptofeed.defines import L2_BOOK, TRADES
from cryptofeed.exchanges import Upbit


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ws-url", required=True)
    p.add_argument("--rest-url", required=True, help="where /v1/market/all is served")
    p.add_argument("--codes", required=True, help="comma-separated Upbit codes (KRW-BTC, ...)")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--trade-topic", required=True)
    p.add_argument("--book-topic", required=True)
    p.add_argument("--log", default="/dev/null", help="cryptofeed's log file")
    p.add_argument("--log-level", default="WARNING")
    args = p.parse_args(argv)

    class LocalUpbit(Upbit):  # type: ignore[misc]
        websocket_endpoints = [WebsocketEndpoint(args.ws_url)]
        rest_endpoints = [RestEndpoint(args.rest_url, routes=Routes("/v1/market/all"))]

    class Trades(TradeKafka):  # type: ignore[misc]
        def topic(self, data: dict[str, Any]) -> str:
            return str(args.trade_topic)

    class Books(BookKafka):  # type: ignore[misc]
        def topic(self, data: dict[str, Any]) -> str:
            return str(args.book_topic)

    # Upbit writes QUOTE-BASE (KRW-BTC); cryptofeed's symbols are BASE-QUOTE (BTC-KRW).
    symbols = ["-".join(reversed(code.split("-", 1))) for code in args.codes.split(",") if code]
    handler = FeedHandler(config={"log": {"filename": args.log, "level": args.log_level}})
    handler.add_feed(LocalUpbit(symbols=symbols, channels=[TRADES, L2_BOOK],
                                callbacks={TRADES: Trades(bootstrap_servers=args.bootstrap),
                                           L2_BOOK: Books(bootstrap_servers=args.bootstrap)}))
    handler.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
