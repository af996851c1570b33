/**
 * OHTTP replay (issue 17 item 5), over real HTTP (relay and gateway servers; for the crash, a
 * gateway process that is SIGKILLed). The attacker is the relay, or anyone who captured an
 * encapsulated request: they send the same bytes again, later, or after the gateway restarted.
 * A replay that is answered runs (and bills) the inference twice and settles a second receipt.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import pino from "pino";
import { bytesToHex } from "viem";
import {
  MEDIA_TYPE_OHTTP_REQUEST,
  MEDIA_TYPE_OHTTP_RESPONSE,
  PROBLEM_DATE,
  createOhttpClient,
  decapsulateResponse,
  decodeResponse,
  encapsulateRequest,
  encodeRequest,
  generateKeyPair,
  getField,
  importClientKey,
  type BhttpResponse,
  type OhttpClientContext,
  type OhttpKeyPair,
} from "../../sdk/ohttp/index.js";
import { listen } from "../../gateway/index.js";
import { createDemoApp } from "../../gateway/demo/server.js";
import { LocalModel, type ModelBackend } from "../../gateway/demo/backend.js";
import { createOhttpGateway, type OhttpGatewayOptions } from "../../gateway/ohttp/enclave.js";
import { chatBackend } from "../../gateway/demo/ohttpBackend.js";
import { createRelayApp } from "../../gateway/ohttp/relay.js";
import { root } from "./helpers/chain.js";
import { freePort } from "../../tools/devchain.js";

const silent = pino({ level: "silent" });
const CHAT = JSON.stringify({
  model: "proofpath-local-1",
  messages: [{ role: "user", content: "once, please" }],
  max_tokens: 8,
});
const T0 = Date.parse("2026-12-01T12:00:00Z");

/** The local model, counting what it is asked to run: a replay that is answered runs it again. */
class CountingModel extends LocalModel implements ModelBackend {
  calls = 0;
  override complete(req: Parameters<LocalModel["complete"]>[0]) {
    this.calls++;
    return super.complete(req);
  }
}

/** An encapsulated chat request dated `date` (no date field when null), and its client context. */
async function capture(
  keys: OhttpKeyPair,
  date: number | null,
): Promise<{ req: Uint8Array; context: OhttpClientContext }> {
  const headers: [string, string][] = [["content-type", "application/json"]];
  if (date !== null) headers.push(["date", new Date(date).toUTCString()]);
  const bhttp = encodeRequest({
    method: "POST",
    scheme: "https",
    authority: "gw",
    path: "/v1/chat/completions",
    headers,
    content: new TextEncoder().encode(CHAT),
  });
  const { encapsulatedRequest, context } = await encapsulateRequest(importClientKey(keys.encodedConfig), bhttp);
  return { req: encapsulatedRequest, context };
}

/** What the gateway answered to `req`: an outer problem (status, type), or the decrypted inner response. */
async function send(
  url: string,
  r: { req: Uint8Array; context: OhttpClientContext },
): Promise<{ outer: number; problem?: string; inner?: BhttpResponse }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": MEDIA_TYPE_OHTTP_REQUEST },
    body: r.req as Uint8Array<ArrayBuffer>,
  });
  if (res.headers.get("content-type") !== MEDIA_TYPE_OHTTP_RESPONSE)
    return { outer: res.status, problem: ((await res.json()) as { type: string }).type };
  const inner = decodeResponse(await decapsulateResponse(r.context, new Uint8Array(await res.arrayBuffer())));
  return { outer: res.status, inner };
}

/** Refused for its date, inside the encryption, with the gateway's date (RFC 9458 §6.5.2). */
function assertDateRefused(got: { outer: number; inner?: BhttpResponse }, gatewayNow: number): void {
  assert.equal(got.outer, 200, "the relay learns nothing: the refusal travels encrypted");
  assert.equal(got.inner?.status, 400);
  assert.equal(getField(got.inner!.headers, "content-type"), "application/problem+json");
  assert.equal((JSON.parse(new TextDecoder().decode(got.inner!.content)) as { type: string }).type, PROBLEM_DATE);
  assert.equal(
    getField(got.inner!.headers, "date"),
    new Date(gatewayNow).toUTCString(),
    "tells the client the gateway's date",
  );
}

