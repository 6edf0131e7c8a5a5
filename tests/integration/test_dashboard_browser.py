"""The dashboard of the running krwfeed service (simulator -> actors -> real broker) in a real headless
Chromium (Debian's, driven by Playwright): real connections CONNECTED, real market names with non-zero
rates, values changing while the page stays the same document, and a dropped connection redrawn
in place. The screenshot goes to the test's temporary directory, and replaces docs/dashboard.png only
under ``pytest --update-results`` (``make results``).
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.live_service import LiveService, live_service
from tests.integration.tooling import require_tool
from tests.support.results import artefact_path

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs/dashboard.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def krwfeed(kafka_bootstrap: str, tmp_path: Path) -> Iterator[LiveService]:
    with live_service(tmp_path / "krwfeed", kafka_bootstrap, markets=8, rate=200) as live:
        yield live


def _number(text: str | None) -> float:
    return float((text or "nan").replace(",", ""))


def test_S4_4_a_dashboard_shows_the_running_service_and_redraws_without_reload(
        krwfeed: LiveService, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    screenshot = artefact_path(request.config, SCREENSHOT, tmp_path / "screenshot")
    chromium = require_tool("chromium", "apt-get install chromium")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(krwfeed.base + "/")
            expect(page.locator("#overall")).to_have_text("HEALTHY", timeout=15_000)
            connections = page.locator("#connections tbody")
            for connection in ("upbit-0", "upbit-1", "bithumb-0", "bithumb-1"):
                expect(connections.locator("tr", has_text=connection)).to_contain_text("CONNECTED")
            markets = page.locator("#markets tbody")
            for exchange in ("upbit", "bithumb"):
                for code in krwfeed.codes:
                    expect(markets).to_contain_text(f"{exchange}:{code}")
            # Per-market rates come from ingestion_market_messages_received_total: every market non-zero.
            page.wait_for_function(
                "() => { const rows = [...document.querySelectorAll('#markets tbody tr')];"
                " return rows.length >= 16 && rows.every(r => parseFloat(r.cells[2].textContent) > 0); }",
                timeout=20_000)
            page.wait_for_function("() => /^\\d/.test(document.getElementById('received-rate').textContent)",
                                   timeout=10_000)
            assert _number(page.locator("#received-rate").text_content()) > 0
            expect(page.locator("#publish-latency")).to_contain_text(" ms", timeout=10_000)

            marker = page.evaluate("() => { window.__sameDocument = Math.random(); return window.__sameDocument; }")
            first_total = page.locator("#received-total").text_content()
            page.wait_for_function(f"() => document.getElementById('received-total').textContent !== "
                                   f"'{first_total}'", timeout=10_000)
            second_total = page.locator("#received-total").text_content()
            assert _number(second_total) > _number(first_total), (first_total, second_total)
            page.screenshot(path=str(screenshot), full_page=True)

            # upbit refuses new connections and drops the open ones: the page turns UNHEALTHY in place.
            krwfeed.simulator.refuse(60, "upbit")
            krwfeed.simulator.drop("upbit")
            expect(page.locator("#overall")).to_have_text("UNHEALTHY", timeout=15_000)
            row = connections.locator("tr", has_text="upbit-0")
            expect(row.locator("td").nth(2)).not_to_have_text("CONNECTED", timeout=10_000)
            expect(page.locator("#reasons")).to_contain_text("connection:upbit-0")
            expect(connections.locator("tr", has_text="bithumb-0")).to_contain_text("CONNECTED")
            assert page.evaluate("() => window.__sameDocument") == marker  # redrawn, never reloaded
        finally:
            browser.close()
    header = screenshot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])  # the IHDR chunk comes first
    assert width >= 1280 and height >= 600, (width, height)
