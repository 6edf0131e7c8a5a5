// Polls /api/status every second and redraws the page in place (no reload, no external code).
"use strict";
(function () {
  const refreshMs = Number(document.body.dataset.refreshMs) || 1000;
  const $ = (id) => document.getElementById(id);

  function num(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits ?? 0 });
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "never";
    if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
    if (seconds < 120) return `${seconds.toFixed(1)} s`;
    if (seconds < 7200) return `${Math.floor(seconds / 60)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }
  function ms(seconds) {
    return seconds === null || seconds === undefined ? "–" : `${(seconds * 1000).toFixed(1)} ms`;
  }
  function cell(text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    if (text instanceof Node) td.appendChild(text); else td.textContent = text;
    return td;
  }
  function pill(state) {
    const span = document.createElement("span");
    span.className = `pill ${state}`;
    span.textContent = state;
    return span;
  }
  function fill(tableId, rows, render) {
    const body = $(tableId).querySelector("tbody");
    const fresh = document.createDocumentFragment();
    for (const row of rows) {
      const tr = document.createElement("tr");
      render(row, tr).forEach((td) => tr.appendChild(td));
      fresh.appendChild(tr);
    }
    body.replaceChildren(fresh);
  }

  function render(data) {
    document.body.classList.toggle("offline", !data.running);
    const status = data.health.status;
    $("overall").textContent = status;
    $("overall").className = `badge ${status}`;
    $("updated").textContent = new Date().toLocaleTimeString();
    $("uptime").textContent = data.started_us ? duration((data.now_us - data.started_us) / 1e6) : "–";
    const reasons = $("reasons");
    reasons.replaceChildren(...data.health.reasons.map((r) => {
      const li = document.createElement("li"); li.textContent = r; return li;
    }));
    const rates = data.rates || {};
    $("received-rate").textContent = num(rates.received_per_s, 1);
    $("published-rate").textContent = num(rates.published_per_s, 1);
    $("received-total").textContent = num(data.totals ? data.totals.received : null);
    const lat = data.publish_latency_s || {};
    $("publish-latency").textContent = lat.p50 === null || lat.p50 === undefined ? "–"
      : `${(lat.p50 * 1000).toFixed(1)} / ${ms(lat.p99)}`;
    const producers = Object.entries(data.producers || {});
    $("consecutive-errors").textContent = num(Math.max(0, ...producers.map(([, p]) => p.consecutive_failures || 0)));
    const depth = (data.buffer && data.buffer.depth) || {};
    $("buffer-depth").textContent = num(Object.values(depth).reduce((a, b) => a + b, 0));

    fill("connections", data.connections || [], (c, tr) => [
      cell(c.id), cell(c.exchange || ""), cell(pill(c.state || "UNKNOWN")), cell(duration(c.for_s)),
      cell(num((c.codes || []).length)), cell(num(c.received), "num"), cell(num(c.rate_per_s, 1), "num"),
      cell(num(c.reconnects), "num"), cell(c.reason || ""),
    ]);
    fill("markets", data.markets || [], (m, tr) => {
      tr.className = m.stale ? "stale" : "";
      return [cell(m.market), cell(m.age_s === null ? "never" : `${duration(m.age_s)} ago`, "num"),
        cell(num(m.rate_per_s, 1), "num"), cell(m.stale ? "STALE" : "fresh")];
    });
    fill("drops", Object.entries(data.drops || {}), ([reason, count]) => [cell(reason), cell(num(count), "num")]);
    fill("producers", producers, ([dataType, p]) => [
      cell(dataType), cell(num(p.succeeded), "num"), cell(num(p.failed), "num"),
      cell(num(p.consecutive_failures), "num"), cell(p.last_error || ""),
    ]);
  }

  async function tick() {
    try {
      const response = await fetch("/api/status", { cache: "no-store" });
      render(await response.json());
    } catch (err) {
      document.body.classList.add("offline");
      $("overall").textContent = "NO ANSWER";
      $("overall").className = "badge UNHEALTHY";
    } finally {
      setTimeout(tick, refreshMs);
    }
  }
  tick();
})();
