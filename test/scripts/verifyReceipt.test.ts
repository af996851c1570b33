/**
 * `proofpath verify-receipt` as a user runs it (the real CLI process), on receipts from a real run:
 * anvil, proofpath deployed, the gateway hook settling batches and serving its DA over HTTP,
 * a validator quorum attesting, a window passing, finalize. One verdict per test:
 * final, pending (unsealed, Submitted, Attested), bad input (garbage, wrong key), and fraud — an
 * enclave that signs one receipt and settles another — where the printed challenge is sent as is
 * and slashes the gateway on-chain.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Hono } from "hono";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createHookApp, listen, type SettlementHook } from "../../gateway/index.js";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { writeDeployment } from "../../sdk/deployment.js";
import { settlementDomain, signReceipt } from "../../sdk/eip712.js";
import { hashHeader } from "../../sdk/hashing.js";
import { quorumSignatures, verdictDigest, VERDICT_ATTEST } from "../../sdk/approvals.js";
import { createReadClient, type ReadClient } from "../../sdk/readClient.js";
import { batchHeaderSchema, type BatchHeader } from "../../sdk/types.js";
import { root, type SettlementCall } from "../gateway/helpers/chain.js";
import { devAccount, freePort, startDevChain, type DevChain, devWallet } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { testHook } from "../gateway/helpers/hookRun.js";
import { closeAccount, registerEnclave, succeedEnclave } from "../../gateway/registration.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where each verdict's human output is kept (the README's examples come from here). */
const OUT_DIR = path.join(root, "test-results", "verify-receipt");

