/**
 * The DA endpoints served from their own worker thread or child process (gateway/serve/daServer.ts):
 * the same answers as the hook's own routes (signatures only over durable receipts, 409 before,
 * limits, CORS), and a fast path that keeps answering while the DA server is stuck. Every test runs
 * in both modes; a DA process also ends with its gateway process, however that one ends.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Agent, request } from "node:http";
import pino from "pino";
import { keccak256, toHex } from "viem";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { recordCalls, testHook } from "./helpers/hookRun.js";
import { newLedger } from "./helpers/verify.js";
import {
  createHookApp,
  listen,
  startDaServer as startDa,
  type DaServerOptions,
  type SettlementHook,
} from "../../gateway/index.js";
import { createDemoApp } from "../../gateway/demo/server.js";
import { LocalModel } from "../../gateway/demo/backend.js";
import { waitFor } from "../../tools/waitFor.js";

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function send(
  port: number,
  p: string,
  o: { method?: string; body?: string; agent?: Agent; from?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: p,
        method: o.method ?? "GET",
        agent: o.agent ?? false,
        ...(o.from ? { localAddress: o.from } : {}),
        headers: o.body ? { "content-type": "application/json", origin: "https://verify.example" } : {},
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

const CHAT = JSON.stringify({ model: "local-small", messages: [{ role: "user", content: "hello" }] });

/** Whether `pid` is gone (or a zombie nobody reaped yet: it runs nothing). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

for (const mode of ["thread", "process"] as const)
  describe(`gateway DA worker (${mode})`, function () {
    const startDaServer = (h: SettlementHook, o: DaServerOptions = {}) =>
      startDa(h, { ...o, process: mode === "process" });
    this.timeout(120_000);
    let anvil: DevChain;
    let pp: DevNet;
    let dir: string;
    let hook: SettlementHook;

    before(async () => {
      anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
      pp = await deployDevNet(anvil);
      dir = mkdtempSync(path.join(tmpdir(), "pp-daworker-"));
      hook = await testHook({
        store: path.join(dir, "gw.db"),
        enclaveKey: pp.enclaveKey,
        relayerKey: pp.relayerKey,
        rpcUrl: anvil.url,
        settlement: pp.settlement,
        // The longest group-commit interval: a receipt recorded right after a flush stays not durable ~1 s.
        commitIntervalMs: 1_000,
        batch: { maxCalls: 64, maxAgeMs: 100 },
      });
      await recordCalls(hook, 150, newLedger());
      await hook.flush();
    });
    after(async () => {
      await hook?.close().catch(() => {});
      await anvil?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("test_daWorker_sameStoreAsHook_answersLikeInlineRoutes_succeeds", async () => {
      const da = await startDaServer(hook);
      const inline = await listen(createHookApp(hook));
      try {
        for (const p of ["/receipts/3", "/receipts/149", "/batches/0", "/batches/1", "/receipts/9999", "/batches/99"]) {
          const [w, i] = [await send(da.port, p), await send(inline.port, p)];
          assert.equal(w.status, i.status, p);
          assert.deepEqual(JSON.parse(w.body), JSON.parse(i.body), p);
        }
        const r = JSON.parse((await send(da.port, "/receipts/3")).body) as {
          receiptSignature: string;
          proof: string[];
        };
        assert.match(r.receiptSignature, /^0x[0-9a-f]{130}$/);
        assert.ok(r.proof.length > 0, "a sealed receipt comes with its proof");
        const bad = await send(da.port, "/receipts/-1");
        assert.equal(bad.status, 400);
      } finally {
        await inline.close();
        await da.close();
      }
    });

    it("test_attack_strangerPollsDaWorkerBeforeGroupCommit_409NoSignature_reverts", async () => {
      const da = await startDaServer(hook);
      try {
        await recordCalls(hook, 1, newLedger()); // a group commit just went: the next one waits commitIntervalMs
        const rec = hook.record({
          modelId: keccak256(toHex("m-small")),
          requestHash: keccak256(toHex("early-req")),
          responseHash: keccak256(toHex("early-res")),
          inputTokens: 1,
          outputTokens: 2,
        });
        const seq = Number(rec.callSeq);
        const early = await send(da.port, `/receipts/${seq}`);
        assert.equal(early.status, 409, early.body);
        assert.equal(JSON.parse(early.body).error, "not_durable");
        assert.equal(early.headers["retry-after"], "1");
        assert.ok(!early.body.includes("receiptSignature"), "no signature before the group commit");
        assert.equal((await send(da.port, `/receipts/${seq + 1}`)).status, 404, "never handed out: unknown");
        await rec.durable;
        const late = await waitFor("the receipt served once durable", async () => {
          const a = await send(da.port, `/receipts/${seq}`);
          return a.status === 200 && a;
        });
        assert.match(JSON.parse(late.body).receiptSignature, /^0x[0-9a-f]{130}$/);
      } finally {
        await da.close();
      }
    });

    it("test_attack_strangerHammersDaWorker_429WithRetryAfterAndCors_reverts", async () => {
      const da = await startDaServer(hook, { limits: { perClient: { rate: 5, burst: 5 }, holdRefusedMs: 0 } });
      try {
        const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => send(da.port, `/receipts/${i}`)));
        const refused = answers.filter((a) => a.status === 429);
        assert.ok(refused.length >= 20, `refused ${refused.length} of 30`);
        assert.ok(refused.every((a) => Number(a.headers["retry-after"]) >= 1));
        assert.ok(answers.every((a) => a.status < 500));
        const ok = answers.find((a) => a.status === 200)!;
        assert.equal(ok.headers["access-control-allow-origin"], "*", "receipts are readable from any page");
      } finally {
        await da.close();
      }
    });

    it("test_attack_daWorkerStuckUnderFlood_fastPathStillAnswersAndRecords_reverts", async () => {
      const da = await startDaServer(hook);
      const gw = await listen(
        createDemoApp({ hook, backend: new LocalModel(), logger: pino({ level: "silent" }), daInline: false }),
      );
      try {
        const release = await da.hold(); // the DA worker's event loop is stopped from here on
        let daAnswered = 0;
        const flood = Array.from({ length: 32 }, (_, i) =>
          send(da.port, i % 2 ? `/batches/${i % 2}` : `/receipts/${i}`).then((a) => {
            daAnswered++;
            return a;
          }),
        );
        const before = hook.health().nextCallSeq as number;
        const chats = await Promise.all(
          Array.from({ length: 20 }, () => send(gw.port, "/v1/chat/completions", { method: "POST", body: CHAT })),
        );
        assert.deepEqual(
          chats.map((c) => c.status),
          new Array(20).fill(200),
        );
        // Recorded once each answer is on the wire ("finish").
        await waitFor("every fast-path call recorded", () => hook.health().nextCallSeq === before + 20, 10_000, 20);
        assert.equal(daAnswered, 0, "the DA worker was stuck the whole time");
        assert.equal((await send(gw.port, "/da/receipts/1")).status, 404, "no DA route on the fast path's loop");
        release();
        const answers = await Promise.all(flood);
        assert.ok(
          answers.every((a) => a.status === 200 || a.status === 429),
          JSON.stringify(answers.map((a) => a.status)),
        );
        assert.ok(answers.some((a) => a.status === 200));
      } finally {
        await gw.close();
        await da.close();
      }
    });

    // Every request limit wide open: only what is under test (cache, pace) stands in the way.
    const open = { perClient: { rate: 1e6, burst: 1e6 }, global: { rate: 1e6, burst: 1e6 }, maxInFlight: 1e6 };

    it("test_attack_floodOfWholeBatches_answeredFromCachedBytes_builtOncePerBatch", async () => {
      await hook.settled(60_000); // heads stop moving: every answer after the first is the cached bytes
      const da = await startDaServer(hook, { limits: open, batchLimits: open, pace: false });
      const inline = await listen(createHookApp(hook));
      try {
        const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => send(da.port, `/batches/${i % 2}`)));
        assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
        for (const n of [0, 1]) {
          const want = (await send(inline.port, `/batches/${n}`)).body;
          assert.ok(
            answers.filter((_, i) => i % 2 === n).every((a) => a.body === want),
            `batch ${n}: the worker's bytes are the inline answer`,
          );
        }
        assert.equal((await da.stats()).batchAnswersBuilt, 2, "60 answers, 2 built");
      } finally {
        await inline.close();
        await da.close();
      }
    });

    /** `clients` closed loops pulling whole batches for `ms`: bytes received by then; seconds until the last answer ended. */
    async function pullBatches(
      port: number,
      clients: number,
      ms: number,
    ): Promise<{ bytes: number; sec: number; totalSec: number }> {
      const t0 = performance.now();
      let bytes = 0;
      await Promise.all(
        Array.from({ length: clients }, async (_, k) => {
          while (performance.now() - t0 < ms) {
            await new Promise<void>((resolve, reject) => {
              const req = request({ host: "127.0.0.1", port, path: `/batches/${k % 2}`, agent: false }, (res) => {
                res.on("data", (d: Buffer) => {
                  if (performance.now() - t0 < ms) bytes += d.length;
                });
                res.on("end", resolve);
                res.on("error", reject);
              });
              req.on("error", reject);
              req.end();
            });
          }
        }),
      );
      return { bytes, sec: ms / 1000, totalSec: (performance.now() - t0) / 1000 };
    }

    it("test_attack_floodOfWholeBatches_bytesWithinDaPace", async () => {
      const inline = await listen(createHookApp(hook));
      const one = Buffer.byteLength((await send(inline.port, "/batches/0")).body);
      await inline.close();
      const pace = { bytesPerSec: one * 4, burstBytes: 16 * 1024, chunkBytes: 8 * 1024 };
      // Unpaced, the same flood takes whatever the sockets give: far past the pace.
      const wild = await startDaServer(hook, { limits: open, batchLimits: open, pace: false });
      let unpaced: { bytes: number; sec: number; totalSec: number };
      try {
        unpaced = await pullBatches(wild.port, 8, 1_500);
      } finally {
        await wild.close();
      }
      const cap = (sec: number) => pace.bytesPerSec * sec + pace.burstBytes + pace.chunkBytes;
      assert.ok(unpaced.bytes > 3 * cap(unpaced.sec), `unpaced: ${unpaced.bytes} bytes (cap ${cap(unpaced.sec)})`);

      const da = await startDaServer(hook, { limits: open, batchLimits: open, pace });
      try {
        const paced = await pullBatches(da.port, 8, 1_500);
        assert.ok(
          paced.bytes <= cap(paced.sec),
          `paced: ${paced.bytes} bytes in ${paced.sec} s, cap ${cap(paced.sec)}`,
        );
        assert.ok(paced.bytes >= one, `still serving: ${paced.bytes} bytes`);
        const { pacedBytes } = await da.stats();
        assert.ok(pacedBytes <= cap(paced.totalSec), `worker wrote ${pacedBytes} bytes in ${paced.totalSec} s`);
      } finally {
        await da.close();
      }
    });

    /** Threads of process `pid` at niceness `n` (Linux: field 19 of /proc/<pid>/task/<tid>/stat). */
    function threadsAtNice(n: number, pid: number | "self" = "self"): { at: number; of: number } {
      const nices: number[] = [];
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        let stat: string;
        try {
          stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
        } catch {
          continue; // the thread ended between the listing and the read (a libuv or GC helper)
        }
        nices.push(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
      }
      return { at: nices.filter((x) => x === n).length, of: nices.length };
    }

    it("test_attack_strangerAsksUncachedReceiptSignatures_signedOnNicerThreadEndingWithDaWorker", async function () {
      if (process.platform !== "linux") this.skip();
      const before = threadsAtNice(13).at;
      const da = await startDaServer(hook, { niceness: 13, limits: open, signatures: { rate: 1e6, burst: 1e6 } });
      try {
        // Every callSeq once: none is in the worker's signature cache, each costs a secp256k1 signature.
        const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => send(da.port, `/receipts/${i}`)));
        assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
        for (const a of answers) assert.match(JSON.parse(a.body).receiptSignature, /^0x[0-9a-f]{130}$/);
        if (mode === "thread") {
          // The DA thread and the seal worker that signs for it, both nicer than the fast path's thread.
          assert.equal(threadsAtNice(13).at - before, 2, "the DA thread and its receipt signer at niceness 13");
        } else {
          // The seal worker that signs for it here; every thread of the DA process (GC, libuv too).
          assert.equal(threadsAtNice(13).at - before, 1, "the DA process's receipt signer at niceness 13");
          const child = threadsAtNice(13, da.pid!);
          assert.equal(child.at, child.of, `DA process: ${child.at} of ${child.of} threads at niceness 13`);
        }
      } finally {
        await da.close();
      }
      await waitFor("the receipt signer ends with its DA worker", () => threadsAtNice(13).at === before, 10_000, 20);
    });

    it("test_attack_strangersAskManyUncachedReceipts_signaturesWithinBudget", async () => {
      const da = await startDaServer(hook, {
        limits: open,
        signatures: { rate: 5, burst: 5, perClient: { rate: 5, burst: 5 } },
      });
      try {
        const t0 = performance.now();
        const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => send(da.port, `/receipts/${i}`)));
        const sec = (performance.now() - t0) / 1000;
        const signed = answers.map((a, i) => (a.status === 200 ? i : -1)).filter((i) => i >= 0);
        assert.ok(signed.length >= 5, `${signed.length} signed`);
        assert.ok(signed.length <= 5 + Math.ceil(5 * sec) + 1, `${signed.length} signatures in ${sec.toFixed(2)} s`);
        for (const a of answers.filter((x) => x.status !== 200)) {
          assert.equal(a.status, 429, a.body);
          assert.equal(JSON.parse(a.body).error, "rate_limited");
          assert.ok(Number(a.headers["retry-after"]) >= 1);
          assert.ok(!a.body.includes("receiptSignature"));
        }
        // A signature the worker holds costs nothing: asked again, all are answered at once.
        const again = await Promise.all(signed.map((i) => send(da.port, `/receipts/${i}`)));
        assert.deepEqual(new Set(again.map((a) => a.status)), new Set([200]));
        assert.equal((await da.stats()).signaturesRefused, 60 - signed.length);
      } finally {
        await da.close();
      }
    });

    it("test_attack_oneAddressAsksManyUncachedReceipts_othersStillGetSignatures", async function () {
      if (process.platform !== "linux") this.skip(); // 127.0.0.2 is loopback without setup on Linux
      const da = await startDaServer(hook, {
        limits: open,
        signatures: { rate: 8, burst: 8, perClient: { rate: 2, burst: 2 } },
      });
      try {
        // One address asks for 40 receipts no one asked for yet: it gets its share, not the budget.
        const greedy = await Promise.all(Array.from({ length: 40 }, (_, i) => send(da.port, `/receipts/${60 + i}`)));
        const signed = greedy.filter((a) => a.status === 200).length;
        assert.ok(signed >= 2 && signed <= 4, `one address: ${signed} signatures`);
        assert.ok(greedy.every((a) => a.status === 200 || a.status === 429));
        // Another address still gets its own right away.
        const other = await Promise.all([110, 111].map((n) => send(da.port, `/receipts/${n}`, { from: "127.0.0.2" })));
        assert.deepEqual(
          other.map((a) => a.status),
          [200, 200],
        );
        for (const a of other) assert.match(JSON.parse(a.body).receiptSignature, /^0x[0-9a-f]{130}$/);
      } finally {
        await da.close();
      }
    });

    // A worker thread ends with its process by construction; a child process only if it sees to it.
    if (mode === "process")
      it("test_attack_gatewayProcessKilled_daProcessExitsNoOrphan", async function () {
        if (process.platform !== "linux") this.skip();
        const parent = spawn(
          process.execPath,
          ["--import", "tsx", path.join(import.meta.dirname, "fixtures/daProcessParent.ts")],
          { env: { ...process.env, DA_STORE: path.join(dir, "gw.db") }, stdio: ["ignore", "pipe", "inherit"] },
        );
        try {
          let out = "";
          parent.stdout.on("data", (d: Buffer) => (out += d));
          const line = await waitFor("the DA process serves", () => /^(\d+) (\d+)\n/.exec(out), 60_000, 20);
          const [dpid, port] = [Number(line[1]), Number(line[2])];
          assert.equal((await send(port, "/batches/0")).status, 200, "the DA process serves the store");
          parent.kill("SIGKILL"); // no handler runs: only the closed IPC channel tells the DA process
          await waitFor("the DA process exits with its gateway", () => gone(dpid), 10_000, 20);
          await assert.rejects(send(port, "/batches/0"), "nobody serves its port any more");
        } finally {
          parent.kill("SIGKILL");
        }
      });
  });
