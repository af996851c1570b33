/**
 * Issue 17, attack 4: "A fee change rejects honest batches". The contract checks a header's fee
 * against the fee schedule in force when `submitBatch` runs; a validator that re-priced the batch
 * with the schedule in force when it verifies rejected honest in-flight batches after any fee
 * change, and the gateway lost their fees and `rejectedSlashBps` of its bond.
 *
 * Real processes: anvil, a fake gateway serving the receipts, three validators (quorum 2) started
 * only after the owner changed the schedule, so every batch below is verified under a schedule
 * other than the one it was submitted under.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Hex } from "viem";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { computeFee, type FeeRateFields } from "../../sdk/fees.js";
import { settlementDomain, signHeader } from "../../sdk/eip712.js";
import { hashHeader } from "../../sdk/hashing.js";
import type { BatchHeader } from "../../sdk/types.js";
import { BatchStatus } from "../../validator/index.js";
import { usageOf } from "../../validator/verifyBatch.js";
import { freePort, devWallet } from "../../tools/devchain.js";
import { startFakeGateway, type FakeGateway } from "./helpers/fakeGateway.js";
import { buildValidatorMain, spawnValidator, type ValidatorProc } from "./helpers/processes.js";
import {
  batchStatus,
  headerFor,
  makeLeaves,
  MODELS,
  nextSeqs,
  startTestNet,
  submit,
  waitFor,
  type TestNet,
  meshPeers,
} from "./helpers/setup.js";
import type { SettlementCall } from "../gateway/helpers/chain.js";

describe("attack: a fee change rejects honest batches (issue 17 item 4)", function () {
  this.timeout(180_000);
  let net: TestNet;
  let gw: FakeGateway;
  const procs: ValidatorProc[] = [];

  before(async () => {
    net = await startTestNet();
    gw = await startFakeGateway({ enclave: net.enclave, chainId: net.deployment.chainId, settlement: net.settlement });
    await buildValidatorMain();
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.kill("SIGTERM")));
    if (process.env.VALIDATOR_TEST_LOGS) {
      procs.forEach((p, i) =>
        writeFileSync(
          path.join(process.env.VALIDATOR_TEST_LOGS!, `feeChange-validator-${i}.jsonl`),
          `${p.logs.map((l) => JSON.stringify(l)).join("\n")}\n`,
        ),
      );
    }
    await gw?.close();
    await net?.anvil.stop();
    if (net) rmSync(net.dir, { recursive: true, force: true });
  });

  const owner = () => devWallet(net.anvil, 0);
  const rpc = (method: string, params: unknown[] = []) => net.anvil.rpc(method, params);

  async function ownerTx(...[functionName, args]: SettlementCall): Promise<Hex> {
    const hash = await owner().writeContract({
      address: net.settlement,
      abi: proofSettlementAbi,
      functionName,
      args,
      // Narrow: a union of (name, args) pairs, each typed by the ABI; viem checks one pair at a time.
    } as Parameters<ReturnType<typeof owner>["writeContract"]>[0]);
    const r = await net.anvil.client.waitForTransactionReceipt({ hash });
    assert.equal(r.status, "success", `${functionName} reverted`);
    return hash;
  }

  /** The next honest batch of the enclave, served by the fake gateway, priced at `rate` (+ `modelRates`). */
  async function honestBatch(n: number, rate?: FeeRateFields, modelRates?: Map<Hex, FeeRateFields>) {
    const { callSeq, batchSeq } = await nextSeqs(net.anvil.client, net.settlement, net.enclave.address);
    const leaves = makeLeaves(net.enclave.address, callSeq, n);
    const over: Partial<BatchHeader> = rate ? { fee: computeFee(usageOf(leaves), rate, modelRates) } : {};
    const header = await headerFor(net, net.enclave, batchSeq, leaves, gw.url, over);
    gw.setBatch(batchSeq, leaves);
    return { header, headerHash: hashHeader(header), batchSeq };
  }

  it("test_feeChangeAfterSubmission_honestBatchesAttested_notRejected", async () => {
    const old: FeeRateFields = {
      ...(await net.anvil.client.readContract({
        address: net.settlement,
        abi: proofSettlementAbi,
        functionName: "feeRate",
      })),
    };

    // 1. Submitted under the launch schedule, still Submitted when the owner re-prices.
    const a = await honestBatch(6);
    await submit(net, net.enclave, a.header);
    assert.equal(a.header.fee, computeFee(a.header.usage, old));

    // 2. The owner changes the default rate and gives the first model its own rate.
    const newRate: FeeRateFields = {
      perCall: old.perCall * 3n,
      perKiloInputToken: old.perKiloInputToken * 2n,
      perKiloOutputToken: old.perKiloOutputToken + 7n,
    };
    const modelRate: FeeRateFields = { perCall: old.perCall * 5n, perKiloInputToken: 11n, perKiloOutputToken: 13n };
    await ownerTx("setFeeRate", [newRate]);
    await ownerTx("setModelFeeRate", [MODELS[0]!, modelRate, true]);
    const modelRates = new Map([[MODELS[0]!, modelRate]]);

    // 3. A batch submitted under the new schedule (the contract would refuse one at the old price).
    const b = await honestBatch(5, newRate, modelRates);
    assert.notEqual(b.header.fee, computeFee(b.header.usage, old));
    await submit(net, net.enclave, b.header);

    // 4. In one block: a submission, then a fee change after it. The state at the end of that
    //    block holds the new rate, which is not the one the submission paid.
    await rpc("evm_setIntervalMining", [0]);
    const c = await honestBatch(4, newRate, modelRates);
    const later: FeeRateFields = {
      perCall: newRate.perCall * 2n,
      perKiloInputToken: newRate.perKiloInputToken,
      perKiloOutputToken: newRate.perKiloOutputToken,
    };
    let submitHash: Hex, changeHash: Hex;
    try {
      const { compact } = await signHeader(
        net.enclave,
        settlementDomain(net.deployment.chainId, net.settlement),
        c.header,
      );
      submitHash = await net.relayer.writeContract({
        address: net.settlement,
        abi: proofSettlementAbi,
        functionName: "submitBatch",
        args: [c.header, compact],
        gas: 2_000_000n,
      });
      changeHash = await owner().writeContract({
        address: net.settlement,
        abi: proofSettlementAbi,
        functionName: "setFeeRate",
        args: [later],
        gas: 200_000n,
      });
      await rpc("evm_mine");
    } finally {
      await rpc("evm_setIntervalMining", [1]);
    }
    const [rs, rc] = await Promise.all(
      [submitHash, changeHash].map((hash) => net.anvil.client.waitForTransactionReceipt({ hash })),
    );
    assert.equal(rs!.status, "success", "submitBatch reverted");
    assert.equal(rc!.status, "success", "setFeeRate reverted");
    assert.equal(rs!.blockNumber, rc!.blockNumber, "not in one block");
    assert.ok(rs!.transactionIndex < rc!.transactionIndex, "the fee change did not come after the submission");
    assert.notEqual(c.header.fee, computeFee(c.header.usage, later, modelRates));

    for (const x of [a, b, c])
      assert.equal(await batchStatus(net, net.enclave.address, x.batchSeq), BatchStatus.Submitted);

    // 5. Validators start only now: each batch is verified under a schedule it was not submitted under.
    const ports = [await freePort(), await freePort(), await freePort()];
    for (const i of [0, 1, 2]) {
      procs.push(
        await spawnValidator(path.join(net.dir, `v${i}.json`), {
          privateKey: net.validatorKeys[i],
          daAllowPrivate: true,
          rpcUrl: net.anvil.url,
          deployment: net.deploymentFile,
          dataDir: path.join(net.dir, `v${i}`),
          port: ports[i],
          peers: meshPeers(ports, i),
          pollIntervalMs: 250,
          daDeadlineSec: 60,
          daTimeoutMs: 2_000,
          submitStaggerMs: 500,
          receiptSamples: 2,
          retryBaseMs: 250,
          retryMaxMs: 1_000,
        }),
      );
    }
    for (const x of [a, b, c]) {
      const status = await waitFor(
        `batch ${x.batchSeq} judged`,
        async () => {
          const s = await batchStatus(net, net.enclave.address, x.batchSeq);
          return s === BatchStatus.Submitted ? undefined : s;
        },
        30_000,
      );
      const reasons = procs.flatMap((p) =>
        p.logs.filter((l) => l.msg === "verdict signed" && l.headerHash === x.headerHash).map((l) => l.reason),
      );
      assert.equal(
        status,
        BatchStatus.Attested,
        `batch ${x.batchSeq} was ${status === BatchStatus.Rejected ? "Rejected" : status}; verdicts: ${reasons.join(", ")}`,
      );
      assert.ok(
        reasons.every((r) => r === "verified"),
        `verdicts: ${reasons.join(", ")}`,
      );
    }
    // No rejection at all: the gateway kept its fees (escrowed for the attesters) and its bond.
    const rejected = await net.anvil.client.getContractEvents({
      address: net.settlement,
      abi: proofSettlementAbi,
      eventName: "BatchRejected",
      fromBlock: 0n,
      args: { gateway: net.enclave.address },
    });
    assert.equal(rejected.length, 0);
  });
});