describe("proofpath verify-receipt (real CLI, real run on anvil)", function () {
  this.timeout(240_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let hook: SettlementHook;
  let server: Awaited<ReturnType<typeof listen>>;
  let da: string;
  let deploymentFile: string;
  let rc: ReadClient;
  const headers: BatchHeader[] = [];
  const firstSeqs: number[] = [];
  let unsealedSeq: number;
  let n = 0;
  const wallet = (i: number) => devWallet(anvil, i);

  function cli(args: string[], stdin?: string): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [path.join(root, "scripts/cli.js"), "verify-receipt", ...args],
        { cwd: root, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
        },
      );
      if (stdin !== undefined) child.stdin!.end(stdin);
    });
  }
  const verify = (file: string, extra: string[] = []) =>
    cli([file, "--rpc", anvil.url, "--deployment", deploymentFile, ...extra]);
  const keep = (name: string, r: Run) =>
    writeFileSync(
      path.join(OUT_DIR, `${name}.txt`),
      `$ npx proofpath verify-receipt ${name}.json\n${r.stdout}${r.stderr}(exit ${r.code})\n`,
    );

  async function gatewayAnswer(callSeq: number): Promise<Record<string, unknown>> {
    const res = await fetch(`${da}/receipts/${callSeq}`);
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  }
  function writeJson(name: string, v: unknown): string {
    const f = path.join(dir, `${name}.json`);
    writeFileSync(f, JSON.stringify(v, null, 2));
    return f;
  }
  async function record(count: number): Promise<number> {
    const first = n;
    const durable: Promise<void>[] = [];
    for (let k = 0; k < count; k++, n++) {
      const r = hook.record({
        modelId: keccak256(toHex("llama-3-8b")),
        requestHash: keccak256(toHex(`req:${n}`)),
        responseHash: keccak256(toHex(`res:${n}`)),
        inputTokens: 100 + n,
        outputTokens: 200 + n,
      });
      assert.equal(Number(r.callSeq), n);
      durable.push(r.durable);
    }
    await Promise.all(durable);
    return first;
  }
  async function send(i: number, ...[functionName, args]: SettlementCall): Promise<void> {
    const hash = await wallet(i).writeContract({
      address: pp.settlement,
      abi: proofSettlementAbi,
      functionName,
      args,
      // Narrow: a union of (name, args) pairs, each typed by the ABI; viem checks one pair at a time.
    } as Parameters<ReturnType<typeof wallet>["writeContract"]>[0]);
    const r = await anvil.client.waitForTransactionReceipt({ hash });
    assert.equal(r.status, "success", `${functionName} reverted`);
  }
  async function attest(h: BatchHeader): Promise<void> {
    const headerHash = hashHeader(h);
    const sigs = await quorumSignatures(
      pp.validators.slice(0, 2),
      verdictDigest(31337, pp.settlement, VERDICT_ATTEST, [headerHash]),
    );
    await send(2, "attest", [[{ gateway: h.gateway, batchSeq: h.batchSeq, headerHash }], sigs]);
  }

  before(async () => {
    mkdirSync(OUT_DIR, { recursive: true });
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "pp-verify-receipt-"));
    deploymentFile = path.join(dir, "deployment.json");
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
    // Three settled batches of four calls each, then one durable call the gateway has not sealed.
    for (let b = 0; b < 3; b++) {
      firstSeqs.push(await record(4));
      await hook.flush();
      await hook.settled(60_000);
      const answer = await gatewayAnswer(firstSeqs[b]!);
      headers.push(batchHeaderSchema.parse(answer.header));
      assert.equal(headers[b]!.batchSeq, BigInt(b));
    }
    unsealedSeq = await record(1);
    rc = createReadClient({ client: anvil.client, deployment: pp.deployment });
  });

  after(async () => {
    await server?.close();
    await hook?.close({ drain: false }).catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_verifyReceipt_attestedThenFinalized_final_exit0", async () => {
    const h0 = headers[0]!;
    await attest(h0);
    const onchain = await rc.batch(h0.gateway, h0.batchSeq);
    await anvil.test.increaseTime({ seconds: Number(onchain.windowEnd - onchain.since) + 1 });
    await anvil.test.mine({ blocks: 1 });
    await send(2, "finalize", [[h0], await rc.attesters(onchain.attestationId)]);
    assert.equal((await rc.batch(h0.gateway, h0.batchSeq)).status, "Finalized");

    // The gateway's /receipts answer as it is: receipt, signature, header and proof.
    const file = writeJson("final", await gatewayAnswer(firstSeqs[0]! + 1));
    const r = await verify(file);
    keep("final", r);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /verdict: FINAL/);
    assert.match(r.stdout, /signature +by the gateway key/);
    assert.match(r.stdout, /key +approved/);
    assert.match(r.stdout, /inclusion +proven in the settled header \(proof from the input\)/);

    const json = JSON.parse((await verify(file, ["--json"])).stdout);
    assert.equal(json.verdict, "final");
    assert.equal(json.checks.batch.status, "Finalized");
    assert.equal(json.checks.key.ok, true);
  });

  it("test_verifyReceipt_receiptOnlyWithDa_provesFromChainAndDa_final", async () => {
    // Only what the sidecar's POST /record?wait=durable returns: receipt + signature, no proof.
    const a = await gatewayAnswer(firstSeqs[0]!);
    const file = writeJson("receipt-only", { receipt: a.receipt, receiptSignature: a.receiptSignature });
    const withDa = await verify(file, ["--da", da]);
    assert.equal(withDa.code, 0, withDa.stdout + withDa.stderr);
    assert.match(withDa.stdout, /proof from the gateway/);
    // Without --da: the header from BatchSubmitted, the proof rebuilt from the batch at its daURI.
    const fromChain = await verify(file);
    assert.equal(fromChain.code, 0, fromChain.stdout + fromChain.stderr);
    assert.match(fromChain.stdout, /proof from the batch's data at daURI/);
  });

  it("test_verifyReceipt_submittedOnly_pendingOnAttestation_exit3", async () => {
    assert.equal((await rc.batch(pp.enclave.address, 1n)).status, "Submitted");
    const file = writeJson("pending-submitted", await gatewayAnswer(firstSeqs[1]!));
    const r = await verify(file);
    keep("pending-submitted", r);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /verdict: PENDING \(waiting for attestation\)/);
    assert.match(r.stdout, /validator quorum to attest/);
  });

  it("test_verifyReceipt_notSealed_pendingOnSealing_exit3", async () => {
    const answer = await gatewayAnswer(unsealedSeq);
    assert.equal(answer.status, "pending");
    assert.ok(answer.receiptSignature, "a durable receipt is signed");
    const r = await verify(writeJson("pending-unsealed", answer), ["--da", da]);
    keep("pending-unsealed", r);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /waiting for sealing/);
  });

  it("test_verifyReceipt_garbageAndNoSignature_badInput_exit2", async () => {
    const garbage = await cli(["-", "--rpc", anvil.url, "--deployment", deploymentFile], "{ this is not json");
    keep("bad-input-garbage", garbage);
    assert.equal(garbage.code, 2);
    assert.match(garbage.stdout, /verdict: BAD-INPUT/);
    const a = await gatewayAnswer(firstSeqs[1]!);
    const unsigned = await verify(writeJson("unsigned", { receipt: a.receipt }));
    assert.equal(unsigned.code, 2);
    assert.match(unsigned.stdout, /missing "receiptSignature"/);
    const usage = await cli([]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /expected exactly one <file>/);
  });

  it("test_verifyReceipt_signedByAnotherKey_badInput_exit2", async () => {
    const a = await gatewayAnswer(firstSeqs[1]!);
    const stranger = privateKeyToAccount(generatePrivateKey());
    const receipt = batchHeaderlessReceipt(a.receipt);
    const forged = (await signReceipt(stranger, settlementDomain(31337, pp.settlement), receipt)).signature;
    const r = await verify(writeJson("wrong-key", { ...a, receiptSignature: forged }));
    keep("bad-input-wrong-key", r);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`recovers to ${stranger.address}`));
  });

  it("test_verifyReceipt_servedBeforeApproval_invalid_exit1", async () => {
    // Signed by the real enclave key, but dated a day before validators approved it.
    const a = await gatewayAnswer(firstSeqs[1]!);
    const early = { ...batchHeaderlessReceipt(a.receipt), servedAt: BigInt(Date.now() - 86_400_000) };
    const sig = (await signReceipt(pp.enclave, settlementDomain(31337, pp.settlement), early)).signature;
    const r = await verify(writeJson("invalid", { receipt: jsonOf(early), receiptSignature: sig }));
    keep("invalid-key", r);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /verdict: INVALID/);
    assert.match(r.stdout, /no approval of .* at or before the call was served/);
  });

  it("test_verifyReceipt_attested_pendingOnWindow_exit3", async () => {
    await attest(headers[2]!);
    const r = await verify(writeJson("pending-attested", await gatewayAnswer(firstSeqs[2]!)));
    keep("pending-attested", r);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /verdict: PENDING \(waiting for window\)/);
    assert.match(r.stdout, /challenge window to end at/);
  });

  it("test_verifyReceipt_accountClosedBelowSignedReceipt_fraudOrphaned_printedProofSlashes", async () => {
    // (Before the equivocation test: its challenge slashes the attesting validators.)
    // A key signs callSeq 0 for a user and dies before settling anything; its successor finds nothing
    // durable (a host cut its log) and the operator closes the account at 0.
    const owner = wallet(0);
    const dead = privateKeyToAccount(generatePrivateKey());
    const next = privateKeyToAccount(generatePrivateKey());
    await registerEnclave(anvil.client, { deployment: pp.deployment, owner, enclave: dead, validators: pp.validators });
    const signed = {
      gateway: dead.address,
      callSeq: 0n,
      modelId: keccak256(toHex("llama-3-8b")),
      requestHash: keccak256(toHex("orphan req")),
      responseHash: keccak256(toHex("orphan res")),
      inputTokens: 10,
      outputTokens: 20,
      // The chain's clock (earlier tests moved it past the wall clock): served after the approval.
      servedAt: (await anvil.client.getBlock()).timestamp * 1000n + 1n,
    };
    const sig = (await signReceipt(dead, settlementDomain(31337, pp.settlement), signed)).signature;
    const file = writeJson("orphaned", { receipt: jsonOf(signed), receiptSignature: sig });
    const open = await verify(file, ["--json"]);
    assert.equal(open.code, 3, `an open account may still settle it: pending\n${open.stdout}${open.stderr}`);
    // The key dies in a later second than it served: a deactivation in the served second counts as
    // before it (block times are whole seconds), which made this a dead key's receipt, not fraud.
    await anvil.test.increaseTime({ seconds: 2 });
    await registerEnclave(anvil.client, { deployment: pp.deployment, owner, enclave: next, validators: pp.validators });
    await succeedEnclave(anvil.client, {
      deployment: pp.deployment,
      operator: owner,
      predecessor: dead.address,
      successor: next.address,
    });
    assert.equal(
      await closeAccount(anvil.client, { deployment: pp.deployment, sender: owner, account: dead.address }),
      0n,
    );

    const challenger = devAccount(4).address as Address;
    const text = await verify(file, ["--challenger", challenger]);
    keep("orphaned", text);
    assert.equal(text.code, 1, text.stdout + text.stderr);
    assert.match(text.stdout, /verdict: FRAUD/);
    assert.match(text.stdout, /account is closed at callSeq 0/);
    const r = await verify(file, ["--challenger", challenger, "--json"]);
    const c = JSON.parse(r.stdout).challenge;
    assert.equal(c.reveal.function, "challengeOrphanedReceipt");
    const w = wallet(4);
    const commit = await w.sendTransaction({ to: c.settlement as Address, data: c.commit.calldata as Hex });
    assert.equal((await anvil.client.waitForTransactionReceipt({ hash: commit })).status, "success");
    const reveal = await w.sendTransaction({ to: c.settlement as Address, data: c.reveal.calldata as Hex });
    assert.equal((await anvil.client.waitForTransactionReceipt({ hash: reveal })).status, "success");
    assert.equal((await rc.accountState(dead.address)).slashed, true);
    const after = await verify(file, ["--json"]);
    assert.match(JSON.parse(after.stdout).challenge.note, /bond is gone/);
  });

  it("test_verifyReceipt_enclaveSignedAnotherReceipt_fraud_printedChallengeSlashes", async () => {
    // The enclave shows the user a receipt with another responseHash than the one it settled.
    const seq = firstSeqs[2]! + 2;
    const settledAnswer = await gatewayAnswer(seq);
    const shown = {
      ...batchHeaderlessReceipt(settledAnswer.receipt),
      responseHash: keccak256(toHex("the answer the user got")),
    };
    const sig = (await signReceipt(pp.enclave, settlementDomain(31337, pp.settlement), shown)).signature;
    const challenger = devAccount(3).address as Address;
    const file = writeJson("fraud", { receipt: jsonOf(shown), receiptSignature: sig });

    const text = await verify(file, ["--da", da, "--challenger", challenger]);
    keep("fraud", text);
    assert.equal(text.code, 1, text.stdout + text.stderr);
    assert.match(text.stdout, /verdict: FRAUD/);
    assert.match(text.stdout, /settles a different receipt at callSeq/);

    const r = await verify(file, ["--da", da, "--challenger", challenger, "--json"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.verdict, "fraud");
    const c = rep.challenge;
    assert.equal(c.settlement, pp.settlement);
    assert.equal(c.reveal.args[3].length, 2, "the attesting quorum is named");
    // Send exactly what was printed: the commit, then (a later block) the reveal.
    const w = wallet(3);
    const commit = await w.sendTransaction({ to: c.settlement as Address, data: c.commit.calldata as Hex });
    assert.equal((await anvil.client.waitForTransactionReceipt({ hash: commit })).status, "success");
    const reveal = await w.sendTransaction({ to: c.settlement as Address, data: c.reveal.calldata as Hex });
    const rr = await anvil.client.waitForTransactionReceipt({ hash: reveal });
    assert.equal(rr.status, "success", "challengeEquivocation reverted");
    assert.equal((await rc.batch(pp.enclave.address, 2n)).status, "Rejected");
    const key = await rc.keyAt(pp.enclave.address, BigInt(Date.now()));
    assert.equal(key.slashedNow, true);

    // Afterwards the same receipt is still fraud, and says the challenge is spent.
    const after = await verify(file, ["--json"]);
    assert.equal(after.code, 1);
    assert.match(JSON.parse(after.stdout).challenge.note, /can no longer be submitted/);
  });
});

/** The 8 receipt fields (bigints) out of the gateway's JSON receipt. */
function batchHeaderlessReceipt(raw: unknown) {
  const r = raw as Record<string, string | number>;
  return {
    gateway: r.gateway as Address,
    callSeq: BigInt(r.callSeq!),
    modelId: r.modelId as Hex,
    requestHash: r.requestHash as Hex,
    responseHash: r.responseHash as Hex,
    inputTokens: Number(r.inputTokens),
    outputTokens: Number(r.outputTokens),
    servedAt: BigInt(r.servedAt!),
  };
}

function jsonOf(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));
}
