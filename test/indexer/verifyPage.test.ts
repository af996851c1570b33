/**
 * The dashboard as a user and a token holder see it, in headless Chromium, on a real run: anvil,
 * proofpath deployed, the gateway hook settling batches and serving its DA over HTTP, a validator
 * quorum attesting, a window passing, finalize, and the real indexer (`ponder start`, PGlite).
 *  - the verify page runs the verify-receipt checks in the browser against the chain: final,
 *    pending, a tampered receipt and one signed by another key, and dropped request bytes that the
 *    page hashes and finds;
 *  - the request-hash lookup (REST and the dashboard's search box) with per-call latencies;
 *  - the token-holder view: fees, burn, validators, gateways by fees, model names, explorer links.
 * Screenshots go to test-results/.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Hono } from "hono";
import type { Browser, Page } from "playwright-core";
import { createWalletClient, http, keccak256, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { createHookApp, listen, type SettlementHook } from "../../gateway/index.js";
import { startPonder, type Ponder } from "../../indexer/harness/ponder.js";
import { quorumSignatures, verdictDigest, VERDICT_ATTEST } from "../../sdk/approvals.js";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { writeDeployment } from "../../sdk/deployment.js";
import { settlementDomain, signReceipt } from "../../sdk/eip712.js";
import { hashHeader } from "../../sdk/hashing.js";
import { createReadClient } from "../../sdk/readClient.js";
import { batchHeaderSchema, type BatchHeader } from "../../sdk/types.js";
import { launchBrowser } from "../helpers/browser.js";
import { devAccount, freePort, startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { root, type SettlementCall } from "../gateway/helpers/chain.js";
import { testHook } from "../gateway/helpers/hookRun.js";

const OUT = path.join(root, "test-results");
const EXPLORER = "https://explorer.test";
const MODELS = ["llama-3-8b", "mistral-7b"];

describe("dashboard: verify page, request-hash lookup, token-holder view (headless Chromium, real run)", function () {
  this.timeout(420_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let hook: SettlementHook;
  let server: Awaited<ReturnType<typeof listen>>;
  let da: string;
  let ponder: Ponder;
  let browser: Browser;
  const headers: BatchHeader[] = [];
  const firstSeqs: number[] = [];
  let unsealedSeq: number;
  let n = 0;

  const requestBytes = (i: number) => `req:${i}`;
  async function record(count: number): Promise<number> {
    const first = n;
    const durable: Promise<void>[] = [];
    for (let k = 0; k < count; k++, n++) {
      const r = hook.record({
        modelId: keccak256(toHex(MODELS[n % 2]!)),
        requestHash: keccak256(toHex(requestBytes(n))),
        responseHash: keccak256(toHex(`res:${n}`)),
        inputTokens: 100 + n,
        outputTokens: 200 + n,
      });
      durable.push(r.durable);
    }
    await Promise.all(durable);
    return first;
  }
  async function gatewayAnswer(callSeq: number): Promise<Record<string, unknown>> {
    const res = await fetch(`${da}/receipts/${callSeq}`);
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  }
  async function send(...[functionName, args]: SettlementCall): Promise<void> {
    const wallet = createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(2) });
    const hash = await wallet.writeContract({
      address: pp.settlement,
      abi: proofSettlementAbi,
      functionName,
      args,
    } as Parameters<typeof wallet.writeContract>[0]); // a (function, args) pair checked by SettlementCall
    assert.equal(
      (await anvil.client.waitForTransactionReceipt({ hash })).status,
      "success",
      `${functionName} reverted`,
    );
  }

  before(async () => {
    mkdirSync(OUT, { recursive: true });
    anvil = await startDevChain({ blockTime: 1 });
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "pp-verify-page-"));
    const deploymentFile = path.join(dir, "deployment.json");
    writeDeployment(deploymentFile, pp.deployment);
    const port = await freePort();
    da = `http://127.0.0.1:${port}/da`;
    hook = await testHook({
      store: path.join(dir, "gw.db"),
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
      daBaseUrl: da,
      batch: { maxCalls: 1000, maxAgeMs: 600_000 },
      confirmations: 1,
    });
    const app = new Hono();
    app.route("/da", createHookApp(hook));
    server = await listen(app, port);
    // Batch 0 goes final, batch 1 stays Submitted, one durable call is never sealed.
    for (let b = 0; b < 2; b++) {
      firstSeqs.push(await record(4));
      await hook.flush();
      await hook.settled(60_000);
      headers.push(batchHeaderSchema.parse((await gatewayAnswer(firstSeqs[b]!)).header));
    }
    unsealedSeq = await record(1);
    const h0 = headers[0]!;
    const headerHash = hashHeader(h0);
    const sigs = await quorumSignatures(
      pp.validators.slice(0, 2),
      verdictDigest(31337, pp.settlement, VERDICT_ATTEST, [headerHash]),
    );
    await send("attest", [[{ gateway: h0.gateway, batchSeq: h0.batchSeq, headerHash }], sigs]);
    const rc = createReadClient({ client: anvil.client, deployment: pp.deployment });
    const onchain = await rc.batch(h0.gateway, h0.batchSeq);
    await anvil.test.increaseTime({ seconds: Number(onchain.windowEnd - onchain.since) + 1 });
    await anvil.test.mine({ blocks: 1 });
    await send("finalize", [[h0], await rc.attesters(onchain.attestationId)]);
    assert.equal((await rc.batch(h0.gateway, h0.batchSeq)).status, "Finalized");

    ponder = await startPonder({
      deploymentFile,
      rpcUrl: anvil.url,
      logName: "verify-page",
      // Lookups by request hash need the receipts from the DA, which serves on loopback here.
      env: {
        PROOFPATH_INDEXER_MODEL_NAMES: MODELS.join(","),
        PROOFPATH_INDEXER_EXPLORER_URL: EXPLORER,
        PROOFPATH_INDEXER_INDEX_RECEIPTS: "true",
        PROOFPATH_INDEXER_DA_ALLOW_PRIVATE: "true",
      },
    });
    await ponder.waitForBlock(await anvil.client.getBlockNumber(), 240_000);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await ponder?.stop();
    await server?.close();
    await hook?.close({ drain: false }).catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function openPage(pathname: string, ready: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${ponder.url}${pathname}`, { waitUntil: "load" });
    await page.waitForFunction(
      (k) => (window as any)[k]?.ready === true || (window as any)[k]?.errors.length > 0,
      ready,
      { timeout: 30_000 },
    );
    assert.deepEqual(await page.evaluate((k) => (window as any)[k].errors, ready), []);
    return { page, errors };
  }

  /** Pastes `input` into the verify page, runs the checks and returns the verdict and each step's state. */
  async function verifyInPage(page: Page, input: unknown, shot: string) {
    await page.fill("#receipt", typeof input === "string" ? input : JSON.stringify(input, null, 2));
    await page.click("#verify-form button");
    await page.waitForFunction(
      () => !["running", "none"].includes(document.querySelector<HTMLElement>("#verdict")!.dataset.verdict!),
      null,
      { timeout: 60_000 },
    );
    const verdict = await page.getAttribute("#verdict", "data-verdict");
    const steps = await page.$$eval("#steps li", (lis) =>
      Object.fromEntries(lis.map((li) => [(li as HTMLElement).dataset.step, (li as HTMLElement).dataset.state])),
    );
    await page.screenshot({ path: path.join(OUT, `verify-${shot}.png`), fullPage: true });
    return { verdict, steps, text: (await page.textContent("#verdict")) ?? "" };
  }

  it("test_verifyPage_finalReceipt_everyStepPassesInTheBrowser", async () => {
    const { page, errors } = await openPage("/verify", "__verify");
    const chainCalls: string[] = [];
    page.on("request", (r) => {
      if (r.url().startsWith(anvil.url)) chainCalls.push(r.url());
    });
    const r = await verifyInPage(page, await gatewayAnswer(firstSeqs[0]! + 1), "final");
    assert.equal(r.verdict, "final", r.text);
    assert.deepEqual(r.steps, { input: "ok", signature: "ok", key: "ok", batch: "ok", inclusion: "ok" });
    assert.ok(chainCalls.length > 0, "the browser asked the chain itself");
    assert.match((await page.innerHTML("#steps")) ?? "", new RegExp(`${EXPLORER}/tx/0x`), "explorer link");
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("test_verifyPage_submittedAndUnsealed_pendingWithWhatItWaitsFor", async () => {
    const { page } = await openPage("/verify", "__verify");
    const submitted = await verifyInPage(page, await gatewayAnswer(firstSeqs[1]!), "pending");
    assert.equal(submitted.verdict, "pending");
    assert.match(submitted.text, /waiting for attestation/);
    assert.equal(submitted.steps.batch, "wait");
    await page.fill("#da", da);
    const unsealed = await verifyInPage(page, await gatewayAnswer(unsealedSeq), "pending-unsealed");
    assert.equal(unsealed.verdict, "pending");
    assert.match(unsealed.text, /waiting for sealing/);
    await page.close();
  });

  it("test_verifyPage_tamperedReceipt_signatureFailsBadInput", async () => {
    const { page } = await openPage("/verify", "__verify");
    const a = await gatewayAnswer(firstSeqs[0]!);
    const receipt = { ...(a.receipt as Record<string, unknown>), outputTokens: 999_999 };
    const r = await verifyInPage(page, { ...a, receipt }, "tampered");
    assert.equal(r.verdict, "bad-input");
    assert.equal(r.steps.signature, "fail");
    assert.equal(r.steps.inclusion, "skip");
    assert.match(r.text, /signature is not the gateway key's/);
    await page.close();
  });

  it("test_verifyPage_signedByAnotherKey_badInputNamesTheSigner", async () => {
    const { page } = await openPage("/verify", "__verify");
    const a = await gatewayAnswer(firstSeqs[0]!);
    const raw = a.receipt as Record<string, string | number>;
    const stranger = privateKeyToAccount(generatePrivateKey());
    const forged = await signReceipt(stranger, settlementDomain(31337, pp.settlement), {
      gateway: raw.gateway as Hex,
      callSeq: BigInt(raw.callSeq!),
      modelId: raw.modelId as Hex,
      requestHash: raw.requestHash as Hex,
      responseHash: raw.responseHash as Hex,
      inputTokens: Number(raw.inputTokens),
      outputTokens: Number(raw.outputTokens),
      servedAt: BigInt(raw.servedAt!),
    });
    const r = await verifyInPage(page, { ...a, receiptSignature: forged.signature }, "wrong-key");
    assert.equal(r.verdict, "bad-input");
    assert.equal(r.steps.signature, "fail");
    assert.match(r.text, new RegExp(`recovers to ${stranger.address}`));
    await page.close();
  });

  it("test_verifyPage_droppedRequestBytes_hashedFoundAndVerified", async () => {
    const { page } = await openPage("/verify", "__verify");
    const seq = firstSeqs[0]! + 2;
    await page.setInputFiles("#request-file", {
      name: "request.bin",
      mimeType: "application/octet-stream",
      buffer: Buffer.from(requestBytes(seq)),
    });
    await page.waitForSelector("#request-hash[data-hash]");
    assert.equal(await page.getAttribute("#request-hash", "data-hash"), keccak256(toHex(requestBytes(seq))));
    const r = await verifyInPage(page, "", "request-bytes");
    assert.equal(r.verdict, "final", r.text);
    assert.equal(r.steps["request-bytes"], "ok");
    await page.close();
  });

  it("test_requestLookup_restAndSearchBox_perCallLatencies", async () => {
    const seq = firstSeqs[0]! + 3;
    const h = keccak256(toHex(requestBytes(seq)));
    const rest = await ponder.getJson(`/requests/${h}`);
    assert.equal(rest.items.length, 1);
    const c = rest.items[0];
    assert.equal(c.callSeq, String(seq));
    assert.equal(c.status, "finalized");
    assert.ok(Number(c.servedToAttestedMs) > 0 && Number(c.servedToFinalMs) > Number(c.servedToAttestedMs));
    const pendingOnly = await ponder.getJson(`/requests/${keccak256(toHex(requestBytes(firstSeqs[1]!)))}`);
    assert.equal(pendingOnly.items[0].status, "submitted");
    assert.equal(pendingOnly.items[0].servedToFinalMs, null);
    assert.equal((await ponder.getJson(`/requests/${keccak256(toHex(requestBytes(unsealedSeq)))}`)).items.length, 0);
    assert.equal((await ponder.get("/requests/0x1234")).status, 400);
    const doc = await ponder.getJson("/openapi.json");
    assert.ok(doc.paths["/requests/{requestHash}"] && doc.paths["/config"]);
    console.log(`      OpenAPI document: ${Object.keys(doc.paths).length} routes`);

    const { page, errors } = await openPage("/", "__dashboard");
    await page.fill("#request-form input[name=requestHash]", h);
    await page.click("#request-form button");
    await page.waitForSelector("#lookup-result [data-status]", { timeout: 10_000 });
    assert.equal(await page.getAttribute("#lookup-result [data-status]", "data-status"), "finalized");
    assert.match((await page.textContent("#lookup-result [data-latency=final]")) ?? "", /served → final \d/);
    assert.match((await page.textContent("#lookup-result")) ?? "", /model (llama-3-8b|mistral-7b)/);
    assert.match((await page.textContent("#chain")) ?? "", /chain 31337/);
    await page.screenshot({ path: path.join(OUT, "dashboard-request-lookup.png"), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("test_holdersView_feesBurnValidatorsGatewaysByFees_bucketsAdapt", async () => {
    const { page, errors } = await openPage("/holders", "__holders");
    const tiles = (await page.textContent("#tiles")) ?? "";
    for (const k of ["OPG burned", "fees distributed", "to the treasury", "to validators", "calls settled"])
      assert.match(tiles, new RegExp(k));
    assert.equal(await page.getAttribute("body", "data-bucket"), "hour", "one hour of data: hourly buckets");
    assert.ok(Number(await page.getAttribute("#chart-flows", "data-points")) > 0, "burn/treasury/validators chart");
    const gateways = await page.$$eval("#gateways tbody tr", (trs) =>
      trs.map((tr) => (tr as HTMLElement).dataset.address),
    );
    assert.deepEqual(gateways, [pp.enclave.address.toLowerCase()]);
    assert.equal(await page.$$eval("#validators tbody tr", (trs) => trs.length), pp.validators.length);
    const models = await page.$$eval("#models tbody tr td:first-child", (tds) => tds.map((td) => td.textContent));
    assert.deepEqual([...models].sort(), [...MODELS].sort(), "model names, not hashes");
    assert.ok(
      await page.$(`#gateways a[href="${EXPLORER}/address/${pp.enclave.address.toLowerCase()}"]`),
      "explorer link",
    );
    // A year of data is drawn in weeks, a month in days, a day in hours.
    const buckets = await page.evaluate(() =>
      [3600, 86_400, 30 * 86_400, 365 * 86_400].map((s) => (window as any).__holders.bucketFor(s).name),
    );
    assert.deepEqual(buckets, ["hour", "hour", "day", "week"]);
    await page.screenshot({ path: path.join(OUT, "holders.png"), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
