"""A krwfeed web process fed by real metric writes from a second process (multiprocess mode).

Run as ``python -m tests.integration.web_feed --port P`` with PROMETHEUS_MULTIPROC_DIR set. A
forked writer process updates the ingestion metrics the way the actors do, at about 200 records/s,
and shares its totals with the status provider; the main process serves ``web.app`` with werkzeug
until SIGTERM. Used where the whole actor system is not needed to exercise the scrape path.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import threading
import time

from monitoring import multiprocess_collect

MARKETS = {"upbit": ("KRW-BTC", "KRW-ETH"), "bithumb": ("KRW-BTC",)}


def write_metrics(totals: multiprocessing.Array, stop: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    from monitoring import metrics

    rng = random.Random(7)
    while not stop.is_set():
        for exchange, codes in MARKETS.items():
            for code in codes:
                for data_type in ("trade", "orderbook"):
                    metrics.MESSAGES_RECEIVED.labels(exchange, data_type).inc(10)
                    metrics.MESSAGES_PUBLISHED.labels(exchange, data_type).inc(10)
                    metrics.PROCESSING_LATENCY.labels(data_type).observe(rng.uniform(0.0005, 0.02))
                    metrics.KAFKA_PUBLISH_LATENCY.labels(data_type).observe(rng.uniform(0.001, 0.03))
                metrics.MARKET_MESSAGES.labels(exchange, code).inc(20)
            metrics.MESSAGES_DROPPED.labels(exchange, "orderbook", "ttl_expired").inc(1)
            metrics.RECONNECTS.labels(exchange).inc(0)
            metrics.MALFORMED_FRAMES.labels(exchange).inc(0)
        metrics.BUFFER_DEPTH.labels("orderbook").set(rng.randint(0, 50))
        metrics.BUFFER_DEPTH.labels("trade").set(rng.randint(0, 5))
        with totals.get_lock():
            totals[0] += 60
            totals[1] += 60
            totals[2] = time.time_ns() // 1000
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    multiprocess_collect.reset_dir(metrics_dir)  # before any metric exists, as the service does

    from werkzeug.serving import make_server

    from messages.protocol import StatusSnapshot
    from tests.unit.monitoring.snapshot_factory import settings
    from web.app import create_app

    ctx = multiprocessing.get_context("fork")
    totals = ctx.Array("q", 3)
    stop = ctx.Event()
    writer = ctx.Process(target=write_metrics, args=(totals, stop), daemon=True)
    writer.start()
    started_us = time.time_ns() // 1000

    def status() -> StatusSnapshot:
        received, published, last_us = totals[0], totals[1], totals[2]
        connections = {
            f"{exchange}-0": {"exchange": exchange, "state": "CONNECTED", "codes": codes, "received": received // 2,
                              "malformed": 0, "duplicates": 0, "reconnects": 0, "last_message_us": last_us,
                              "since_us": started_us, "reason": ""}
            for exchange, codes in MARKETS.items()
        }
        markets = {f"{e}:{c}": last_us for e, codes in MARKETS.items() for c in codes}
        producers = {dt: {"succeeded": published // 2, "failed": 0, "consecutive_failures": 0, "last_error": ""}
                     for dt in ("trade", "orderbook")}
        return StatusSnapshot(started_us, time.time_ns() // 1000, True, connections, markets,
                              {"depth": {"trade": 1, "orderbook": 9}, "dropped": {}}, producers, received, published)

    app = create_app(status, settings=settings(), metrics_dir=metrics_dir)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"serving on {args.port}", flush=True)
    server.serve_forever()
    stop.set()
    writer.join(5)


if __name__ == "__main__":
    main()
