/**
 * Issue 17 items 3 and 6: a gateway that serves hostile DA answers, or settles a header whose
 * daURI no validator can read, must not stop the validators, and its batches must still end
 * Rejected. A real hostile HTTP server (node:http on 127.0.0.1) serves one behaviour per batch of
 * one gateway, while a second, honest gateway keeps having its batches attested by the same three
 * validator processes (quorum 2). The validators run with a 256 MB heap, like a small container:
 * on the old code the huge body and the gzip bomb kill them. Peak RSS is printed at the end.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import zlib from "node:zlib";
import { toHex, type Address, type Hex } from "viem";
import { hashHeader } from "../../sdk/hashing.js";
import { settlementDomain, toCompactSignature, typedDataDigest } from "../../sdk/eip712.js";
import {
  BatchStatus,
  createBoundedGet,
  DaAddressRefusedError,
  DaUriInvalidError,
  encodeRawDaUriCall,
  hashHeaderRawDaUri,
  isPrivateAddress,
} from "../../validator/index.js";
import type { DaLeaf } from "../../validator/da.js";
import { freePort } from "../../tools/devchain.js";
import { startFakeGateway, type FakeGateway } from "./helpers/fakeGateway.js";
import { buildValidatorMain, spawnValidator, type ValidatorProc } from "./helpers/processes.js";
import {
  addEnclave,
  batchStatus,
  headerFor,
  makeLeaves,
  nextSeqs,
  startTestNet,
  submit,
  waitFor,
  type TestNet,
  meshPeers,
} from "./helpers/setup.js";

const DA_DEADLINE_SEC = 6;
const HEAP_MB = 256;
const HUGE_BYTES = 220 * 1024 * 1024;
const BOMB_BYTES = 256 * 1024 * 1024;

type Behaviour =
  | "huge"
  | "drip"
  | "silent"
  | "redirect"
  | "gzipBomb"
  | "deep"
  | "tooMany"
  | "wrongContent"
  | "http500"
  | "truncated"
  | "notJson"
  | "unknownEncoding"
  | "holdForKill";

/** What each behaviour must produce: the typed error the validators log, or the reject reason. */
const EXPECT: Record<Exclude<Behaviour, "holdForKill">, { error?: string; reason?: RegExp }> = {
  huge: { error: "DaTooLargeError" },
  drip: { error: "DaTimeoutError" },
  silent: { error: "DaTimeoutError" },
  redirect: { error: "DaRedirectRefusedError" },
  gzipBomb: { error: "DaTooLargeError" },
  deep: { error: "DaTooDeepError" },
  tooMany: { error: "DaTooManyReceiptsError" },
  wrongContent: { reason: /root|range|usage/ },
  http500: { error: "DaUnavailableError" },
  truncated: { error: "DaUnavailableError" },
  notJson: { error: "DaMalformedError" },
  unknownEncoding: { error: "DaEncodingRefusedError" },
};

const jsonOf = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
const wireLeaf = (l: DaLeaf) =>
  l.kind === "served" ? { kind: "served", ...l.receipt } : { kind: "void", callSeq: l.callSeq };

interface HostileServer {
  url: string;
  set(batchSeq: bigint, b: Behaviour, leaves: DaLeaf[], gateway: Address): void;
  hits(batchSeq: bigint): number;
  /** Resolves when a `holdForKill` request arrives. */
  held: Promise<void>;
  close(): Promise<void>;
}

