/**
 * The validator service end to end: a real anvil chain, proofpath deployed with three validators
 * (quorum 2), a fake gateway serving the DA endpoints, and three validators running as child
 * processes (validator/main.ts). Batches are built from SDK receipts and submitted with the
 * enclave's signature; the tests watch the on-chain outcome the validators produce.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { gatewayRegistryAbi, opgTokenAbi, proofSettlementAbi } from "../../sdk/abis.js";
import { hashHeader } from "../../sdk/hashing.js";
import { settlementDomain, signReceipt } from "../../sdk/eip712.js";
import type { BatchHeader } from "../../sdk/types.js";
import {
  BatchStatus,
  buildEquivocationProof,
  createValidatorChain,
  submitEquivocation,
  NotEquivocationError,
} from "../../validator/index.js";
import type { DaLeaf } from "../../validator/da.js";
import { freePort } from "../../tools/devchain.js";
import { startFakeGateway, type FakeGateway } from "./helpers/fakeGateway.js";
import { spawnValidator, buildValidatorMain, type ValidatorProc } from "./helpers/processes.js";
import {
  CHALLENGE_WINDOW,
  addEnclave,
  attestersOf,
  batchStatus,
  headerFor,
  makeLeaves,
  meshPeers,
  nextSeqs,
  startTestNet,
  submit,
  waitFor,
  type TestNet,
} from "./helpers/setup.js";
import { delay } from "../../tools/waitFor.js";

const DA_DEADLINE_SEC = 4;

describe("validator service (3 validator processes, quorum 2, real anvil)", function () {
  this.timeout(180_000);
  let net: TestNet;
  let gw: FakeGateway;
  let ports: number[];
  const procs: (ValidatorProc | undefined)[] = [];

  const configOf = (i: number) => ({
    privateKey: net.validatorKeys[i],
    daAllowPrivate: true,
    rpcUrl: net.anvil.url,
    deployment: net.deploymentFile,
    dataDir: path.join(net.dir, `v${i}`),
    port: ports[i],
    peers: meshPeers(ports, i),
    pollIntervalMs: 250,
    daDeadlineSec: DA_DEADLINE_SEC,
    daTimeoutMs: 2_000,
    confirmations: 0,
    submitStaggerMs: 500,
    receiptSamples: 4,
    claimIntervalMs: 1_000,
    retryBaseMs: 250,
    retryMaxMs: 1_000,
    logLevel: "info",
  });
  const start = async (i: number) => (procs[i] = await spawnValidator(path.join(net.dir, `v${i}.json`), configOf(i)));

  /** Submits the next batch of `enclave` with `leaves` served by `gateway`; returns header + hash. */
  async function nextBatch(
    n: number,
    opts: {
      voids?: number[];
      over?: (h: BatchHeader) => Partial<BatchHeader>;
      enclave?: typeof net.enclave;
      gateway?: FakeGateway;
      serve?: boolean;
    } = {},
  ) {
    const enclave = opts.enclave ?? net.enclave;
    const g = opts.gateway ?? gw;
    const { callSeq, batchSeq } = await nextSeqs(net.anvil.client, net.settlement, enclave.address);
    const leaves = makeLeaves(enclave.address, callSeq, n, opts.voids);
    let header = await headerFor(net, enclave, batchSeq, leaves, g.url);
    if (opts.over) header = { ...header, ...opts.over(header) };
    if (opts.serve !== false) g.setBatch(batchSeq, leaves);
    await submit(net, enclave, header);
    return { header, leaves, headerHash: hashHeader(header), batchSeq };
  }

  const statusIs = (gateway: Address, seq: bigint, want: number) => async () =>
    (await batchStatus(net, gateway, seq)) === want;

  before(async () => {
    net = await startTestNet();
    gw = await startFakeGateway({ enclave: net.enclave, chainId: net.deployment.chainId, settlement: net.settlement });
    ports = [await freePort(), await freePort(), await freePort()];
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
            path.join(process.env.VALIDATOR_TEST_LOGS!, `validator-${i}.jsonl`),
            `${p.logs.map((l) => JSON.stringify(l)).join("\n")}\n`,
          ),
      );
    }
    await gw?.close();
    await net?.anvil.stop();
    if (net) rmSync(net.dir, { recursive: true, force: true });
  });

  let honest: Awaited<ReturnType<typeof nextBatch>>;

  it("test_honestBatch_attestedByQuorum_succeeds", async () => {
    const b = (honest = await nextBatch(8, { voids: [3] }));
    await waitFor("Attested", statusIs(net.enclave.address, b.batchSeq, BatchStatus.Attested), 15_000);
    // At least k validators signed "attest" and serve it; none signed anything else.
    const verdicts = await Promise.all(
      procs.map(async (p) => {
        const res = await fetch(`${p!.url}/verdicts/${b.headerHash}`);
        return res.status === 404 ? undefined : ((await res.json()) as { verdict: number }).verdict;
      }),
    );
    assert.ok(verdicts.filter((v) => v === 1).length >= 2, `verdicts ${verdicts}`);
    assert.ok(
      verdicts.every((v) => v === undefined || v === 1),
      `verdicts ${verdicts}`,
    );
    // Only k signatures go on-chain, and only one attest transaction landed.
    const attested = await net.anvil.client.getContractEvents({
      address: net.settlement,
      abi: proofSettlementAbi,
      eventName: "BatchAttested",
      fromBlock: 0n,
      args: { gateway: net.enclave.address, batchSeq: b.batchSeq },
    });
    assert.equal(attested.length, 1);
    // One attest per batch with k = 2 signatures (see validator/aggregate.ts for the trade-off).
    const attestGas = (await net.anvil.client.getTransactionReceipt({ hash: attested[0]!.transactionHash })).gasUsed;
    if (process.env.VALIDATOR_TEST_LOGS) console.log(`      attest gas (1 batch, k=2): ${attestGas}`);
    assert.ok(attestGas < 100_000n, `attest used ${attestGas} gas`);

    // The metric on a validator that signed (one that finished verifying after the quorum had
    // already attested sees the batch concluded and signs nothing).
    const signer = procs[verdicts.indexOf(1)]!;
    const metrics = await (await fetch(`${signer.url}/metrics`)).text();
    assert.match(metrics, /proofpath_validator_verdicts_signed_total\{verdict="attest",reason="verified"\} [1-9]/);
  });

  it("test_wrongRoot_rejectedByQuorum_succeeds", async () => {
    // The enclave signs a root that its published receipts do not produce.
    const b = await nextBatch(6, { over: () => ({ root: keccak256(toHex("not the root")) }) });
    await waitFor("Rejected", statusIs(net.enclave.address, b.batchSeq, BatchStatus.Rejected), 15_000);
    const [ev] = await net.anvil.client.getContractEvents({
      address: net.settlement,
      abi: proofSettlementAbi,
      eventName: "BatchRejected",
      fromBlock: 0n,
      args: { gateway: net.enclave.address, batchSeq: b.batchSeq },
    });
    assert.equal(ev!.args.equivocation, false);
    // The k that rejected it signed "reject" for a wrong root (a third that finished verifying after
    // the rejection landed signs nothing), and serve that verdict.
    const signedBy = (p: ValidatorProc) =>
      p.logs.find((l) => l.msg === "verdict signed" && l.headerHash === b.headerHash);
    const signers = await waitFor(
      "k verdicts logged",
      async () => {
        const s = procs.filter((p) => p && signedBy(p)) as ValidatorProc[];
        return s.length >= 2 ? s : undefined;
      },
      10_000,
      50,
    );
    for (const p of signers) {
      assert.equal(signedBy(p)!.reason, "root");
      const v = (await (await fetch(`${p.url}/verdicts/${b.headerHash}`)).json()) as { verdict: number };
      assert.equal(v.verdict, 2);
    }
  });

  it("test_daUnavailablePastDeadline_rejected_succeeds", async () => {
    const b = await nextBatch(4, { serve: false });
    const [, submittedAt] = await net.anvil.client.readContract({
      address: net.settlement,
      abi: proofSettlementAbi,
      functionName: "batch",
      args: [net.enclave.address, b.batchSeq],
    });
    await delay(1_500); // a negative: nothing may reject it before its DA deadline
    assert.equal(
      await batchStatus(net, net.enclave.address, b.batchSeq),
      BatchStatus.Submitted,
      "rejected before the DA deadline",
    );
    await waitFor("Rejected", statusIs(net.enclave.address, b.batchSeq, BatchStatus.Rejected), 20_000);
    const [ev] = await net.anvil.client.getContractEvents({
      address: net.settlement,
      abi: proofSettlementAbi,
      eventName: "BatchRejected",
      fromBlock: 0n,
      args: { gateway: net.enclave.address, batchSeq: b.batchSeq },
    });
    const block = await net.anvil.client.getBlock({ blockNumber: ev!.blockNumber });
    assert.ok(
      block.timestamp - submittedAt >= BigInt(DA_DEADLINE_SEC),
      `rejected ${block.timestamp - submittedAt}s after submission`,
    );
    assert.ok(gw.requests.includes(`/batches/${b.batchSeq}`), "validators never asked the DA");
  });

  it("test_reorgedOutBatch_droppedUnsigned_replacementAttested_succeeds", async () => {
    const client = net.anvil.client;
    const snap = await net.anvil.test.snapshot();
    // X's receipts are not served yet, so validators are waiting on it when the reorg removes it.
    const x = await nextBatch(4, { serve: false });
    await Promise.all(
      procs.map((p) => p!.waitLog((l) => l.msg === "batch submitted" && l.headerHash === x.headerHash, 10_000)),
    );
    await waitFor(
      "validators asking the DA for X",
      async () => gw.requests.includes(`/batches/${x.batchSeq}`),
      10_000,
      50,
    );
    assert.equal(await net.anvil.rpc("evm_revert", [snap]), true, "the snapshot was there");
    const y = await nextBatch(5); // the same batchSeq on the new branch, another header
    assert.equal(y.batchSeq, x.batchSeq);
    assert.notEqual(y.headerHash, x.headerHash);
    await waitFor("replacement Attested", statusIs(net.enclave.address, y.batchSeq, BatchStatus.Attested), 15_000);
    // Past X's DA deadline nobody has signed anything for it: it is gone, not "unavailable".
    await Promise.all(
      procs.map((p) =>
        p!.waitLog(
          (l) => l.msg === "batch no longer on chain (reorg): dropped" && l.headerHash === x.headerHash,
          10_000,
        ),
      ),
    );
    await delay(DA_DEADLINE_SEC * 1000); // a negative: past the deadline, still nothing signed
    for (const p of procs) assert.equal((await fetch(`${p!.url}/verdicts/${x.headerHash}`)).status, 404);
  });

  it("test_killedValidator_restartNeverSignsTwoVerdicts_succeeds", async () => {
    // Only validator 0 runs, so the batch stays Submitted while it is killed and restarted.
    await Promise.all([procs[1]!.kill("SIGTERM"), procs[2]!.kill("SIGTERM")]);
    const b = await nextBatch(5);
    await waitFor(
      "validator 0 signs",
      async () => (await fetch(`${procs[0]!.url}/verdicts/${b.headerHash}`)).status === 200,
      10_000,
      50,
    );
    const killed = await procs[0]!.kill("SIGKILL").then(() => procs[0]!.exit);
    assert.equal(killed.signal, "SIGKILL");

    // After the crash the DA serves receipts that contradict the header: a fresh look says "reject".
    const tampered: DaLeaf[] = b.leaves.map((l, i) =>
      i === 2 && l.kind === "served"
        ? { kind: "served", receipt: { ...l.receipt, outputTokens: l.receipt.outputTokens + 1 } }
        : l,
    );
    gw.setBatch(b.batchSeq, tampered);
    await start(0);
    const refused = await procs[0]!.waitLog(
      (l) => typeof l.msg === "string" && l.msg.startsWith("REFUSED TO DOUBLE-SIGN") && l.headerHash === b.headerHash,
      15_000,
    );
    assert.equal(refused.recorded, 1);
    assert.equal(refused.requested, 2);
    const served = (await (await fetch(`${procs[0]!.url}/verdicts/${b.headerHash}`)).json()) as { verdict: number };
    assert.equal(served.verdict, 1, "the restarted validator must keep serving its recorded verdict");

    // Peers come back (DA honest again): the recorded attestation joins theirs.
    gw.setBatch(b.batchSeq, b.leaves);
    await Promise.all([start(1), start(2)]);
    await waitFor("Attested", statusIs(net.enclave.address, b.batchSeq, BatchStatus.Attested), 15_000);

    const db = new DatabaseSync(path.join(net.dir, "v0", "signing.db"), { readOnly: true });
    try {
      const rows = db.prepare("SELECT verdict FROM verdicts WHERE header_hash = ?").all(b.headerHash) as {
        verdict: number;
      }[];
      assert.deepEqual(
        rows.map((r) => r.verdict),
        [1],
      );
      const dup = db.prepare("SELECT header_hash, COUNT(*) AS n FROM verdicts GROUP BY header_hash HAVING n > 1").all();
      assert.equal(dup.length, 0);
    } finally {
      db.close();
    }
    const metrics = await (await fetch(`${procs[0]!.url}/metrics`)).text();
    assert.match(metrics, /proofpath_validator_double_sign_refused_total [1-9]/);
  });

  it("test_buildEquivocationProof_voidLeafContradicted_rejectsAndSlashes_succeeds", async () => {
    // A second gateway: the enclave gave a user a signed receipt for a callSeq it then settled as void.
    const enclave = await addEnclave(net);
    const gw2 = await startFakeGateway({ enclave, chainId: net.deployment.chainId, settlement: net.settlement });
    try {
      const b = await nextBatch(4, { voids: [1], enclave, gateway: gw2 });
      const domain = settlementDomain(net.deployment.chainId, net.settlement);
      const held = {
        ...(b.leaves[0] as Extract<DaLeaf, { kind: "served" }>).receipt,
        callSeq: b.header.firstCallSeq + 1n,
      };
      const signed = { receipt: held, signature: (await signReceipt(enclave, domain, held)).signature };

      // The receipt actually settled at its callSeq proves nothing.
      const honest = (b.leaves[0] as Extract<DaLeaf, { kind: "served" }>).receipt;
      await assert.rejects(
        buildEquivocationProof({
          chainId: net.deployment.chainId,
          settlement: net.settlement,
          header: b.header,
          leaves: b.leaves,
          signed: { receipt: honest, signature: (await signReceipt(enclave, domain, honest)).signature },
        }),
        NotEquivocationError,
      );
      // The same check behind the HTTP report endpoint: a receipt that matches the batch is refused, bad input is a 400.
      const report = (body: unknown) =>
        fetch(`${procs[0]!.url}/equivocations`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body, (_k, x) => (typeof x === "bigint" ? x.toString() : x)),
        });
      // The endpoint needs validator 0 to track the batch, not to have signed it: once the other two
      // have attested it, validator 0 finds it concluded and never signs (waiting for its verdict
      // was this test's intermittent timeout).
      await procs[0]!.waitLog((l) => l.msg === "batch submitted" && l.headerHash === b.headerHash);
      const honestReport = await report({
        receipt: honest,
        signature: (await signReceipt(enclave, domain, honest)).signature,
      });
      assert.equal(honestReport.status, 422);
      assert.equal(((await honestReport.json()) as { error: string }).error, "NotEquivocationError");
      assert.equal((await report({ receipt: { ...honest, callSeq: "x" }, signature: "0x" })).status, 400);

      const proof = await buildEquivocationProof({
        chainId: net.deployment.chainId,
        settlement: net.settlement,
        header: b.header,
        leaves: b.leaves,
        signed,
      });
      assert.equal(proof.settledIsVoid, true);

      const challenger = privateKeyToAccount(net.validatorKeys[0]!);
      const bondBefore = (
        await net.anvil.client.readContract({
          address: net.deployment.contracts.GatewayRegistry,
          abi: gatewayRegistryAbi,
          functionName: "enclave",
          args: [enclave.address],
        })
      ).bond;
      assert.ok(bondBefore > 0n);
      const chain = createValidatorChain({ rpcUrl: net.anvil.url, account: challenger, settlement: net.settlement });
      await submitEquivocation(chain, proof);
      assert.equal(await batchStatus(net, enclave.address, b.batchSeq), BatchStatus.Rejected);
      const bondAfter = (
        await net.anvil.client.readContract({
          address: net.deployment.contracts.GatewayRegistry,
          abi: gatewayRegistryAbi,
          functionName: "enclave",
          args: [enclave.address],
        })
      ).bond;
      assert.equal(bondAfter, 0n);
      const [ev] = await net.anvil.client.getContractEvents({
        address: net.settlement,
        abi: proofSettlementAbi,
        eventName: "BatchRejected",
        fromBlock: 0n,
        args: { gateway: enclave.address, batchSeq: b.batchSeq },
      });
      assert.equal(ev!.args.equivocation, true);
      assert.equal(ev!.args.challenger, challenger.address);
    } finally {
      await gw2.close();
    }
  });

  it("test_gatewayServesContradictingSignedReceipt_validatorsChallenge_succeeds", async () => {
    const { callSeq } = await nextSeqs(net.anvil.client, net.settlement, net.enclave.address);
    // The gateway hands out (and serves) a signed receipt for callSeq+2 that differs from what it settles.
    const settled = makeLeaves(net.enclave.address, callSeq, 4);
    const other = {
      ...(settled[2] as Extract<DaLeaf, { kind: "served" }>).receipt,
      responseHash: keccak256(toHex("another answer")) as Hex,
    };
    gw.setSignedReceipt(other);
    const b = await nextBatch(4);
    await waitFor("Rejected by equivocation", statusIs(net.enclave.address, b.batchSeq, BatchStatus.Rejected), 15_000);
    const [ev] = await net.anvil.client.getContractEvents({
      address: net.settlement,
      abi: proofSettlementAbi,
      eventName: "BatchRejected",
      fromBlock: 0n,
      args: { gateway: net.enclave.address, batchSeq: b.batchSeq },
    });
    assert.equal(ev!.args.equivocation, true);
    assert.ok(
      net.validators.some((v) => v.address === ev!.args.challenger),
      "a validator submitted the proof",
    );
    const e = await net.anvil.client.readContract({
      address: net.deployment.contracts.GatewayRegistry,
      abi: gatewayRegistryAbi,
      functionName: "enclave",
      args: [net.enclave.address],
    });
    assert.equal(e.bond, 0n);
  });

  // Last: by now the first batch's challenge window (CHALLENGE_WINDOW s) has run out in real time.
  it("test_honestBatch_finalizedAfterWindowAndRewardsClaimed_succeeds", async () => {
    const b = honest;
    const [, , windowEnd] = await net.anvil.client.readContract({
      address: net.settlement,
      abi: proofSettlementAbi,
      functionName: "batch",
      args: [net.enclave.address, b.batchSeq],
    });
    await waitFor(
      "Finalized",
      statusIs(net.enclave.address, b.batchSeq, BatchStatus.Finalized),
      (CHALLENGE_WINDOW + 15) * 1000,
      250,
    );
    const finalized = await net.anvil.client.getContractEvents({
      address: net.settlement,
      abi: proofSettlementAbi,
      eventName: "BatchFinalized",
      fromBlock: 0n,
      args: { gateway: net.enclave.address, batchSeq: b.batchSeq },
    });
    assert.equal(finalized.length, 1);
    const finalizeTx = await net.anvil.client.getTransaction({ hash: finalized[0]!.transactionHash });
    assert.ok(
      net.validators.some((v) => v.address.toLowerCase() === finalizeTx.from.toLowerCase()),
      "a validator finalized the batch",
    );
    const token = net.deployment.contracts.OPGToken;
    // v2: 70 % of the fee goes to the signers of the batch's attestation, split equally (later batches
    // may have added theirs); a validator that did not sign it earns nothing from it.
    const signers = await attestersOf(net, net.enclave.address, b.batchSeq);
    assert.ok(signers.length >= 2, "a quorum attested");
    const balances = await waitFor(
      "rewards claimed by every signer of the attestation",
      async () => {
        const bals = await Promise.all(
          signers.map((v) =>
            net.anvil.client.readContract({ address: token, abi: opgTokenAbi, functionName: "balanceOf", args: [v] }),
          ),
        );
        return bals.every((x) => x > 0n) ? bals : undefined;
      },
      15_000,
      500,
    );
    const share = (b.header.fee * 7000n) / 10_000n / BigInt(signers.length);
    for (const bal of balances) assert.ok(bal >= share, `claimed ${bal}, expected at least ${share}`);
    const block = await net.anvil.client.getBlock({ blockNumber: finalized[0]!.blockNumber });
    assert.ok(block.timestamp >= windowEnd, "finalized before the window ended");
  });
});
