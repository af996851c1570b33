// proofpath dashboard: reads the REST API of the same origin and draws uPlot charts.
"use strict";
(() => {
  const $ = (s) => document.querySelector(s);
  const OPG = 1e18;
  const palette = ["#3b5bdb", "#e8590c", "#2f9e44", "#ae3ec9", "#1098ad", "#f08c00", "#c2255c", "#5c940d"];
  const charts = {};
  window.__dashboard = { charts, ready: false, errors: [] };

  async function get(path) {
    const res = await fetch(path);
    const body = await res.json();
    if (!res.ok) throw new Error(`${path}: ${body.field || ""} ${body.reason || body.error || res.status}`);
    return body;
  }

  // Everything from the chain is untrusted (daURI is any string a gateway chose): escape before HTML.
  const esc = (v) => String(v).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const short = (hex) => (hex && hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex);
  const fmt = (n, d = 0) => Number(n).toLocaleString(undefined, { maximumFractionDigits: d });

  /** Draws (or redraws) a time chart: `x` unix seconds, `series` [{label, values}]. */
  const PERIOD = { hour: 3600, day: 86400 };
  const tick = (v) => (v === 0 ? "0" : Math.abs(v) >= 1000 ? fmt(v) : Number(v.toPrecision(3)).toString());
  function draw(id, x, series, yLabel) {
    const el = document.getElementById(id);
    el.dataset.points = String(x.length);
    el.dataset.series = String(series.length);
    if (charts[id]) charts[id].destroy();
    el.innerHTML = x.length ? "" : '<p class="muted">no data yet</p>';
    if (!x.length) return;
    const opts = {
      width: Math.max(320, el.clientWidth || 480),
      height: 220,
      // Pad one period either side so a lone bucket sits mid-chart instead of stretching the axis.
      scales: { x: { time: true, range: () => { const p = PERIOD[$("#granularity").value]; return [x[0] - p, x[x.length - 1] + p]; } } },
      axes: [{}, { label: yLabel, size: 70, values: (u, vals) => vals.map(tick) }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: 2, points: { show: x.length < 60 } }))],
    };
    charts[id] = new uPlot(opts, [x, ...series.map((s) => s.values)], el);
  }

  /** Aligns rows keyed by (bucket, key) into one x axis and one series per key. */
  function pivot(rows, keyOf, valueOf) {
    const xs = [...new Set(rows.map((r) => Number(r.bucket)))].sort((a, b) => a - b);
    const idx = new Map(xs.map((x, i) => [x, i]));
    const byKey = new Map();
    for (const r of rows) {
      const k = keyOf(r);
      if (!byKey.has(k)) byKey.set(k, new Array(xs.length).fill(0));
      byKey.get(k)[idx.get(Number(r.bucket))] += valueOf(r);
    }
    return { x: xs, series: [...byKey].map(([label, values]) => ({ label, values })) };
  }

  async function refresh() {
    const g = $("#granularity").value;
    const [stats, activity, gateways, models, recent] = await Promise.all([
      get("/network/stats"),
      get(`/network/activity?granularity=${g}`),
      get("/gateways?limit=50"),
      get(`/models/usage?granularity=${g}`),
      get("/batches?limit=12"),
    ]);

    const tiles = [
      ["calls settled", fmt(stats.callsSettled)],
      ["batches", fmt(stats.batchesSubmitted)],
      ["fees paid (OPG)", fmt(Number(stats.feesPaid) / OPG, 6)],
      ["burned (OPG)", fmt(Number(stats.burned) / OPG, 6)],
      ["validator rewards (OPG)", fmt(Number(stats.toValidators) / OPG, 6)],
      ["active gateways", fmt(stats.activeGateways)],
      ["proof latency avg", stats.proofLatency.avgMs == null ? "—" : `${fmt(stats.proofLatency.avgMs / 1000, 1)} s`],
      ["proof latency p95", stats.proofLatency.p95Ms == null ? "—" : `≤ ${fmt(stats.proofLatency.p95Ms / 1000, 1)} s`],
      ["submitted", fmt(stats.batchesByStatus.submitted)],
      ["attested", fmt(stats.batchesByStatus.attested)],
      ["finalized", fmt(stats.batchesByStatus.finalized)],
      ["rejected", fmt(stats.batchesByStatus.rejected)],
    ];
    $("#tiles").innerHTML = tiles.map(([k, v]) => `<div class="tile"><div class="v">${v}</div><div class="k">${k}</div></div>`).join("");

    const a = activity.items;
    const ax = a.map((r) => Number(r.bucket));
    draw("chart-activity", ax, [
      { label: "calls", values: a.map((r) => Number(r.calls)) },
      { label: "batches", values: a.map((r) => Number(r.batches)) },
    ], "count");
    draw("chart-status", ax, [
      { label: "attested", values: a.map((r) => r.attested) },
      { label: "finalized", values: a.map((r) => r.finalized) },
      { label: "rejected", values: a.map((r) => r.rejected) },
    ], "batches");
    const lat = a.filter((r) => r.latencyCount > 0);
    draw("chart-latency", lat.map((r) => Number(r.bucket)), [
      { label: "avg latency (s)", values: lat.map((r) => Number(r.latencySumMs) / r.latencyCount / 1000) },
    ], "seconds");

    const usage = await Promise.all(gateways.items.slice(0, 8).map((gw) => get(`/gateways/${gw.address}/usage?granularity=${g}`)));
    const feeRows = usage.flatMap((u) => u.buckets.map((b) => ({ ...b, gateway: u.gateway })));
    const fees = pivot(feeRows, (r) => short(r.gateway), (r) => Number(r.fees) / OPG);
    draw("chart-fees", fees.x, fees.series, "OPG");
    const m = pivot(models.items, (r) => short(r.modelId), (r) => Number(r.calls));
    draw("chart-models", m.x, m.series, "calls");

    $("#batches tbody").innerHTML = recent.items
      .map((b) => `<tr><td title="${esc(b.id)}">${esc(short(b.gateway))}:${esc(b.batchSeq)}</td><td>${esc(b.calls)}</td><td><span class="status ${esc(b.status)}">${esc(b.status)}</span></td><td>${new Date(Number(b.submittedAt) * 1000).toLocaleString()}</td></tr>`)
      .join("");
    if (!$("#lookup-form").gateway.value && recent.items[0]) $("#lookup-form").gateway.placeholder = recent.items[0].gateway;
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  $("#lookup-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const out = $("#lookup-result");
    out.className = "";
    out.textContent = "looking up…";
    try {
      const gw = encodeURIComponent(f.gateway.value.trim());
      const seq = encodeURIComponent(f.callSeq.value.trim());
      const r = await get(`/calls/${gw}/${seq}`);
      const lines = [`<span class="status ${esc(r.status)}" data-status="${esc(r.status)}">${esc(r.status)}</span>`];
      if (r.batch) {
        lines.push(`batch ${r.batch.id} (leaf ${r.index} of ${r.batch.count}), root ${r.batch.root}`);
        for (const [k, v] of Object.entries(r.txs)) if (v) lines.push(`${k} tx ${v}`);
        if (r.proofLatencyMs != null) lines.push(`proof latency ${(Number(r.proofLatencyMs) / 1000).toFixed(1)} s`);
        if (r.batch.daURI) lines.push(`receipts and proof: ${esc(r.batch.daURI)}`);
      } else lines.push("no settled batch covers this call yet");
      out.innerHTML = lines.join("\n");
    } catch (err) {
      out.className = "error";
      out.textContent = String(err.message || err);
    }
  });

  $("#granularity").addEventListener("change", () => refresh().catch(report));
  function report(err) {
    window.__dashboard.errors.push(String(err && err.message ? err.message : err));
    $("#updated").innerHTML = `<span class="error">${String(err.message || err).replace(/</g, "&lt;")}</span>`;
  }
  refresh().then(() => { window.__dashboard.ready = true; }, report);
  setInterval(() => refresh().catch(report), 10000);
})();
