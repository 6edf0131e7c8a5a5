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
    const events = (data.events && data.events.by_exchange) || {};
    fill("events", Object.entries(events).sort(), ([exchange, e], tr) => {
      tr.dataset.exchange = exchange;
      return [cell(exchange), cell(num(e.gaps), "num gaps"), cell(num(e.backfilled_trades), "num backfilled"),
        cell(num(e.published), "num published"), cell(num(e.failed), "num failed")];
    });
    drawChart(data.chart);
    fill("producers", producers, ([dataType, p]) => [
      cell(dataType), cell(num(p.succeeded), "num"), cell(num(p.failed), "num"),
      cell(num(p.consecutive_failures), "num"), cell(p.last_error || ""),
    ]);
  }

  // The chart: one line per exchange (messages per second) over the last span_s, a dashed line
  // where a connection dropped and came back, a shaded band over each gap or backfilled stretch.
  const SVG = "http://www.w3.org/2000/svg";
  const W = 900, H = 200, LEFT = 44, BOTTOM = 18, TOP = 8;
  function svg(tag, attrs, text) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }
  function drawChart(chart) {
    const root = $("rate-chart");
    if (!chart || !root) return;
    const end = chart.now_us, start = end - chart.span_s * 1e6;
    const points = chart.points || [];
    const exchanges = [...new Set(points.flatMap((p) => Object.keys(p.rates)))].sort();
    const top = Math.max(1, ...points.flatMap((p) => Object.values(p.rates))) * 1.1;
    const x = (us) => LEFT + (W - LEFT) * Math.min(1, Math.max(0, (us - start) / (end - start)));
    const y = (rate) => TOP + (H - TOP - BOTTOM) * (1 - rate / top);
    const parts = [svg("line", { class: "axis", x1: LEFT, y1: y(0), x2: W, y2: y(0) }),
      svg("text", { class: "tick", x: 2, y: y(top / 1.1) + 4 }, num(top / 1.1)),
      svg("text", { class: "tick", x: 2, y: y(0) }, "0"),
      svg("text", { class: "tick", x: LEFT, y: H - 2 }, "-15 min"),
      svg("text", { class: "tick", x: W - 26, y: H - 2 }, "now")];
    for (const e of chart.events || []) {
      const title = `${e.kind} ${e.connection_id} ${new Date(e.at_us / 1000).toLocaleTimeString()}` +
        (e.trades_recovered ? ` (${e.trades_recovered} trades recovered)` : "") + (e.reason ? `: ${e.reason}` : "");
      let mark;
      if ((e.kind === "GAP" || e.kind === "BACKFILLED") && e.from_us && e.to_us) {
        const x0 = x(e.from_us), x1 = Math.max(x(e.to_us), x0 + 2);
        mark = svg("rect", { class: `marker ${e.kind} ${e.exchange}`, x: x0, y: TOP, width: x1 - x0,
          height: H - TOP - BOTTOM, "data-at-us": e.at_us });
      } else {
        const at = x(e.kind === "DISCONNECTED" && e.from_us ? e.from_us : e.at_us);
        mark = svg("line", { class: `marker ${e.kind} ${e.exchange}`, x1: at, y1: TOP, x2: at, y2: y(0),
          "data-at-us": e.at_us });
      }
      mark.appendChild(svg("title", {}, title));
      parts.push(mark);
    }
    for (const exchange of exchanges) {
      const coords = points.filter((p) => exchange in p.rates)
        .map((p) => `${x(p.t_us).toFixed(1)},${y(p.rates[exchange]).toFixed(1)}`);
      parts.push(svg("polyline", { class: `series ${exchange}`, points: coords.join(" "),
        "data-exchange": exchange, "data-points": coords.length }));
    }
    root.replaceChildren(...parts);
    const legend = $("chart-legend");
    legend.replaceChildren(...exchanges.map((e) => {
      const span = document.createElement("span"); span.className = e; span.textContent = e; return span;
    }), ...["DISCONNECTED", "GAP"].map((k) => {
      const span = document.createElement("span"); span.className = k;
      span.textContent = k === "GAP" ? "gap" : "disconnect"; return span;
    }));
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
