/**
 * The user's evidence in the user's hands: over a real relay and the real gateway (anvil, the
 * settlement hook, a 3-validator quorum), the private client gets the enclave-signed receipt of each
 * of its calls within seconds of the answer, checks it against its own ciphertexts and keeps it as
 * the JSON `npx proofpath verify-receipt` reads — and the real CLI process accepts the kept file.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { Writable } from "node:stream";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { keccak256, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createAttestedOhttpClient } from "../../sdk/ohttp/registry.js";
import { Hono } from "hono";
import { OhttpReceiptSignatureError, fetchCallReceipt, lookupCallReceipt } from "../../sdk/ohttp/proof.js";
import {
  OhttpReceiptMismatchError,
  OhttpReceiptNotDurableError,
  MemoryReceiptKeeper,
  type SignedCallReceipt,
} from "../../sdk/ohttp/receipts.js";
import { FileReceiptKeeper } from "../../sdk/ohttp/receiptFile.js";
import { recoverReceiptSigner, settlementDomain, signReceipt, type SettlementDomain } from "../../sdk/eip712.js";
import { deployProofpath, localDeployDefaults } from "../../tools/deploy.js";
import { writeDeployment, type Deployment } from "../../sdk/deployment.js";
import { generateKeyPair } from "../../sdk/ohttp/index.js";
import { createSettlementHook, listen, registerEnclave, type SettlementHook } from "../../gateway/index.js";
import { createDemoApp } from "../../gateway/demo/server.js";
import { LocalModel } from "../../gateway/demo/backend.js";
import { createOhttpGateway } from "../../gateway/ohttp/enclave.js";
import { chatBackend } from "../../gateway/demo/ohttpBackend.js";
import { createRelayApp } from "../../gateway/ohttp/relay.js";
import { createValidator, type Validator } from "../../validator/index.js";
import { devPrivateKey, freePort, startDevChain, type DevChain, devWallet } from "../../tools/devchain.js";
import { meshPeers } from "../validator/helpers/setup.js";
import { GiveUp, waitFor } from "../../tools/waitFor.js";

const silent = pino({ level: "silent" });
/** The relay's log lines, kept in memory: one per forwarded request. */
const relayLog = (() => {
  const lines: string[] = [];
  return {
    lines,
    logger: pino(
      { level: "debug" },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    ),
  };
})();
const JSON_HEADERS = { "content-type": "application/json" };
const root = path.resolve(import.meta.dirname, "../..");
const chat = (i: number) =>
  JSON.stringify({ model: "proofpath-local-1", messages: [{ role: "user", content: `private question ${i}` }] });

