/**
 * The streamed half of the boundary benchmark (called by scripts/bench/boundary.ts, same run, same
 * process and machine): an OpenAI-style `stream: true` chat answered as server-sent events
 *   - over OHTTP: chunked request → relay → enclave → chunked response, the client's `stream()`
 *   - directly: the same handler (`chatBackend`, same LocalModel) served as plain HTTP SSE on the
 *     gateway, read with the same undici transport — the boundary is the only difference;
 * interleaved call by call. Time to first token = request start → first content piece in the
 * client's hands; time to last token = → end of stream. Then relay memory: 10,000 OHTTP streams
 * through a relay running in its own process (gateway/ohttp/relayMain.ts), its RSS read from /proc
 * every 1,000 streams.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Hono } from "hono";
import type { OhttpBackend } from "../../gateway/ohttp/backend.js";
import { listen } from "../../gateway/index.js";
import { createNodeStreamPost } from "../../sdk/ohttp/transport.js";
import type { OhttpClient } from "../../sdk/ohttp/index.js";
import { pct } from "./quantile.js";

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const q = (xs: number[]) => ({ p50: r3(pct(xs, 50)), p99: r3(pct(xs, 99)) });

/** The handler served as plain HTTP: the direct streamed call. */
export async function directStreamServer(backend: OhttpBackend) {
  const app = new Hono();
  app.post("/v1/chat/completions", async (c) => {
    const ac = new AbortController();
    const r = await backend.handle({
      method: "POST",
      path: "/v1/chat/completions",
      headers: [],
      content: new Uint8Array(await c.req.arrayBuffer()),
      signal: ac.signal,
    });
    const body = r.body;
    if (body instanceof Uint8Array) return c.body(body as Uint8Array<ArrayBuffer>, r.status as 200, r.headers);
    const it = body[Symbol.asyncIterator]();
    const stream = new ReadableStream<Uint8Array>(
      {
        async pull(ctrl) {
          const n = await it.next();
          if (n.done) ctrl.close();
          else ctrl.enqueue(n.value);
        },
        cancel: () => ac.abort(),
      },
      { highWaterMark: 0 },
    );
    return c.body(stream, r.status as 200, r.headers);
  });
  return listen(app);
}

export async function benchStreams(o: {
  client: OhttpClient;
  directUrl: string;
  calls: number;
  warmup: number;
  body: (i: number) => string;
}) {
  const post = createNodeStreamPost()!;
  const utf8 = new TextEncoder();
  const direct = async (body: string) => {
    const t0 = performance.now();
    const res = await post(o.directUrl, { "content-type": "application/json" }, utf8.encode(body));
    let first = 0;
    for await (const _ of res.body) first ||= performance.now() - t0;
    return [first, performance.now() - t0] as const;
  };
  const viaOhttp = async (body: string) => {
    const t0 = performance.now();
    const res = await o.client.stream("POST", "/v1/chat/completions", { "content-type": "application/json" }, body);
    let first = 0;
    for await (const _ of res.body) first ||= performance.now() - t0;
    await res.done;
    return [first, performance.now() - t0] as const;
  };
  const d = { ttft: [] as number[], last: [] as number[] };
  const s = { ttft: [] as number[], last: [] as number[] };
  const pairedTtft: number[] = [];
  for (let i = 0; i < o.warmup + o.calls; i++) {
    const body = o.body(i);
    const first = i % 2 === 0;
    const a = first ? await direct(body) : await viaOhttp(body);
    const b = first ? await viaOhttp(body) : await direct(body);
    if (i < o.warmup) continue;
    const [dr, sr] = first ? [a, b] : [b, a];
    d.ttft.push(dr[0]);
    d.last.push(dr[1]);
    s.ttft.push(sr[0]);
    s.last.push(sr[1]);
    pairedTtft.push(sr[0] - dr[0]);
  }
  return {
    callsPerSide: o.calls,
    directStreamMs: { firstToken: q(d.ttft), lastToken: q(d.last) },
    ohttpStreamMs: { firstToken: q(s.ttft), lastToken: q(s.last) },
    ttftOverheadMs: {
      p50: r3(pct(s.ttft, 50) - pct(d.ttft, 50)),
      p99: r3(pct(s.ttft, 99) - pct(d.ttft, 99)),
      pairedP50: r3(pct(pairedTtft, 50)),
      pairedP99: r3(pct(pairedTtft, 99)),
    },
  };
}

/** RSS of a process in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** `streams` OHTTP streams through a relay in its own process; its RSS every 1,000. */
export async function relayMemory(o: {
  root: string;
  gatewayUrl: string;
  port: number;
  makeClient: (relayUrl: string) => OhttpClient;
  streams: number;
  concurrency: number;
  body: (i: number) => string;
}) {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(o.root, "gateway/ohttp/relayMain.ts")], {
    env: {
      ...process.env,
      PROOFPATH_RELAY_GATEWAY_URL: o.gatewayUrl,
      PROOFPATH_RELAY_PORT: String(o.port),
      PROOFPATH_RELAY_LOG_LEVEL: "warn",
    },
    stdio: "ignore",
  });
  try {
    const relayUrl = `http://127.0.0.1:${o.port}/`;
    for (let t0 = Date.now(); ; ) {
      try {
        if ((await fetch(`${relayUrl}health`)).ok) break;
      } catch {}
      if (Date.now() - t0 > 30_000) throw new Error("relay did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
    const client = o.makeClient(relayUrl);
    const samples: { streams: number; rssMiB: number }[] = [{ streams: 0, rssMiB: r3(rssMiB(child.pid!)) }];
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (let i = next++; i < o.streams; i = next++) {
        const res = await client.stream(
          "POST",
          "/v1/chat/completions",
          { "content-type": "application/json" },
          o.body(i),
        );
        for await (const _ of res.body);
        await res.done;
        if (++done % 1000 === 0) samples.push({ streams: done, rssMiB: r3(rssMiB(child.pid!)) });
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const after1k = samples.find((x) => x.streams === 1000)!.rssMiB;
    const last = samples.at(-1)!.rssMiB;
    return {
      streams: o.streams,
      concurrency: o.concurrency,
      rssMiB: samples,
      growthAfterFirst1kMiB: r3(last - after1k),
    };
  } finally {
    child.kill("SIGTERM");
  }
}
