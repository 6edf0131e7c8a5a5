"""The dashboard's events table and its messages-per-second chart, in a real headless Chromium
against the running service (simulator -> actors -> real broker): one line per exchange drawn from
the status the page polls, and a connection dropped at the simulator marked on the chart in place,
the per-exchange gap and backfill counts shown beside the events published."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.live_service import LiveService, live_service
from tests.integration.test_dashboard_browser import CHROMIUM_ARGS
from tests.integration.tooling import require_tool

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture
def krwfeed(kafka_bootstrap: str, tmp_path: Path) -> Iterator[LiveService]:
    with live_service(tmp_path / "krwfeed", kafka_bootstrap, markets=4, rate=100, per_connection=4) as live:
        yield live


def test_the_chart_draws_each_exchanges_rate_and_marks_a_drop_and_the_events_table_counts_per_exchange(
        krwfeed: LiveService, tmp_path: Path) -> None:
    chromium = require_tool("chromium", "apt-get install chromium")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(krwfeed.base + "/")
            expect(page.locator("#overall")).to_have_text("HEALTHY", timeout=15_000)
            events = page.locator("#events tbody")
            for exchange in ("upbit", "bithumb"):
                row = events.locator(f"tr[data-exchange={exchange}]")
                expect(row.locator("td.gaps")).to_have_text("0")
                expect(row.locator("td.backfilled")).to_have_text("0")
                expect(row.locator("td.failed")).to_have_text("0")
                # the connection's CONNECTED event, acknowledged by the broker
                expect(row.locator("td.published")).to_have_text("1", timeout=10_000)
            # Two samples in different 10 s buckets make the first point of each line.
            page.wait_for_function(
                "() => ['upbit', 'bithumb'].every(e => { const line = document.querySelector("
                "`#rate-chart polyline.series.${e}`); return line && Number(line.dataset.points) >= 1 &&"
                " line.getAttribute('points').split(' ').some(p => Number(p.split(',')[1]) < 150); })",
                timeout=40_000)
            assert page.locator("#rate-chart .marker").count() == 0  # nothing happened yet
            marker = page.evaluate("() => { window.__sameDocument = Math.random(); return window.__sameDocument; }")
            screenshot_before = tmp_path / "chart-before.png"
            page.locator("#rate-chart").screenshot(path=str(screenshot_before))

            krwfeed.simulator.drop("upbit")
            drop = page.locator("#rate-chart line.marker.DISCONNECTED.upbit")
            expect(drop).to_have_count(1, timeout=15_000)
            expect(page.locator("#rate-chart line.marker.RESUBSCRIBED.upbit")).to_have_count(1, timeout=15_000)
            expect(drop.locator("title")).to_contain_text("DISCONNECTED upbit-0")
            assert page.locator("#rate-chart .marker.bithumb").count() == 0
            x = float(drop.get_attribute("x1") or "nan")
            assert 44 < x <= 900, x  # within the chart's time axis, near its right end
            upbit = events.locator("tr[data-exchange=upbit]")
            # + DISCONNECTED, RESUBSCRIBED, then the backfill's BACKFILLED for each of its 4 markets
            expect(upbit.locator("td.published")).to_have_text("7", timeout=15_000)
            expect(upbit.locator("td.gaps")).to_have_text("0")
            expect(events.locator("tr[data-exchange=bithumb] td.published")).to_have_text("1")
            assert page.evaluate("() => window.__sameDocument") == marker  # redrawn, never reloaded
            page.locator("#rate-chart").screenshot(path=str(tmp_path / "chart-after.png"))
        finally:
            browser.close()