async function startHostileServer(bomb: Buffer): Promise<HostileServer> {
  const plan = new Map<string, { b: Behaviour; leaves: DaLeaf[]; gateway: Address }>();
  const hits = new Map<string, number>();
  let onHeld!: () => void;
  const held = new Promise<void>((r) => (onHeld = r));
  const server = http.createServer((req, res) => {
    const seq = /^\/batches\/([0-9]+)$/.exec(req.url ?? "")?.[1];
    const p = seq === undefined ? undefined : plan.get(seq);
    if (!p || seq === undefined) return void res.writeHead(404).end();
    hits.set(seq, (hits.get(seq) ?? 0) + 1);
    const json = { "content-type": "application/json" };
    const prefix = `{"gateway":"${p.gateway}","receipts":[`;
    switch (p.b) {
      case "huge": {
        // A valid batch JSON of ~220 MB, streamed as fast as the client reads it.
        const one = jsonOf(wireLeaf(p.leaves[0]!));
        const chunk = `${one},`.repeat(Math.ceil(65_536 / (one.length + 1)));
        let sent = 0;
        res.writeHead(200, json);
        res.write(prefix);
        const more = () => {
          while (sent < HUGE_BYTES) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", more);
          }
          res.end(`${one}]}`);
        };
        res.on("close", () => (sent = HUGE_BYTES));
        return more();
      }
      case "drip": {
        // Headers at once, then a byte of whitespace every 200 ms, forever.
        res.writeHead(200, json);
        const t = setInterval(() => res.write(" "), 200);
        return void res.on("close", () => clearInterval(t));
      }
      case "silent":
        return; // accepts the connection, never answers
      case "holdForKill":
        onHeld();
        return;
      case "redirect":
        // To the cloud metadata address: a validator that follows it is an SSRF proxy.
        return void res
          .writeHead(302, { location: "http://169.254.169.254/latest/meta-data/iam/security-credentials/" })
          .end();
      case "gzipBomb":
        return void res
          .writeHead(200, { ...json, "content-encoding": "gzip", "content-length": String(bomb.length) })
          .end(bomb);
      case "deep":
        return void res.writeHead(200, json).end(`${prefix}${"[".repeat(30_000)}${"]".repeat(30_000)}]}`);
      case "tooMany": {
        const many = makeLeaves(p.gateway, (p.leaves[0] as { receipt: { callSeq: bigint } }).receipt.callSeq, 100);
        return void res.writeHead(200, json).end(jsonOf({ gateway: p.gateway, receipts: many.map(wireLeaf) }));
      }
      case "wrongContent": {
        const other = makeLeaves(
          p.gateway,
          (p.leaves[0] as { receipt: { callSeq: bigint } }).receipt.callSeq,
          p.leaves.length,
          [1],
        );
        return void res.writeHead(200, json).end(jsonOf({ gateway: p.gateway, receipts: other.map(wireLeaf) }));
      }
      case "http500":
        return void res.writeHead(500, json).end(`{"error":"internal"}`);
      case "truncated":
        // Promises 60 kB (within the budget), sends the start of a batch, hangs up.
        res.writeHead(200, { ...json, "content-length": "60000" });
        res.write(jsonOf({ gateway: p.gateway, receipts: p.leaves.map(wireLeaf) }).slice(0, 120));
        return void setImmediate(() => res.socket?.destroy());
      case "notJson":
        return void res
          .writeHead(200, { "content-type": "text/html" })
          .end("<html><body>502 Bad Gateway</body></html>");
      case "unknownEncoding":
        return void res.writeHead(200, { ...json, "content-encoding": "x-custom" }).end("\x00\x01\x02");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (seq, b, leaves, gateway) => void plan.set(String(seq), { b, leaves, gateway }),
    hits: (seq) => hits.get(String(seq)) ?? 0,
    held,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** gzip of a batch JSON padded with `BOMB_BYTES` of whitespace (~250 KB compressed). */
async function gzipBomb(gateway: Address): Promise<Buffer> {
  const gz = zlib.createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on("data", (d: Buffer) => out.push(d));
  const done = new Promise((r) => gz.on("end", r));
  gz.write(`{"gateway":"${gateway}","receipts":[`);
  const spaces = Buffer.alloc(1024 * 1024, 0x20);
  for (let i = 0; i < BOMB_BYTES / spaces.length; i++)
    if (!gz.write(spaces)) await new Promise((r) => gz.once("drain", r));
  gz.end("]}");
  await done;
  return Buffer.concat(out);
}

/** Peak resident set of a process (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

describe("validator: hostile DA endpoints and unreadable daURIs (issue 17 items 3, 6)", function () {
  this.timeout(240_000);
  let net: TestNet;
  let hostile: HostileServer;
  let honestGw: FakeGateway;
  let honestEnclave: TestNet["enclave"];
  let ports: number[];
  const procs: (ValidatorProc | undefined)[] = [];
  const peaks: number[] = [];

  const configOf = (i: number) => ({
    privateKey: net.validatorKeys[i],
    rpcUrl: net.anvil.url,
    deployment: net.deploymentFile,
    dataDir: path.join(net.dir, `v${i}`),
    port: ports[i],
    peers: meshPeers(ports, i),
    pollIntervalMs: 250,
    daDeadlineSec: DA_DEADLINE_SEC,
    daTimeoutMs: 2_000,
    daFirstByteTimeoutMs: 1_000,
    daAllowPrivate: true,
    confirmations: 0,
    submitStaggerMs: 500,
    receiptSamples: 0,
    claim: false,
    retryBaseMs: 250,
    retryMaxMs: 1_000,
    logLevel: "info",
  });
  const start = async (i: number) =>
    (procs[i] = await spawnValidator(path.join(net.dir, `v${i}.json`), configOf(i), {
      nodeArgs: [`--max-old-space-size=${HEAP_MB}`],
    }));
  const notePeak = (p: ValidatorProc | undefined) => {
    if (p?.proc.pid && p.proc.exitCode === null && p.proc.signalCode === null) peaks.push(peakRssMb(p.proc.pid));
  };

  async function hostileBatch(b: Behaviour, n = 4) {
    const { callSeq, batchSeq } = await nextSeqs(net.anvil.client, net.settlement, net.enclave.address);
    const leaves = makeLeaves(net.enclave.address, callSeq, n);
    const header = await headerFor(net, net.enclave, batchSeq, leaves, hostile.url);
    hostile.set(batchSeq, b, leaves, net.enclave.address);
    await submit(net, net.enclave, header);
    return { b, header, batchSeq, headerHash: hashHeader(header) };
  }

  async function honestBatch() {
    const { callSeq, batchSeq } = await nextSeqs(net.anvil.client, net.settlement, honestEnclave.address);
    const leaves = makeLeaves(honestEnclave.address, callSeq, 6, [2]);
    honestGw.setBatch(batchSeq, leaves);
    await submit(net, honestEnclave, await headerFor(net, honestEnclave, batchSeq, leaves, honestGw.url));
    return batchSeq;
  }

  const statusIs = (gateway: Address, seq: bigint, want: number) => async () =>
    (await batchStatus(net, gateway, seq)) === want;
  const alive = () => procs.every((p) => p && p.proc.exitCode === null && p.proc.signalCode === null);
  const exits = () =>
    procs
      .map((p, i) => `v${i}: ${p?.proc.exitCode ?? p?.proc.signalCode ?? "running"} ${p?.stderr.slice(-300) ?? ""}`)
      .join("; ");

  before(async () => {
    net = await startTestNet();
    honestEnclave = await addEnclave(net);
    honestGw = await startFakeGateway({
      enclave: honestEnclave,
      chainId: net.deployment.chainId,
      settlement: net.settlement,
    });
    hostile = await startHostileServer(await gzipBomb(net.enclave.address));
    ports = [await freePort(), await freePort(), await freePort()];
    await buildValidatorMain();
    await Promise.all([0, 1, 2].map(start));
  });

  after(async () => {
    procs.forEach(notePeak);
    if (peaks.length) console.log(`      validator peak RSS over the whole file: max ${Math.max(...peaks)} MB`);
    await Promise.all(procs.map((p) => p?.kill("SIGTERM")));
    // VALIDATOR_TEST_LOGS=dir keeps each validator's last run's logs for a look after the fact.
    if (process.env.VALIDATOR_TEST_LOGS) {
      procs.forEach(
        (p, i) =>
          p &&
          writeFileSync(
            path.join(process.env.VALIDATOR_TEST_LOGS!, `hostile-validator-${i}.jsonl`),
            `${p.logs.map((l) => JSON.stringify(l)).join("\n")}\n`,
          ),
      );
    }
    await hostile?.close();
    await honestGw?.close();
    await net?.anvil.stop();
    if (net) rmSync(net.dir, { recursive: true, force: true });
  });

  it("test_hostileDaEndpoints_eachRejectedWithItsTypedError_honestGatewayStillAttested_succeeds", async () => {
    const hostileBatches = [];
    for (const b of Object.keys(EXPECT) as (keyof typeof EXPECT)[]) hostileBatches.push(await hostileBatch(b));
    // The honest gateway keeps settling while the validators chew on all of that.
    const honest: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const seq = await honestBatch();
      honest.push(seq);
      await waitFor(
        `honest batch ${seq} Attested (${exits()})`,
        statusIs(honestEnclave.address, seq, BatchStatus.Attested),
        30_000,
      );
      assert.ok(alive(), `a validator died: ${exits()}`);
    }
    for (const h of hostileBatches) {
      await waitFor(
        `${h.b} batch Rejected (${exits()})`,
        statusIs(net.enclave.address, h.batchSeq, BatchStatus.Rejected),
        60_000,
      );
    }
    assert.ok(alive(), `a validator died: ${exits()}`);

    for (const h of hostileBatches) {
      const want = EXPECT[h.b as keyof typeof EXPECT];
      const logs = procs.flatMap((p) => p!.logs.filter((l) => l.headerHash === h.headerHash));
      if (want.error) {
        const errors = new Set(logs.filter((l) => l.msg === "receipts unavailable; retrying").map((l) => l.error));
        assert.ok(
          errors.has(want.error),
          `${h.b}: expected ${want.error}, validators logged ${[...errors].join(", ") || "nothing"}`,
        );
      }
      const signed = logs.filter((l) => l.msg === "verdict signed");
      assert.ok(
        signed.length > 0 && signed.every((l) => l.verdict === 2),
        `${h.b}: verdicts ${jsonOf(signed.map((l) => [l.verdict, l.reason]))}`,
      );
      if (want.reason)
        assert.ok(
          signed.every((l) => want.reason!.test(String(l.reason))),
          `${h.b}: reasons ${signed.map((l) => l.reason)}`,
        );
      else
        assert.ok(
          signed.every((l) => l.reason === "da_unavailable"),
          `${h.b}: reasons ${signed.map((l) => l.reason)}`,
        );
    }
    // Each hostile endpoint was asked again and again (retries until the deadline), never more than that.
    assert.ok(hostile.hits(hostileBatches.find((h) => h.b === "huge")!.batchSeq) >= 3);

    // Errors are counted by name.
    const metrics = (await Promise.all(procs.map(async (p) => (await fetch(`${p!.url}/metrics`)).text()))).join("\n");
    for (const name of [
      "DaTooLargeError",
      "DaTimeoutError",
      "DaRedirectRefusedError",
      "DaTooDeepError",
      "DaTooManyReceiptsError",
      "DaEncodingRefusedError",
    ]) {
      assert.match(metrics, new RegExp(`proofpath_validator_da_errors_total\\{error="${name}"\\} [1-9]`), name);
    }
    procs.forEach(notePeak);
    console.log(
      `      validator peak RSS (VmHWM) with ${HUGE_BYTES >> 20} MB + ${BOMB_BYTES >> 20} MB (gzip) bodies served: ${peaks.map((m) => `${m} MB`).join(", ")}`,
    );
    for (const m of peaks) assert.ok(m < 300, `peak RSS ${m} MB`);
  });

  it("test_nonUtf8DaUri_batchRejectedOnChain_succeeds", async () => {
    const { callSeq, batchSeq } = await nextSeqs(net.anvil.client, net.settlement, net.enclave.address);
    const leaves = makeLeaves(net.enclave.address, callSeq, 3);
    const header = await headerFor(net, net.enclave, batchSeq, leaves, hostile.url);
    // "http://…/batches/N" followed by 0xff: not UTF-8. The contract hashes the raw bytes.
    const daURI = `${toHex(header.daURI)}ff` as Hex;
    const structHash = hashHeaderRawDaUri(header, daURI);
    const sig = await net.enclave.sign!({
      hash: typedDataDigest(settlementDomain(net.deployment.chainId, net.settlement), structHash),
    });
    const hash = await net.relayer.sendTransaction({
      to: net.settlement,
      data: encodeRawDaUriCall("submitBatch", [{ ...header, daURI }, toCompactSignature(sig)]),
    });
    const receipt = await net.anvil.client.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, "success");
    // Settled as submitted (read at its block: on a fast machine the validators reject it before a
    // read of the latest state, which once made this assertion see Rejected).
    assert.equal(await batchStatus(net, net.enclave.address, batchSeq, receipt.blockNumber), BatchStatus.Submitted);

    await waitFor(
      `non-UTF-8 batch Rejected (${exits()})`,
      statusIs(net.enclave.address, batchSeq, BatchStatus.Rejected),
      30_000,
    );
    const signed = procs.flatMap((p) =>
      p!.logs.filter((l) => l.msg === "verdict signed" && l.headerHash === structHash),
    );
    assert.ok(
      signed.length >= 2 && signed.every((l) => l.verdict === 2 && l.reason === "da_uri_invalid"),
      jsonOf(signed),
    );
  });

  it("test_validatorKilledDuringDaFetch_restartParksBatch_rejectedAtDeadline_succeeds", async () => {
    // Stands for a body that kills the process (OOM, a parser crash): the fetch is cut by SIGKILL.
    const h = await hostileBatch("holdForKill");
    await hostile.held;
    const state = path.join(net.dir, "v0", "state.db");
    await waitFor(
      "v0 marked the fetch in progress",
      async () => {
        const db = new DatabaseSync(state, { readOnly: true });
        try {
          return db.prepare("SELECT 1 FROM da_fetches WHERE header_hash = ?").get(h.headerHash) !== undefined;
        } finally {
          db.close();
        }
      },
      10_000,
      20,
    );
    notePeak(procs[0]);
    await procs[0]!.kill("SIGKILL");
    await start(0);
    await procs[0]!.waitLog(
      (l) => l.headerHash === h.headerHash && String(l.msg).startsWith("a DA fetch was in progress"),
      10_000,
    );
    await waitFor(
      `parked batch Rejected (${exits()})`,
      statusIs(net.enclave.address, h.batchSeq, BatchStatus.Rejected),
      60_000,
    );
    // After the restart v0 never fetched it again: every attempt it logged was the parked one.
    const attempts = procs[0]!.logs.filter(
      (l) => l.headerHash === h.headerHash && l.msg === "receipts unavailable; retrying",
    );
    assert.ok(
      attempts.every((l) => l.error === "DaFetchParkedError"),
      jsonOf(attempts.map((l) => l.error)),
    );
    const v0Signed = procs[0]!.logs.find((l) => l.headerHash === h.headerHash && l.msg === "verdict signed");
    if (v0Signed) assert.equal(v0Signed.reason, "da_fetch_crashed");
  });

  it("test_daUri_schemesAndPrivateAddresses_refusedUnlessAllowed_succeeds", async () => {
    const get = createBoundedGet({ allowPrivate: false, firstByteTimeoutMs: 1_000, timeoutMs: 2_000 });
    try {
      const port = new URL(hostile.url).port;
      await assert.rejects(get.get(`http://127.0.0.1:${port}/batches/0`, 65_536), DaAddressRefusedError);
      await assert.rejects(get.get(`http://localhost:${port}/batches/0`, 65_536), DaAddressRefusedError); // by name, at connect time
      await assert.rejects(get.get("http://[::ffff:169.254.169.254]/latest/meta-data/", 65_536), DaAddressRefusedError);
      await assert.rejects(get.get("file:///etc/passwd", 65_536), DaUriInvalidError);
      await assert.rejects(get.get("gopher://example.com/", 65_536), DaUriInvalidError);
      await assert.rejects(get.get("not a url", 65_536), DaUriInvalidError);
    } finally {
      await get.close();
    }
    for (const ip of [
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
    ]) {
      assert.equal(isPrivateAddress(ip), true, ip);
    }
    for (const ip of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"]) assert.equal(isPrivateAddress(ip), false, ip);
  });
});
