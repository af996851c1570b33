// proofpath dashboard: reads the REST API of the same origin and draws uPlot charts.

(() => {
  const $ = (s) => document.querySelector(s);
  const OPG = 1e18;
  const palette = ["#3b5bdb", "#e8590c", "#2f9e44", "#ae3ec9", "#1098ad", "#f08c00", "#c2255c", "#5c940d"];
  const charts = {};
  window.__dashboard = { charts, ready: false, errors: [] };

  // The page's own ?chainId= picks the chain on an indexer following several (default: its first).
  const chainId = new URLSearchParams(location.search).get("chainId");
  async function get(path) {
    const url = chainId ? `${path}${path.includes("?") ? "&" : "?"}chainId=${encodeURIComponent(chainId)}` : path;
    const res = await fetch(url);
    const body = await res.json();
    if (!res.ok) throw new Error(`${path}: ${body.field || ""} ${body.reason || body.error || res.status}`);
    return body;
  }

  // Everything from the chain is untrusted (daURI is any string a gateway chose): escape before HTML.
  const esc = (v) => String(v).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const short = (hex) => (hex && hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex);
  const fmt = (n, d = 0) => Number(n).toLocaleString(undefined, { maximumFractionDigits: d });
  const opg = (wei, d = 2) => fmt(Number(wei) / OPG, d);
  const when = (s) => (s == null ? "—" : new Date(Number(s) * 1000).toLocaleString());

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
      scales: {
        x: {
          time: true,
          range: () => {
            const p = PERIOD[$("#granularity").value];
            return [x[0] - p, x[x.length - 1] + p];
          },
        },
      },
      axes: [{}, { label: yLabel, size: 70, values: (u, vals) => vals.map(tick) }],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: palette[i % palette.length],
          width: 2,
          points: { show: x.length < 60 },
        })),
      ],
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

  let config = { models: {}, explorerUrl: null, chain: { name: "", id: 0 } };
  const modelName = (id) => config.models[String(id).toLowerCase()] ?? short(id);
  const secs = (ms) => (ms == null ? "—" : `${fmt(Number(ms) / 1000, 1)} s`);

  async function refresh() {
    const g = $("#granularity").value;
    const [stats, activity, gateways, models, recent, validators] = await Promise.all([
      get("/network/stats"),
      get(`/network/activity?granularity=${g}`),
      get("/gateways?limit=50"),
      get(`/models/usage?granularity=${g}`),
      get("/batches?limit=12"),
      get("/validators?limit=100"),
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
      ["active validators", fmt(stats.activeValidators)],
      ["validator stake (OPG)", fmt(Number(stats.validatorStake) / OPG, 2)],
      ["stake slashed (OPG)", fmt(Number(stats.stakeSlashed) / OPG, 2)],
      ["bond penalties + slashes (OPG)", fmt((Number(stats.bondPenalized) + Number(stats.slashed)) / OPG, 2)],
    ];
    $("#tiles").innerHTML = tiles
      .map(([k, v]) => `<div class="tile"><div class="v">${v}</div><div class="k">${k}</div></div>`)
      .join("");

    const a = activity.items;
    const ax = a.map((r) => Number(r.bucket));
    draw(
      "chart-activity",
      ax,
      [
        { label: "calls", values: a.map((r) => Number(r.calls)) },
        { label: "batches", values: a.map((r) => Number(r.batches)) },
      ],
      "count",
    );
    draw(
      "chart-status",
      ax,
      [
        { label: "attested", values: a.map((r) => r.attested) },
        { label: "finalized", values: a.map((r) => r.finalized) },
        { label: "rejected", values: a.map((r) => r.rejected) },
      ],
      "batches",
    );
    const lat = a.filter((r) => r.latencyCount > 0);
    draw(
      "chart-latency",
      lat.map((r) => Number(r.bucket)),
      [{ label: "avg latency (s)", values: lat.map((r) => Number(r.latencySumMs) / r.latencyCount / 1000) }],
      "seconds",
    );

    const usage = await Promise.all(
      gateways.items.slice(0, 8).map((gw) => get(`/gateways/${gw.address}/usage?granularity=${g}`)),
    );
    const feeRows = usage.flatMap((u) => u.buckets.map((b) => ({ ...b, gateway: u.gateway })));
    const fees = pivot(
      feeRows,
      (r) => short(r.gateway),
      (r) => Number(r.fees) / OPG,
    );
    draw("chart-fees", fees.x, fees.series, "OPG");
    const m = pivot(
      models.items,
      (r) => modelName(r.modelId),
      (r) => Number(r.calls),
    );
    draw("chart-models", m.x, m.series, "calls");

    $("#batches tbody").innerHTML = recent.items
      .map(
        (b) =>
          `<tr data-status="${esc(b.status)}"><td title="${esc(b.id)}">${esc(short(b.gateway))}:${esc(b.batchSeq)}</td><td>${esc(b.calls)}</td><td><span class="status ${esc(b.status)}">${esc(b.status)}</span></td><td>${when(b.submittedAt)}</td><td>${b.status === "attested" ? when(b.windowEnd) : b.final ? '<span class="final">final</span>' : "—"}</td></tr>`,
      )
      .join("");

    const q = validators.quorum;
    $("#quorum").textContent =
      `quorum ${q.effective} of ${q.active} active (configured ${q.configured}; never below a strict majority)` +
      `${BigInt(q.effective) > BigInt(q.active) ? " — too few active validators for a quorum" : ""}; active stake ${opg(validators.activeStake)} OPG`;
    $("#validators tbody").innerHTML = validators.items
      .map(
        (v) =>
          `<tr data-address="${esc(v.address)}" data-status="${esc(v.status)}"><td title="${esc(v.address)}">${esc(short(v.address))}</td><td><span class="status ${esc(v.status)}">${esc(v.status)}</span></td><td>${opg(v.stake)}</td><td>${esc(v.attestations)}</td><td>${opg(v.rewardsEarned, 6)}</td><td>${opg(v.rewardsClaimed, 6)}</td><td>${v.slashes > 0 ? `${opg(v.slashedAmount)} (${esc(v.slashes)}×${v.banned ? ", banned" : ""})` : "—"}</td><td>${when(v.joinedAt)}</td><td>${v.exitingAt ? `${when(v.exitingAt)} / ${when(v.unlockAt)}` : "—"}</td></tr>`,
      )
      .join("");
    $("#gateways tbody").innerHTML = gateways.items
      .map(
        (gw) =>
          `<tr data-address="${esc(gw.address)}" data-status="${esc(gw.status)}"><td title="${esc(gw.address)}">${esc(short(gw.address))}</td><td><span class="status ${esc(gw.status)}">${esc(gw.status)}${gw.banned ? " (banned)" : ""}</span></td><td>${opg(gw.bond)}</td><td>${gw.bondPenalties > 0 ? `${opg(gw.bondPenalized)} (${esc(gw.bondPenalties)}×)` : "—"}</td><td>${BigInt(gw.slashed) > 0n ? opg(gw.slashed) : "—"}</td><td>${esc(gw.batches)}</td><td>${esc(gw.rejectedBatches)}</td><td>${fmt(gw.calls)}</td><td>${opg(gw.fees, 6)}</td></tr>`,
      )
      .join("");
    if (!$("#lookup-form").gateway.value && recent.items[0])
      $("#lookup-form").gateway.placeholder = recent.items[0].gateway;
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
      const lines = [
        `<span class="status ${esc(r.status)}" data-status="${esc(r.status)}">${esc(r.status)}</span> ` +
          (r.final
            ? '<span class="final" data-final="true">final</span>'
            : '<span class="not-final" data-final="false">not final</span>'),
      ];
      if (r.status === "attested" && r.times.windowEnd)
        lines.push(`challenge window ends ${when(r.times.windowEnd)}; final once finalized after it`);
      if (r.status === "submitted")
        lines.push("waiting for validators to attest; the challenge window starts at attestation");
      if (r.batch) {
        lines.push(
          `batch ${esc(r.batch.id)} (leaf ${esc(r.index)} of ${esc(r.batch.count)}), root ${esc(r.batch.root)}`,
        );
        for (const [k, v] of Object.entries(r.txs)) if (v) lines.push(`${esc(k)} tx ${esc(v)}`);
        if (r.proofLatencyMs != null) lines.push(`proof latency ${(Number(r.proofLatencyMs) / 1000).toFixed(1)} s`);
        if (r.batch.daURI) lines.push(`receipts and proof: ${esc(r.batch.daURI)}`);
      } else lines.push("no settled batch covers this call yet");
      out.innerHTML = lines.join("\n");
    } catch (err) {
      out.className = "error";
      out.textContent = String(err.message || err);
    }
  });

  $("#request-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = $("#lookup-result");
    out.className = "";
    out.textContent = "looking up…";
    try {
      const h = encodeURIComponent(e.target.requestHash.value.trim());
      const r = await get(`/requests/${h}`);
      if (!r.items.length) {
        out.innerHTML = `<span data-found="0">no settled call with this request hash is indexed yet (it appears once its batch is submitted and the gateway's receipts match the root)</span>`;
        return;
      }
      out.innerHTML = r.items
        .map((c) =>
          [
            `<span class="status ${esc(c.status)}" data-status="${esc(c.status)}">${esc(c.status)}</span> ` +
              (c.final
                ? '<span class="final" data-final="true">final</span>'
                : '<span class="not-final" data-final="false">not final</span>') +
              ` call ${esc(c.callSeq)} of gateway ${esc(c.gateway)}`,
            `model ${esc(modelName(c.modelId))}, ${esc(c.inputTokens)} + ${esc(c.outputTokens)} tokens, served ${new Date(Number(c.servedAt)).toLocaleString()}`,
            `<span data-latency="attested">served → attested ${secs(c.servedToAttestedMs)}</span>, <span data-latency="final">served → final ${secs(c.servedToFinalMs)}</span>`,
            `batch ${esc(c.batchId)} (leaf ${esc(c.index)}); receipts and proof: ${esc(c.daURI)}`,
          ].join("\n"),
        )
        .join("\n\n");
    } catch (err) {
      out.className = "error";
      out.textContent = String(err.message || err);
    }
  });

  $("#granularity").addEventListener("change", () => refresh().catch(report));
  function report(err) {
    window.__dashboard.errors.push(String(err?.message ? err.message : err));
    $("#updated").innerHTML = `<span class="error">${String(err.message || err).replace(/</g, "&lt;")}</span>`;
  }
  get("/config")
    .then((c) => {
      config = c;
      $("#chain").textContent = `${c.chain.name} (chain ${c.chain.id})`;
      // An indexer following several chains: a link to each other chain's view of this page.
      const others = (c.chains || []).filter((o) => o.chain.id !== c.chain.id);
      if (others.length > 0)
        $("#chain").insertAdjacentHTML(
          "beforeend",
          ` · ${others.map((o) => `<a href="?chainId=${esc(o.chain.id)}">${esc(o.chain.name)}</a>`).join(" · ")}`,
        );
    })
    .then(refresh)
    .then(() => {
      window.__dashboard.ready = true;
    }, report);
  setInterval(() => refresh().catch(report), 10000);
})();
