"""The dashboard in a real headless Chromium (Debian's, driven by Playwright), served over HTTP by werkzeug.

The status provider returns snapshots stamped with the real clock whose counters grow with time; the
test changes a connection's state and checks the page redraws it without a reload. The screenshot is
kept as docs/dashboard.png.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from messages.protocol import StatusSnapshot
from monitoring import metrics
from tests.integration.tooling import free_port, require_tool
from tests.unit.monitoring.snapshot_factory import settings, snapshot
from web.app import create_app
from web.snapshot_cache import wall_us

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class ChangingService:
    """A status source whose totals grow 250 records/s and whose upbit connection state can be set.
    Each answer also records per-market counts and publish latencies in this process's metrics, which
    the app reads (metrics_dir=None: single-process registry)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.upbit_state = "CONNECTED"
        self.upbit_reason = ""
        self.rng = random.Random(3)

    def __call__(self) -> StatusSnapshot:
        elapsed = time.monotonic() - self.started
        received = 12_000 + int(250 * elapsed)
        for (exchange, market), share in {("upbit", "KRW-BTC"): 0.5, ("upbit", "KRW-ETH"): 0.3,
                                          ("bithumb", "KRW-BTC"): 0.2}.items():
            metrics.MARKET_MESSAGES.labels(exchange, market).inc(int(50 * share))
        for _ in range(20):
            metrics.KAFKA_PUBLISH_LATENCY.labels("trade").observe(self.rng.lognormvariate(-5.0, 0.6))
        snap = snapshot(now_us=wall_us(), market_age_s=0.3, upbit_state=self.upbit_state,
                        upbit_reason=self.upbit_reason, total_received=received, total_published=received - 40)
        conns = {cid: {**info, "received": received // 2} for cid, info in snap.connections.items()}
        return replace(snap, connections=conns)


@pytest.fixture
def served_dashboard() -> Iterator[tuple[str, ChangingService]]:
    service = ChangingService()
    app = create_app(service, settings=settings(), metrics_dir=None, refresh_s=0.2)
    server = make_server("127.0.0.1", free_port(18940, 18959), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", service
    finally:
        server.shutdown()
        thread.join(5)


def test_dashboard_renders_live_status_and_redraws_without_reload(
        served_dashboard: tuple[str, ChangingService]) -> None:
    chromium = require_tool("chromium", "apt-get install chromium")
    from playwright.sync_api import expect, sync_playwright

    base, service = served_dashboard
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/")
            expect(page.locator("#overall")).to_have_text("HEALTHY", timeout=10_000)
            connections = page.locator("#connections tbody")
            expect(connections).to_contain_text("upbit-0")
            expect(connections.locator("tr", has_text="upbit-0")).to_contain_text("CONNECTED")
            markets = page.locator("#markets tbody")
            for market in ("upbit:KRW-BTC", "upbit:KRW-ETH", "bithumb:KRW-BTC"):
                expect(markets).to_contain_text(market)
            expect(page.locator("#drops tbody")).to_contain_text("ttl_expired")
            # The rate needs two observations; then it reads about 250/s.
            page.wait_for_function("() => /^\\d/.test(document.getElementById('received-rate').textContent)",
                                   timeout=10_000)
            rate = float(page.locator("#received-rate").text_content().replace(",", ""))
            assert 150 <= rate <= 350, rate
            first_total = page.locator("#received-total").text_content()
            page.wait_for_function(f"() => document.getElementById('received-total').textContent !== "
                                   f"'{first_total}'", timeout=10_000)
            expect(page.locator("#publish-latency")).to_contain_text(" ms", timeout=10_000)
            expect(markets.locator("tr", has_text="upbit:KRW-ETH")).not_to_contain_text("–", timeout=10_000)
            page.screenshot(path=str(ROOT / "docs/dashboard.png"), full_page=True)

            marker = page.evaluate("() => { window.__noReload = 1; return window.__noReload; }")
            service.upbit_state, service.upbit_reason = "RECONNECTING", "close 1006 (abnormal)"
            expect(page.locator("#overall")).to_have_text("UNHEALTHY", timeout=10_000)
            row = connections.locator("tr", has_text="upbit-0")
            expect(row).to_contain_text("RECONNECTING")
            expect(row).to_contain_text("close 1006 (abnormal)")
            expect(page.locator("#reasons")).to_contain_text("connection:upbit-0")
            assert page.evaluate("() => window.__noReload") == marker  # same document: redrawn in place
        finally:
            browser.close()
    assert (ROOT / "docs/dashboard.png").stat().st_size > 10_000