describe("ohttp replay: a captured request is answered once", function () {
  this.timeout(60_000);
  let dir: string;
  let keys: OhttpKeyPair;
  let now = T0;
  const closers: (() => Promise<void>)[] = [];

  /** Gateway (clock `now`) behind a relay; `replayStore` is the cache file, or memory only. */
  async function start(o: Partial<OhttpGatewayOptions> & { maxEntries?: number } = {}) {
    const backend = new CountingModel();
    const ohttp = await createOhttpGateway({
      keys,
      backend: chatBackend(backend),
      logger: silent,
      replay: { now: () => now, maxEntries: o.maxEntries ?? 1000 },
      ...o,
    });
    const gw = await listen(createDemoApp({ backend, logger: silent, ohttp }));
    const relay = await listen(createRelayApp({ gatewayUrl: `http://127.0.0.1:${gw.port}`, logger: silent }));
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await relay.close();
      await gw.close();
      ohttp.close();
    };
    closers.push(close);
    return { relayUrl: `http://127.0.0.1:${relay.port}/`, backend, close };
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "pp-replay-"));
    keys = generateKeyPair({ keyId: 3 });
    now = T0;
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it("test_replay_withoutDate_refused_reverts", async () => {
    const gw = await start();
    const captured = await capture(keys, null);
    assertDateRefused(await send(gw.relayUrl, captured), now);
    now += 61_000; // the attack that worked: 60 s later the in-memory cache had forgotten it
    assertDateRefused(await send(gw.relayUrl, captured), now);
    assert.equal(gw.backend.calls, 0, "the model never ran");
  });

  it("test_replay_after60s_refused_reverts", async () => {
    const gw = await start();
    for (const date of [now, null]) {
      const captured = await capture(keys, date);
      const first = await send(gw.relayUrl, captured);
      if (date !== null) assert.equal(first.inner?.status, 200);
      now += 61_000;
      // Other users' traffic meanwhile (it is what makes a cache forget).
      assert.equal((await send(gw.relayUrl, await capture(keys, now))).inner?.status, 200);
      const again = await send(gw.relayUrl, captured);
      assert.notEqual(
        again.inner?.status,
        200,
        `replay of a request ${date === null ? "without a date" : "dated"} answered after 61 s`,
      );
    }
    assert.equal(gw.backend.calls, 3, "the dated request once, and the other users' two");
  });

  it("test_replay_after60sWithinWindow_refused_reverts", async () => {
    // A client whose clock runs 50 s ahead: its request stays inside the window for 110 s.
    const gw = await start();
    const captured = await capture(keys, now + 50_000);
    assert.equal((await send(gw.relayUrl, captured)).inner?.status, 200);
    now += 61_000;
    const again = await send(gw.relayUrl, captured);
    assert.equal(again.outer, 400);
    assert.match(again.problem!, /ohttp\/replay$/);
    assert.equal(gw.backend.calls, 1);
  });

  it("test_replay_afterGatewayRestart_refused_reverts", async () => {
    const replayStore = { file: path.join(dir, "replay.db") };
    const first = await start({ replayStore });
    const captured = await capture(keys, now);
    assert.equal((await send(first.relayUrl, captured)).inner?.status, 200);
    await first.close();
    now += 5_000;
    const restarted = await start({ replayStore });
    const again = await send(restarted.relayUrl, captured);
    assert.equal(again.outer, 400, "answered again after a restart");
    assert.match(again.problem!, /ohttp\/replay$/);
    assert.equal(restarted.backend.calls, 0);
    // A fresh request is still served.
    assert.equal((await send(restarted.relayUrl, await capture(keys, now))).inner?.status, 200);
  });

  it("test_replay_oldDatedRequest_refusedWithServerDate_reverts", async () => {
    const gw = await start();
    assertDateRefused(await send(gw.relayUrl, await capture(keys, now - 3_600_000)), now);
    assertDateRefused(await send(gw.relayUrl, await capture(keys, now + 3_600_000)), now);
    // The SDK client retries once with the gateway's date (a fresh encryption) and is served.
    let posts = 0;
    const client = createOhttpClient({
      keyConfig: keys.encodedConfig,
      relayUrl: gw.relayUrl,
      now: () => now - 3_600_000,
      fetch: ((url: string, init?: RequestInit) => (posts++, fetch(url, init))) as typeof fetch,
    });
    const res = await client.request("POST", "/v1/chat/completions", { "content-type": "application/json" }, CHAT);
    assert.equal(res.status, 200);
    assert.equal(posts, 2, "one refusal, one retry");
    assert.equal(gw.backend.calls, 1);
  });

  it("test_replay_cacheFull_refused503_diskBounded_reverts", async () => {
    const file = path.join(dir, "replay.db");
    const first = await start({ replayStore: { file }, maxEntries: 3 });
    const captured = await Promise.all([now, now, now, now + 1_000].map((d) => capture(keys, d)));
    for (const c of captured) assert.equal((await send(first.relayUrl, c)).inner?.status, 200);
    // The 4th evicted the oldest: nothing dated as late as it may pass any more, replay or not.
    const full = await send(first.relayUrl, await capture(keys, now));
    assert.equal(full.outer, 503);
    assert.match(full.problem!, /ohttp\/replay-cache-full$/);
    await first.close();
    const rows = () => {
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        return (db.prepare("SELECT count(*) AS n FROM seen").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    assert.ok(rows() <= 3, "the disk holds no more than the cache");
    // After a restart the evicted request is still refused (the floor is durable), the rest too.
    const restarted = await start({ replayStore: { file }, maxEntries: 3 });
    for (const c of captured) assert.notEqual((await send(restarted.relayUrl, c)).outer, 200);
    // Once the window has passed, a new request is served and the old rows are pruned.
    now += 62_000;
    assert.equal((await send(restarted.relayUrl, await capture(keys, now))).inner?.status, 200);
    await restarted.close();
    assert.equal(rows(), 1);
    assert.equal(first.backend.calls + restarted.backend.calls, 5);
  });
});