describe("ohttp receipts: a signed receipt per call in the user's hands (anvil, hook, relay, 3 validators)", function () {
  this.timeout(180_000);
  let anvil: DevChain;
  let dir: string;
  let hook: SettlementHook | undefined;
  let deployment: Deployment;
  let deploymentFile: string;
  let domain: SettlementDomain;
  let enclaveKey: Hex;
  let enclave: Address;
  let gwUrl: string;
  let relayUrl: string;
  const validators: Validator[] = [];
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    dir = mkdtempSync(path.join(tmpdir(), "pp-receipts-"));
    const owner = devWallet(anvil, 0);
    const validatorKeys = [2, 3, 4].map(devPrivateKey);
    const validatorAccounts = validatorKeys.map((k) => privateKeyToAccount(k));
    deployment = await deployProofpath(owner, anvil.client, {
      ...localDeployDefaults,
      validators: validatorAccounts.map((a) => a.address),
      quorum: 2,
      challengeWindow: 3,
    });
    deploymentFile = path.join(dir, "deployment.json");
    writeDeployment(deploymentFile, deployment);
    domain = settlementDomain(deployment.chainId, deployment.contracts.ProofSettlement);

    enclaveKey = generatePrivateKey();
    const account = privateKeyToAccount(enclaveKey);
    enclave = account.address;
    const ohttpKeys = generateKeyPair({ keyId: 1 });
    await registerEnclave(anvil.client, {
      deployment,
      owner,
      enclave: account,
      validators: validatorAccounts,
      keyConfigHash: ohttpKeys.hash,
    });

    const gwPort = await freePort();
    gwUrl = `http://127.0.0.1:${gwPort}`;
    hook = await createSettlementHook({
      store: path.join(dir, "gw.db"),
      enclaveKey,
      relayerKey: devPrivateKey(1),
      rpcUrl: anvil.url,
      deployment: deploymentFile,
      daBaseUrl: `${gwUrl}/da`,
      batch: { maxCalls: 8, maxAgeMs: 200 },
      confirmations: 1,
      pollMs: 100,
      synchronous: "normal",
      logger: silent,
    });
    const ohttp = await createOhttpGateway({
      keys: ohttpKeys,
      backend: chatBackend(new LocalModel()),
      hook,
      logger: silent,
    });
    const gw = await listen(createDemoApp({ backend: new LocalModel(), hook, logger: silent, ohttp }), gwPort);
    const relay = await listen(createRelayApp({ gatewayUrl: gwUrl, logger: relayLog.logger }));
    relayUrl = `http://127.0.0.1:${relay.port}/`;
    closers.push(relay.close, gw.close);

    const ports = [await freePort(), await freePort(), await freePort()];
    for (let i = 0; i < 3; i++) {
      validators.push(
        await createValidator(
          {
            privateKey: validatorKeys[i]!,
            daAllowPrivate: true,
            rpcUrl: anvil.url,
            deployment: deploymentFile,
            dataDir: path.join(dir, `v${i}`),
            port: ports[i]!,
            peers: meshPeers(ports, i),
            pollIntervalMs: 200,
            confirmations: 0,
            submitStaggerMs: 300,
            claim: false,
          },
          { logger: silent },
        ),
      );
    }
  });

  after(async () => {
    for (const v of validators) await v.stop().catch(() => {});
    for (const c of closers) await c().catch(() => {});
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const attestedClient = (extra: object = {}) =>
    createAttestedOhttpClient({
      client: anvil.client,
      registry: deployment.contracts.GatewayRegistry,
      enclave,
      keysUrl: `${gwUrl}/ohttp-keys`,
      relayUrl,
      ...extra,
    });

  it("test_fetchCallReceipt_keepsEnclaveSignature_recoversToGateway_succeeds", async () => {
    const client = await attestedClient();
    const r = await client.request("POST", "/v1/chat/completions", JSON_HEADERS, chat(0));
    assert.equal(r.status, 200);
    const found = await waitFor(
      "the call receipt durable",
      () => fetchCallReceipt(`${gwUrl}/da`, r.requestHash),
      5_000,
      50,
    );
    const sig = (found as { receiptSignature?: Hex }).receiptSignature;
    assert.match(sig ?? "", /^0x[0-9a-f]{130}$/i, "the enclave's signature is kept");
    assert.equal(await recoverReceiptSigner(domain, found.receipt, sig!), enclave);
    assert.equal(found.receipt.requestHash, keccak256(r.encapsulatedRequest));
    // With the settlement's domain the SDK checks the signature itself; under another domain it is not the gateway's.
    assert.equal(
      (await fetchCallReceipt(`${gwUrl}/da`, r.requestHash, { domain, gateway: enclave }))?.receiptSignature,
      sig,
    );
    await assert.rejects(
      fetchCallReceipt(`${gwUrl}/da`, r.requestHash, {
        domain: settlementDomain(1, deployment.contracts.ProofSettlement),
      }),
      OhttpReceiptSignatureError,
    );
    assert.deepEqual(await lookupCallReceipt(`${gwUrl}/da`, keccak256(new Uint8Array([1, 2, 3]))), {
      state: "not_found",
    });
  });

  type Run = { code: number; stdout: string; stderr: string };
  const verifyCli = (file: string, extra: string[] = []): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [
          path.join(root, "scripts/cli.js"),
          "verify-receipt",
          file,
          "--rpc",
          anvil.url,
          "--deployment",
          deploymentFile,
          ...extra,
        ],
        { cwd: root, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
        },
      );
    });

  it("test_client_signedReceiptPerCall_withinSeconds_keptFilePassesVerifyReceiptCli_succeeds", async () => {
    const keptDir = path.join(dir, "kept");
    const keeper = new FileReceiptKeeper(keptDir);
    // Default: the look-up travels encapsulated through the relay, so the gateway never sees who asks.
    let directLookups = 0;
    const client = await attestedClient({
      receipts: { domain, keeper, fetch: () => (directLookups++, Promise.reject(new Error("not direct"))) },
    });
    assert.equal(client.receipts, keeper);
    const relayed0 = relayLog.lines.length;
    const calls: { requestHash: Hex; responseHash: Hex; kept: SignedCallReceipt; ms: number }[] = [];
    for (let i = 1; i <= 3; i++) {
      const r = await client.request("POST", "/v1/chat/completions", JSON_HEADERS, chat(i));
      assert.equal(r.status, 200);
      const t0 = Date.now();
      const kept = await r.receipt!;
      calls.push({ requestHash: r.requestHash, responseHash: r.responseHash, kept, ms: Date.now() - t0 });
    }
    // An inner error is answered but not recorded: no receipt is promised for it.
    const refused = await client.request("POST", "/v1/chat/completions", JSON_HEADERS, '{"model":1}');
    assert.equal(refused.status, 400);
    assert.equal(refused.receipt, undefined);

    for (const c of calls) {
      assert.ok(c.ms < 3_000, `signed receipt ${c.ms} ms after the answer`);
      assert.equal(c.kept.receipt.requestHash, c.requestHash);
      assert.equal(c.kept.receipt.responseHash, c.responseHash);
      assert.equal(c.kept.receipt.gateway, enclave);
      assert.equal(await recoverReceiptSigner(domain, c.kept.receipt, c.kept.receiptSignature), enclave);
    }
    console.log(`      signed receipt after the answer: ${calls.map((c) => c.ms).join(", ")} ms`);
    assert.equal(directLookups, 0);
    // The look-up route inside OHTTP answers like the plain one.
    assert.equal((await client.request("GET", "/da/receipts/by-request/0x12")).status, 400);
    assert.equal(
      (await client.request("GET", `/da/receipts/by-request/${keccak256(new Uint8Array([9]))}`)).status,
      404,
    );
    assert.equal((await client.request("POST", `/da/receipts/by-request/${calls[0]!.requestHash}`)).status, 405);
    const inner = await client.request("GET", `/da/receipts/by-request/${calls[0]!.requestHash}`);
    assert.equal(inner.status, 200);
    assert.equal(inner.json<{ receiptSignature: Hex }>().receiptSignature, calls[0]!.kept.receiptSignature);
    assert.equal(inner.receipt, undefined, "a look-up is not a call: it has no receipt");
    assert.ok(
      relayLog.lines.length - relayed0 >= 3 + 1 + 3,
      `calls and look-ups went through the relay (${relayLog.lines.length - relayed0})`,
    );
    // One file per call, named by request hash, readable back.
    assert.deepEqual(readdirSync(keptDir).sort(), calls.map((c) => `${c.requestHash}.json`).sort());
    assert.deepEqual(keeper.get(calls[0]!.requestHash), calls[0]!.kept);
    const file = keeper.fileOf(calls[0]!.requestHash);
    const json = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(json)
        .sort()
        .filter((k) => k !== "header" && k !== "proof"),
      ["receipt", "receiptSignature"],
    );

    // The real CLI process on the kept file: pending (3) until the batch is final, then final (0).
    const first = await verifyCli(file);
    assert.ok(first.code === 3 || first.code === 0, `exit ${first.code}: ${first.stdout}${first.stderr}`);
    assert.match(first.stdout, /signature\s+by the gateway key/);
    console.log(`      kept file, at once: exit ${first.code}, ${first.stdout.match(/verdict: .*/)?.[0]}`);

    const final = await waitFor(
      "the kept file's call final",
      async () => {
        const run = await verifyCli(file);
        if (run.code === 0) return run;
        // 3 = not final yet; anything else is a failure now, not after the timeout.
        if (run.code !== 3) throw new GiveUp(`verify exited ${run.code}: ${run.stdout}${run.stderr}`);
        throw new Error(`not final yet: ${run.stdout}`);
      },
      90_000,
      1_000,
    );
    assert.match(final.stdout, /verdict: FINAL/);
    console.log(`      kept file, once final: exit 0, ${final.stdout.match(/inclusion .*/)?.[0]}`);
    // Later, the inclusion proof from the gateway: kept beside the signed receipt, still the same evidence.
    const later = (await fetchCallReceipt(`${gwUrl}/da`, calls[0]!.requestHash, { domain, gateway: enclave }))!;
    assert.ok(later.header && later.proof);
    keeper.keep({ ...calls[0]!.kept, header: later.header, proof: later.proof });
    const withProof = await verifyCli(file);
    assert.equal(withProof.code, 0, withProof.stdout);
    assert.match(withProof.stdout, /proof from the input/);
  });

  /** A gateway's DA that lies: it serves the real receipt, altered by `alter`, at the by-request route. */
  async function lyingDa(alter: (v: { receipt: Record<string, unknown>; receiptSignature: Hex }) => Promise<void>) {
    const app = new Hono();
    app.get("/da/receipts/by-request/:h", async (c) => {
      const res = await fetch(`${gwUrl}/da/receipts/by-request/${c.req.param("h")}`);
      if (res.status !== 200) return new Response(res.body, { status: res.status, headers: res.headers });
      const v = (await res.json()) as { receipt: Record<string, unknown>; receiptSignature: Hex };
      await alter(v);
      return c.json(v);
    });
    const server = await listen(app);
    closers.push(server.close);
    return `http://127.0.0.1:${server.port}/da`;
  }

  it("test_client_receiptNotCommittingToUserBytes_refusedTyped_reverts", async () => {
    // The gateway holds the enclave key, so it can sign anything: a receipt for someone else's response.
    const other = keccak256(new TextEncoder().encode("someone else's response"));
    const daUrl = await lyingDa(async (v) => {
      v.receipt.responseHash = other;
      const r = {
        ...v.receipt,
        callSeq: BigInt(v.receipt.callSeq as string),
        servedAt: BigInt(v.receipt.servedAt as string),
      };
      v.receiptSignature = (
        await signReceipt(privateKeyToAccount(enclaveKey), domain, r as Parameters<typeof signReceipt>[2])
      ).signature;
    });
    const keeper = new MemoryReceiptKeeper();
    const client = await attestedClient({ receipts: { domain, keeper, via: "direct", daBaseUrl: daUrl } });
    const r = await client.request("POST", "/v1/chat/completions", JSON_HEADERS, chat(10));
    await assert.rejects(
      r.receipt!,
      (e: unknown) =>
        e instanceof OhttpReceiptMismatchError &&
        e.field === "responseHash" &&
        e.expected === r.responseHash &&
        e.actual === other,
    );
    assert.deepEqual(keeper.list(), [], "a refused receipt is not kept");

    // Altered without the enclave's signature: refused as not the gateway's.
    const unsigned = await lyingDa(async (v) => {
      v.receipt.outputTokens = Number(v.receipt.outputTokens) + 1;
    });
    const c2 = await attestedClient({ receipts: { domain, keeper, via: "direct", daBaseUrl: unsigned } });
    const r2 = await c2.request("POST", "/v1/chat/completions", JSON_HEADERS, chat(11));
    await assert.rejects(r2.receipt!, OhttpReceiptSignatureError);
    assert.deepEqual(keeper.list(), []);
  });

  it("test_client_receiptNeverDurable_givesUpTypedWithRequestHash_reverts", async () => {
    const app = new Hono();
    let asked = 0;
    app.get(
      "/da/receipts/by-request/:h",
      (c) => (asked++, c.json({ error: "not_durable" }, 409, { "retry-after": "1" })),
    );
    const server = await listen(app);
    closers.push(server.close);
    const client = await attestedClient({
      receipts: { domain, via: "direct", daBaseUrl: `http://127.0.0.1:${server.port}/da`, timeoutMs: 700 },
    });
    const r = await client.request("POST", "/v1/chat/completions", JSON_HEADERS, chat(20));
    const t0 = Date.now();
    await assert.rejects(
      r.receipt!,
      (e: unknown) =>
        e instanceof OhttpReceiptNotDurableError && e.requestHash === r.requestHash && e.lastState === "not_durable",
    );
    assert.ok(Date.now() - t0 < 1_500, "bounded");
    assert.ok(asked >= 3, `retried (${asked} look-ups)`);
    // Nothing lost: the real gateway has it by the same request hash.
    await waitFor(
      "the real gateway's receipt",
      () => fetchCallReceipt(`${gwUrl}/da`, r.requestHash, { domain }),
      5_000,
    );
  });
});
