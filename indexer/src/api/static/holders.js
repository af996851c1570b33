// proofpath token-holder view: where the fees went (burn, treasury, validators) over the network's
// whole life, who pays them (gateways by fees) and who earns them (validators), from the REST API.
// Buckets adapt to the data's span so the first screen is useful after an hour and after years.

(() => {
  const $ = (s) => document.querySelector(s);
  const OPG = 1e18;
  const palette = ["#c92a2a", "#3b5bdb", "#2f9e44", "#e8590c", "#ae3ec9"];
  const HOUR = 3600;
  const DAY = 86400;
  const state = { config: { models: {}, explorerUrl: null, chain: { id: 0, name: "" } }, charts: {} };
  window.__holders = { ready: false, errors: [], bucketFor };

  // The page's own ?chainId= picks the chain on an indexer following several (default: its first).
  const chainId = new URLSearchParams(location.search).get("chainId");
  async function get(path) {
    const url = chainId ? `${path}${path.includes("?") ? "&" : "?"}chainId=${encodeURIComponent(chainId)}` : path;
    const res = await fetch(url);
    const body = await res.json();
    if (!res.ok) throw new Error(`${path}: ${body.field || ""} ${body.reason || body.error || res.status}`);
    return body;
  }
  const esc = (v) => String(v).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const short = (hex) => (hex && hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex);
  const fmt = (n, d = 0) => Number(n).toLocaleString(undefined, { maximumFractionDigits: d });
  // Small amounts keep three significant digits (a young network's fees are fractions of an OPG).
  const num = (x, d) => (x !== 0 && Math.abs(x) < 10 ** -d ? Number(x.toPrecision(3)).toString() : fmt(x, d));
  const opg = (wei, d = 4) => num(Number(wei) / OPG, d);
  const tick = (v) => (v === 0 ? "0" : Math.abs(v) >= 1000 ? fmt(v) : Number(v.toPrecision(3)).toString());
  const link = (kind, v, text) => {
    const base = state.config.explorerUrl;
    return base
      ? `<a href="${esc(`${base}/${kind}/${v}`)}" rel="noreferrer" target="_blank" title="${esc(v)}">${esc(text ?? v)}</a>`
      : `<span title="${esc(v)}">${esc(text ?? v)}</span>`;
  };
  const modelName = (id) => state.config.models[String(id).toLowerCase()] ?? short(id);

  /**
   * The bucket for data spanning `spanSec`: hours up to three days (≤ 72 points), days up to
   * ~four months, weeks beyond (a year is 52 points). The API rolls up by hour and day; weeks are
   * summed here from days.
   */
  function bucketFor(spanSec) {
    if (spanSec <= 3 * DAY) return { name: "hour", granularity: "hour", size: HOUR };
    if (spanSec <= 120 * DAY) return { name: "day", granularity: "day", size: DAY };
    return { name: "week", granularity: "day", size: 7 * DAY };
  }

  /** Sums rows (bucket + numeric-string columns) into buckets of `size` seconds. */
  function regroup(rows, size, cols) {
    const out = new Map();
    for (const r of rows) {
      const b = Math.floor(Number(r.bucket) / size) * size;
      const acc = out.get(b) ?? Object.fromEntries(cols.map((c) => [c, 0]));
      for (const c of cols) acc[c] += Number(r[c]);
      out.set(b, acc);
    }
    return [...out].sort((a, b) => a[0] - b[0]).map(([bucket, v]) => ({ bucket, ...v }));
  }

  function draw(id, x, series, yLabel, pad) {
    const el = document.getElementById(id);
    el.dataset.points = String(x.length);
    if (state.charts[id]) state.charts[id].destroy();
    el.innerHTML = x.length ? "" : '<p class="muted">no fees distributed yet: batches pay out when they finalize</p>';
    if (!x.length) return;
    state.charts[id] = new uPlot(
      {
        width: Math.max(320, el.clientWidth || 480),
        height: 240,
        scales: { x: { time: true, range: () => [x[0] - pad, x[x.length - 1] + pad] } },
        axes: [
          {},
          { label: yLabel, size: 70, values: (u, vals) => vals.map(tick) },
          // A series with its own scale (calls beside OPG) gets its own axis on the right.
          ...series
            .filter((s) => s.scale)
            .map((s) => ({
              scale: s.scale,
              side: 1,
              label: s.label,
              size: 60,
              grid: { show: false },
              values: (u, vals) => vals.map(tick),
            })),
        ],
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: palette[i % palette.length],
            width: 2,
            points: { show: x.length < 60 },
            ...(s.scale ? { scale: s.scale } : {}),
          })),
        ],
      },
      [x, ...series.map((s) => s.values)],
      el,
    );
  }

  const humanSpan = (s) =>
    s < 2 * HOUR ? `${fmt(s / 60)} min` : s < 3 * DAY ? `${fmt(s / HOUR, 1)} h` : `${fmt(s / DAY)} days`;

  async function refresh() {
    // The whole life in days first (one row per day, at most ~10k): it gives the span.
    const days = (await get("/network/activity?granularity=day&from=0")).items;
    const stats = await get("/network/stats");
    const now = Math.floor(Date.now() / 1000);
    let first = days.length ? Number(days[0].bucket) : now;
    let bucket = bucketFor(Math.max(HOUR, now - first));
    let rows = days;
    if (bucket.granularity === "hour") {
      // Young network: hours, and the span from its first hour rather than its first day.
      rows = (await get(`/network/activity?granularity=hour&from=${first}`)).items;
      if (rows.length) first = Number(rows[0].bucket);
      bucket = bucketFor(Math.max(HOUR, now - first));
    }
    const span = Math.max(HOUR, now - first);
    const cols = ["calls", "feesDistributed", "burned", "toTreasury", "toValidators"];
    const series = regroup(rows, bucket.size, cols);
    document.body.dataset.bucket = bucket.name;
    for (const el of document.querySelectorAll(".bucket-name")) el.textContent = bucket.name;
    $("#span").textContent = `${humanSpan(span)} of data, in ${bucket.name} buckets`;

    const escrowed = BigInt(stats.feesSubmitted) - BigInt(stats.feesPaid);
    const tiles = [
      ["OPG burned", opg(stats.burned)],
      ["fees distributed (OPG)", opg(stats.feesPaid)],
      ["to the treasury (OPG)", opg(stats.toTreasury)],
      ["to validators (OPG)", opg(stats.toValidators)],
      ["in escrow, not yet final (OPG)", opg(escrowed > 0n ? escrowed : 0n)],
      ["calls settled", fmt(stats.callsSettled)],
      ["validator stake (OPG)", opg(stats.validatorStake, 2)],
      [
        "slashed + penalized (OPG)",
        opg(BigInt(stats.slashed) + BigInt(stats.bondPenalized) + BigInt(stats.stakeSlashed), 2),
      ],
    ];
    $("#tiles").innerHTML = tiles
      .map(([k, v]) => `<div class="tile"><div class="v">${v}</div><div class="k">${k}</div></div>`)
      .join("");

    const paid = series.filter((r) => r.feesDistributed > 0 || r.calls > 0);
    const x = series.map((r) => r.bucket);
    const cum = (c) => {
      let t = 0;
      return series.map((r) => (t += r[c] / OPG));
    };
    const withFees = series.some((r) => r.feesDistributed > 0);
    draw(
      "chart-flows",
      withFees ? x : [],
      [
        { label: "burned", values: cum("burned") },
        { label: "treasury", values: cum("toTreasury") },
        { label: "validators", values: cum("toValidators") },
      ],
      "OPG",
      bucket.size,
    );
    draw(
      "chart-fees",
      paid.map((r) => r.bucket),
      [
        { label: "fees distributed (OPG)", values: paid.map((r) => r.feesDistributed / OPG) },
        { label: "calls", values: paid.map((r) => r.calls), scale: "calls" },
      ],
      "OPG",
      bucket.size,
    );

    const [gateways, validators, models] = await Promise.all([
      get("/gateways?limit=1000"),
      get("/validators?limit=1000"),
      get(`/models/usage?granularity=day&from=${first}`),
    ]);
    const ranked = [...gateways.items].sort((a, b) =>
      BigInt(b.fees) > BigInt(a.fees) ? 1 : BigInt(b.fees) < BigInt(a.fees) ? -1 : 0,
    );
    const totalFees = ranked.reduce((n, g) => n + Number(g.fees), 0);
    $("#gateways tbody").innerHTML = ranked
      .map(
        (g, i) =>
          `<tr data-address="${esc(g.address)}" data-fees="${esc(g.fees)}"><td>${i + 1}</td><td>${link("address", g.address, short(g.address))}</td><td><span class="status ${esc(g.status)}">${esc(g.status)}</span></td><td>${opg(g.fees)}</td><td>${totalFees ? `${fmt((100 * Number(g.fees)) / totalFees, 1)} %` : "—"}</td><td>${fmt(g.calls)}</td><td>${esc(g.batches)}</td><td>${esc(g.rejectedBatches)}</td><td>${opg(g.bond, 2)}</td><td>${BigInt(g.slashed) + BigInt(g.bondPenalized) > 0n ? opg(BigInt(g.slashed) + BigInt(g.bondPenalized), 2) : "—"}</td></tr>`,
      )
      .join("");
    const q = validators.quorum;
    $("#quorum").textContent =
      `quorum ${q.effective} of ${q.active} active; active stake ${opg(validators.activeStake, 2)} OPG`;
    $("#validators tbody").innerHTML = validators.items
      .map(
        (v) =>
          `<tr data-address="${esc(v.address)}" data-status="${esc(v.status)}"><td>${link("address", v.address, short(v.address))}</td><td><span class="status ${esc(v.status)}">${esc(v.status)}</span></td><td>${opg(v.stake, 2)}</td><td>${esc(v.attestations)}</td><td>${opg(v.rewardsEarned, 6)}</td><td>${opg(v.rewardsClaimed, 6)}</td><td>${v.slashes > 0 ? `${esc(v.slashes)}× (${opg(v.slashedAmount, 2)} OPG${v.banned ? ", banned" : ""})` : "—"}</td></tr>`,
      )
      .join("");
    const byModel = new Map();
    for (const r of models.items) {
      const m = byModel.get(r.modelId) ?? { calls: 0, inputTokens: 0, outputTokens: 0, fees: 0 };
      for (const c of ["calls", "inputTokens", "outputTokens", "fees"]) m[c] += Number(r[c]);
      byModel.set(r.modelId, m);
    }
    $("#models tbody").innerHTML = [...byModel]
      .sort((a, b) => b[1].calls - a[1].calls)
      .map(
        ([id, m]) =>
          `<tr data-model="${esc(id)}"><td title="${esc(id)}">${esc(modelName(id))}</td><td>${fmt(m.calls)}</td><td>${fmt(m.inputTokens)}</td><td>${fmt(m.outputTokens)}</td><td>${opg(m.fees)}</td></tr>`,
      )
      .join("");
  }

  function report(err) {
    window.__holders.errors.push(String(err?.message ? err.message : err));
    $("#span").innerHTML = `<span class="error">${String(err.message || err).replace(/</g, "&lt;")}</span>`;
  }
  get("/config")
    .then((c) => {
      state.config = c;
      $("#chain").textContent = `${c.chain.name} (chain ${c.chain.id})`;
    })
    .then(refresh)
    .then(() => {
      window.__holders.ready = true;
    }, report);
  setInterval(() => refresh().catch(report), 30000);
})();
