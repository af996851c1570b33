/**
 * HTTP fuzz (fast-check, ≥ 1,000 runs): arbitrary paths, ids, encodings and methods against the
 * hook's Hono app never produce a 5xx or crash the process, and every answer is JSON with a message.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { recordCalls, testHook } from "./helpers/hookRun.js";
import { newLedger } from "./helpers/verify.js";
import { request } from "node:http";
import { createHookApp, listen, type SettlementHook } from "../../gateway/index.js";

/** One raw HTTP request (the path goes on the wire as is); undefined when a client could not send it. */
function send(port: number, p: string, method: string): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = request({ host: "127.0.0.1", port, path: p, method, agent: false }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
    } catch {
      return resolve(undefined); // e.g. unescaped characters: not a valid HTTP request line
    }
    req.on("error", reject);
    req.end();
  });
}

describe("gateway HTTP fuzz", function () {
  this.timeout(180_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let hook: SettlementHook;

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "pp-http-"));
    hook = await testHook({
      store: path.join(dir, "gw.db"),
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
    });
    await recordCalls(hook, 150, newLedger());
    await hook.flush();
  });
  after(async () => {
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_http_fuzz_1000Runs_no5xx_succeeds", async () => {
    // The fuzz is about answers, not limits: one client sends everything, far above the default rate.
    const server = await listen(
      createHookApp(hook, { perClient: { rate: 1e6, burst: 1e6 }, global: { rate: 1e6, burst: 1e6 } }),
    );
    const id = fc.oneof(
      fc.nat({ max: 400 }).map(String),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        "",
        "-0",
        "0x10",
        "1e3",
        "١٢",
        "%00",
        "%ZZ",
        "%2F..%2F",
        "NaN",
        "Infinity",
        " 1",
        "1 ",
        "00",
        "9007199254740993",
        "💥",
      ),
    );
    const route = fc.oneof(
      id.map((x) => `/receipts/${x}`),
      id.map((x) => `/batches/${x}`),
      fc
        .tuple(fc.constantFrom("/receipts", "/batches", "/metrics", "/health", "/"), fc.string({ maxLength: 20 }))
        .map(([a, b]) => a + b),
      fc.webPath(),
    );
    const method = fc.constantFrom("GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS");
    let runs = 0;
    try {
      await fc.assert(
        fc.asyncProperty(route, method, async (p, m) => {
          runs++;
          const url = p.startsWith("/") ? p : `/${p}`;
          const res = await send(server.port, url, m);
          if (!res) return;
          assert.ok(res.status < 500, `${m} ${url} -> ${res.status} ${res.body}`);
          // An empty 400 comes from Node's HTTP parser (malformed request line), before the app.
          if (m !== "HEAD" && res.status >= 400 && !(res.status === 400 && res.body === "")) {
            const body = JSON.parse(res.body) as { message?: string };
            assert.equal(typeof body.message, "string", `${m} ${url}: ${res.body}`);
          }
        }),
        { numRuns: Number(process.env.FUZZ_RUNS ?? 1_000), seed: 42 },
      );
      // The server is still up and answering after the fuzz.
      assert.equal((await send(server.port, "/receipts/3", "GET"))?.status, 200);
    } finally {
      await server.close();
    }
    assert.ok(runs >= 1_000 || process.env.FUZZ_RUNS !== undefined);
  });
});