describe("ohttp replay: across a gateway crash (SIGKILL, real process)", function () {
  this.timeout(120_000);
  let dir: string;
  let child: ChildProcess | undefined;

  after(() => {
    child?.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the gateway process and waits until it serves. */
  function startChild(env: Record<string, string>): Promise<ChildProcess> {
    const proc = spawn(
      process.execPath,
      ["--import", "tsx", path.join(root, "test/gateway/fixtures/ohttpGatewayChild.ts")],
      {
        cwd: root,
        env: { ...process.env, NODE_NO_WARNINGS: "1", PROOFPATH_OHTTP_CHILD: "1", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let err = "";
    proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) => {
      proc.stdout!.on("data", (d: Buffer) => d.toString().includes("LISTENING") && resolve(proc));
      proc.once("exit", (code) => reject(new Error(`gateway exited (${code}): ${err}`)));
    });
  }
  const killed = (p: ChildProcess) =>
    new Promise<void>((r) =>
      p.exitCode !== null || p.signalCode !== null ? r() : (p.once("exit", () => r()), p.kill("SIGKILL")),
    );

  it("test_replay_afterGatewayCrash_refused_reverts", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "pp-replay-crash-"));
    const keys = generateKeyPair({ keyId: 1 });
    const port = await freePort();
    const env = { OHTTP_KEY: bytesToHex(keys.privateKey), REPLAY_DB: path.join(dir, "replay.db"), PORT: String(port) };
    const url = `http://127.0.0.1:${port}/ohttp`;

    child = await startChild(env);
    const captured = await capture(keys, Date.now());
    assert.equal((await send(url, captured)).inner?.status, 200);
    await killed(child); // at once: no shutdown, nothing flushed after the answer
    child = await startChild(env);
    const again = await send(url, captured);
    assert.equal(again.outer, 400, "answered again after the crash");
    assert.match(again.problem!, /ohttp\/replay$/);
    await killed(child);
  });
});
