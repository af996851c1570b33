/**
 * Validators as the data-availability committee (issue 17): a validator attests a batch only once
 * it holds the batch's receipts durably (da.db), and serves them with their Merkle proofs at
 * `/da/...`, so a user holding an enclave-signed receipt can still prove equivocation after the
 * gateway is gone — also after the validator restarted. Real anvil, three validator processes
 * (quorum 2), a fake gateway that is stopped once the batch is attested.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { keccak256, toHex, type Address, type Hex, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { gatewayRegistryAbi, proofSettlementAbi } from "../../sdk/abis.js";
import { hashHeader } from "../../sdk/hashing.js";
import { settlementDomain, signReceipt, toCompactSignature } from "../../sdk/eip712.js";
import { verifyProof } from "../../sdk/merkle.js";
import { batchHeaderSchema, receiptSchema, type Receipt } from "../../sdk/types.js";
import { BatchStatus, createValidatorChain, submitEquivocation } from "../../validator/index.js";
import { daBatchFromJson, type DaLeaf } from "../../validator/da.js";
import { freePort } from "../../tools/devchain.js";
import { startFakeGateway, type FakeGateway } from "./helpers/fakeGateway.js";
import { spawnValidator, buildValidatorMain, type ValidatorProc } from "./helpers/processes.js";
import {
  addEnclave,
  attestersOf,
  batchStatus,
  headerFor,
  leafHash,
  makeLeaves,
  nextSeqs,
  startTestNet,
  submit,
  waitFor,
  type TestNet,
  meshPeers,
} from "./helpers/setup.js";

const jsonBig = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));

describe("validators as the DA committee (3 validator processes, quorum 2, real anvil)", function () {
  this.timeout(180_000);
  let net: TestNet;
  let ports: number[];
  let enclave2: LocalAccount;
  const procs: (ValidatorProc | undefined)[] = [];
  const gateways: FakeGateway[] = [];

  const configOf = (i: number) => ({
    privateKey: net.validatorKeys[i],
    daAllowPrivate: true,
    rpcUrl: net.anvil.url,
    deployment: net.deploymentFile,
    dataDir: path.join(net.dir, `v${i}`),
    port: ports[i],
    peers: meshPeers(ports, i),
    pollIntervalMs: 250,
    daDeadlineSec: 30,
    daTimeoutMs: 2_000,
    confirmations: 0,
    submitStaggerMs: 500,
    receiptSamples: 0,
    claimIntervalMs: 1_000,
    retryBaseMs: 250,
    retryMaxMs: 1_000,
    logLevel: "info",
  });
  const start = async (i: number) => (procs[i] = await spawnValidator(path.join(net.dir, `v${i}.json`), configOf(i)));

  /** Submits an honest batch of `n` leaves served by a fresh fake gateway, and waits for its attestation. */
  async function attestedBatch(enclave: LocalAccount, n: number) {
    const gw = await startFakeGateway({ enclave, chainId: net.deployment.chainId, settlement: net.settlement });
    gateways.push(gw);
    const { callSeq, batchSeq } = await nextSeqs(net.anvil.client, net.settlement, enclave.address);
    const leaves = makeLeaves(enclave.address, callSeq, n, [n - 1]);
    const header = await headerFor(net, enclave, batchSeq, leaves, gw.url);
    gw.setBatch(batchSeq, leaves);
    await submit(net, enclave, header);
    await waitFor(
      "Attested",
      async () => (await batchStatus(net, enclave.address, batchSeq)) === BatchStatus.Attested,
      20_000,
    );
    const attesters = await attestersOf(net, enclave.address, batchSeq);
    const idx = attesters.map((a) => net.validators.findIndex((v) => v.address === a));
    return { gw, header, leaves, headerHash: hashHeader(header), batchSeq, attesterIdx: idx };
  }

  /** A receipt the enclave signed for `leaf`'s callSeq that differs from the settled one. */
  async function contradicting(enclave: LocalAccount, leaf: DaLeaf) {
    assert.equal(leaf.kind, "served");
    const settled = (leaf as Extract<DaLeaf, { kind: "served" }>).receipt;
    const receipt: Receipt = { ...settled, responseHash: keccak256(toHex("another answer")) };
    const signature = (await signReceipt(enclave, settlementDomain(net.deployment.chainId, net.settlement), receipt))
      .signature;
    return { receipt, signature };
  }

  before(async () => {
    // A window long enough for a validator restart between attestation and challenge.
    net = await startTestNet({ challengeWindow: 120 });
    ports = [await freePort(), await freePort(), await freePort()];
    // The second gateway's key, registered before the first one's bond is slashed.
    enclave2 = await addEnclave(net);
    await buildValidatorMain();
    await Promise.all([0, 1, 2].map(start));
  });

  after(async () => {
    await Promise.all(procs.map((p) => p?.kill("SIGTERM")));
    // VALIDATOR_TEST_LOGS=dir keeps each validator's last run's logs for a look after the fact.
    if (process.env.VALIDATOR_TEST_LOGS) {
      procs.forEach(
        (p, i) =>
          p &&
          writeFileSync(
            path.join(process.env.VALIDATOR_TEST_LOGS!, `da-validator-${i}.jsonl`),
            `${p.logs.map((l) => JSON.stringify(l)).join("\n")}\n`,
          ),
      );
    }
    await Promise.all(gateways.map((g) => g.close().catch(() => undefined)));
    await net?.anvil.stop();
    if (net) rmSync(net.dir, { recursive: true, force: true });
  });

  let a: Awaited<ReturnType<typeof attestedBatch>>;
  let b2: Awaited<ReturnType<typeof attestedBatch>>;
  let holder: number;

  it("test_validatorDa_restartedWithGatewayGone_keepsServingAttestedReceipts_succeeds", async () => {
    // Both gateways' batches are attested first (a slash could stop the operator's other key).
    a = await attestedBatch(net.enclave, 6);
    b2 = await attestedBatch(enclave2, 4);
    holder = a.attesterIdx[0]!;
    const url = () => procs[holder]!.url;
    const batchUrl = () => `${url()}/da/batches/${a.header.gateway}/${a.batchSeq}`;
    const before = await fetch(batchUrl());
    assert.equal(before.status, 200, `GET /da/batches: ${before.status}`);
    const beforeBody = await before.text();

    // The gateway is gone; the validator dies without a clean stop and comes back.
    await a.gw.close();
    await procs[holder]!.kill("SIGKILL");
    await start(holder);

    const after = await fetch(batchUrl());
    assert.equal(after.status, 200);
    assert.equal(await after.text(), beforeBody);
    // Same shape as the gateway's /batches: the validator's own parser reads it back to the settled root.
    const parsed = daBatchFromJson(JSON.parse(beforeBody), batchUrl(), a.header.count);
    assert.deepEqual(parsed.leaves.map(leafHash), a.leaves.map(leafHash));
    // Unknown or malformed ids.
    assert.equal((await fetch(`${url()}/da/batches/${a.header.gateway}/999`)).status, 404);
    assert.equal((await fetch(`${url()}/da/receipts/${a.header.gateway}/x`)).status, 400);
  });

  it("test_attack_gatewayEquivocatesThenVanishes_userProvesItFromValidatorDaBatchRejected", async () => {
    assert.ok(a, "needs the attested batch of the previous test");
    // The user holds an enclave-signed receipt for callSeq firstCallSeq+1 that the batch does not settle.
    const callSeq = a.header.firstCallSeq + 1n;
    const signed = await contradicting(net.enclave, a.leaves[1]!);

    // The gateway is gone (closed above): the settled leaf and its proof come from the validator.
    const res = await fetch(`${procs[holder]!.url}/da/receipts/${a.header.gateway}/${callSeq}`);
    assert.equal(res.status, 200, `GET /da/receipts: ${res.status}`);
    const got = (await res.json()) as {
      headerHash: Hex;
      header: unknown;
      leaf: Record<string, unknown>;
      leafHash: Hex;
      proof: Hex[];
    };
    const header = batchHeaderSchema.parse(got.header);
    assert.equal(hashHeader(header), a.headerHash);
    assert.equal(got.headerHash, a.headerHash);
    const settledReceipt = receiptSchema.parse(got.leaf);
    assert.equal(got.leaf.kind, "served");
    assert.ok(verifyProof(header.root, got.leafHash, got.proof), "the proof leads to the settled root");

    const user = privateKeyToAccount(generatePrivateKey());
    await net.anvil.test.setBalance({ address: user.address, value: 10n ** 19n });
    const chain = createValidatorChain({ rpcUrl: net.anvil.url, account: user, settlement: net.settlement });
    await submitEquivocation(chain, {
      header,
      signedReceipt: signed.receipt,
      receiptSig: toCompactSignature(signed.signature),
      settledReceipt,
      settledIsVoid: false,
      proof: got.proof,
    });
    assert.equal(await batchStatus(net, net.enclave.address, a.batchSeq), BatchStatus.Rejected);
    const [ev] = await net.anvil.client.getContractEvents({
      address: net.settlement,
      abi: proofSettlementAbi,
      eventName: "BatchRejected",
      fromBlock: 0n,
      args: { gateway: net.enclave.address, batchSeq: a.batchSeq },
    });
    assert.equal(ev!.args.equivocation, true);
    assert.equal(ev!.args.challenger, user.address);
    const e = await net.anvil.client.readContract({
      address: net.deployment.contracts.GatewayRegistry,
      abi: gatewayRegistryAbi,
      functionName: "enclave",
      args: [net.enclave.address],
    });
    assert.equal(e.bond, 0n);
  });

  it("test_attack_gatewayEquivocatesThenVanishes_validatorProvesItFromHeldLeavesOnPost", async () => {
    assert.ok(b2, "needs the attested batch of the first test");
    const enclave = enclave2;
    const b = b2;
    await b.gw.close();
    const requestsBefore = b.gw.requests.length;
    const signed = await contradicting(enclave, b.leaves[0]!);
    const res = await fetch(`${procs[b.attesterIdx[0]!]!.url}/equivocations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: jsonBig(signed),
    });
    assert.equal(res.status, 200, `POST /equivocations: ${res.status} ${await res.clone().text()}`);
    assert.equal(b.gw.requests.length, requestsBefore, "no fetch from the (gone) gateway");
    assert.equal(await batchStatus(net, enclave.address, b.batchSeq), BatchStatus.Rejected);
    const [ev] = await net.anvil.client.getContractEvents({
      address: net.settlement,
      abi: proofSettlementAbi,
      eventName: "BatchRejected",
      fromBlock: 0n,
      args: { gateway: enclave.address, batchSeq: b.batchSeq },
    });
    assert.equal(ev!.args.equivocation, true);
    assert.equal(ev!.args.challenger, net.validators[b.attesterIdx[0]!]!.address as Address);
  });
});
