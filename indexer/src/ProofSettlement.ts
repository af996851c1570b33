/**
 * ProofSettlement handlers: the batch lifecycle (submitted → attested → finalized, or rejected),
 * attestations and the per-signer validator rewards, per-model usage and its rollups, fee balances
 * and the network totals. The challenge window of a batch starts at its attestation.
 */
import { ponder } from "ponder:registry";
import { attestation, batch, call, feeRate, gateway, latencyHistogram, validator } from "ponder:schema";
import { and, eq, sql } from "ponder";
import { usageFee } from "../../sdk/fees.js";
import { loadIndexerConfig } from "./lib/config.js";
import { BlockMemo } from "./lib/blockMemo.js";
import { latencyBucket } from "./lib/latency.js";
import { fetchSettledReceipts } from "./lib/receipts.js";
import {
  bumpNetwork,
  bumpNetworkRollups,
  emptyGateway,
  emptyValidator,
  getParams,
  logEvent,
  setParams,
  touchGateway,
  type Db,
} from "./lib/store.js";

type Hex = `0x${string}`;
const { indexReceipts, daAllowPrivate } = loadIndexerConfig();
const batchId = (gw: Hex, seq: bigint) => `${gw.toLowerCase()}:${seq}`;

/** The fee rates read in a block, by rate id (undefined: no such row); see BlockMemo. */
type FeeRate = typeof feeRate.$inferSelect;
const feeRates = new BlockMemo<FeeRate | undefined>();

ponder.on("ProofSettlement:BatchSubmitted", async ({ event, context }) => {
  const { db } = context;

  const a = event.args;
  const gw = a.gateway.toLowerCase() as Hex;
  const id = batchId(gw, a.batchSeq);
  const ts = event.block.timestamp;

  // Split the fee per model with the schedule in force (the contract checked fee == Σ entries).
  const rates = feeRates.at(event, context.chain.id);
  const def = rates.has("default") ? rates.get("default") : await readRate(db, rates, context.chain.id, "default");
  const usage = [];
  let calls = 0;
  let inputTokens = 0n;
  let outputTokens = 0n;
  for (const u of a.usage) {
    const modelId = u.modelId.toLowerCase() as Hex;
    // Remembered rates are read without an await: this runs for every batch of a backfill.
    const own = rates.has(modelId) ? rates.get(modelId) : await readRate(db, rates, context.chain.id, modelId);
    const rate = own?.enabled ? own : def;
    const fee = rate ? usageFee(u, rate) : 0n;
    // As stored: the json column holds token counts and fees as decimal strings.
    usage.push({
      modelId,
      calls: u.calls,
      inputTokens: u.inputTokens.toString(),
      outputTokens: u.outputTokens.toString(),
      fee: fee.toString(),
    });
    calls += u.calls;
    inputTokens += u.inputTokens;
    outputTokens += u.outputTokens;
  }

  // The calls behind the root, for lookups by request hash (only what rebuilds the settled root).
  const receipts = indexReceipts
    ? await fetchSettledReceipts(
        a.daURI,
        { gateway: gw, root: a.root, count: a.count, firstCallSeq: a.firstCallSeq },
        { allowPrivate: daAllowPrivate },
      )
    : "receipt indexing is off";
  if (typeof receipts === "string") {
    if (indexReceipts) console.warn(`batch ${id}: calls not indexed by request hash: ${receipts}`);
  } else if (receipts.length > 0) {
    await db.insert(call).values(
      receipts.map((r) => ({
        chainId: context.chain.id,
        id: `${gw}:${r.callSeq}`,
        requestHash: r.requestHash.toLowerCase() as Hex,
        responseHash: r.responseHash.toLowerCase() as Hex,
        gateway: gw,
        callSeq: r.callSeq,
        batchId: id,
        modelId: r.modelId.toLowerCase() as Hex,
        inputTokens: r.inputTokens,
        outputTokens: r.outputTokens,
        servedAt: r.servedAt,
      })),
    );
  }

  await db.insert(batch).values({
    chainId: context.chain.id,
    id,
    receiptsIndexed: typeof receipts !== "string",
    gateway: gw,
    batchSeq: a.batchSeq,
    firstCallSeq: a.firstCallSeq,
    count: a.count,
    root: a.root,
    fee: a.fee,
    headerHash: a.headerHash,
    usage,
    calls,
    inputTokens,
    outputTokens,
    firstServedAt: a.firstServedAt,
    lastServedAt: a.lastServedAt,
    daURI: a.daURI,
    status: "submitted",
    submitTx: event.transaction.hash,
    submitBlock: event.block.number,
    submittedAt: ts,
  });
  // Nothing else: per-model rows, rollups and network totals are views over these rows (ponder.schema.ts).
  const d = { calls: BigInt(calls), inputTokens, outputTokens, fees: a.fee };
  const empty = emptyGateway(context.chain.id, gw);
  await db
    .insert(gateway)
    .values(Object.assign(empty, gatewayAfterBatch(empty, a, d)))
    .onConflictDoUpdate((row) => gatewayAfterBatch(row, a, d));
});

/** Reads a fee rate row (undefined: none) into the block's memo. */
async function readRate(db: Db, rates: Map<string, FeeRate | undefined>, chainId: number, id: string) {
  const rate = (await db.find(feeRate, { chainId, id })) ?? undefined;
  rates.set(id, rate);
  return rate;
}

function gatewayAfterBatch(
  row: ReturnType<typeof emptyGateway>,
  a: { batchSeq: bigint; firstCallSeq: bigint; count: number; fee: bigint },
  d: { calls: bigint; inputTokens: bigint; outputTokens: bigint; fees: bigint },
) {
  return {
    nextBatchSeq: a.batchSeq + 1n,
    nextCallSeq: a.firstCallSeq + BigInt(a.count),
    balance: row.balance - a.fee,
    batches: row.batches + 1,
    calls: row.calls + d.calls,
    inputTokens: row.inputTokens + d.inputTokens,
    outputTokens: row.outputTokens + d.outputTokens,
    fees: row.fees + d.fees,
  };
}

/** One per `attest` call, before its BatchAttested events: the signers are who the batches' fees go to. */
ponder.on("ProofSettlement:Attestation", async ({ event, context }) => {
  const { db } = context;
  const signers = event.args.signers.map((s) => s.toLowerCase() as Hex);
  await db.insert(attestation).values({
    chainId: context.chain.id,
    id: BigInt(event.args.attestationId),
    verdictDigest: event.args.verdictDigest,
    signers,
    batchCount: 0,
    tx: event.transaction.hash,
    attestedAt: event.block.timestamp,
    feesDistributed: 0n,
    toValidators: 0n,
  });
  // Signers are distinct active validators (verifyQuorum): one upsert per signer.
  for (const address of signers) {
    await db
      .insert(validator)
      .values({ ...emptyValidator(context.chain.id, address), status: "active", attestations: 1 })
      .onConflictDoUpdate((row) => ({ attestations: row.attestations + 1 }));
  }
});

ponder.on("ProofSettlement:BatchAttested", async ({ event, context }) => {
  const { db } = context;
  const id = batchId(event.args.gateway, event.args.batchSeq);
  const b = await db.find(batch, { chainId: context.chain.id, id });
  if (!b) return; // cannot happen on a consistent chain: attest checks the stored slot
  const ts = event.block.timestamp;
  const attestationId = BigInt(event.args.attestationId);
  const att = await db
    .update(attestation, { chainId: context.chain.id, id: attestationId })
    .set((row) => ({ batchCount: row.batchCount + 1 }));
  const { challengeWindow } = await getParams(db, context.chain.id);
  const latency = clampLatency(ts * 1000n - b.lastServedAt);
  await db.update(batch, { chainId: context.chain.id, id }).set({
    status: "attested",
    attestTx: event.transaction.hash,
    attestedAt: ts,
    attestationId,
    verdictDigest: att.verdictDigest,
    windowEnd: ts + challengeWindow,
    proofLatencyMs: latency,
  });
  await recordLatency(db, context.chain.id, latency);
  await bumpNetwork(db, context.chain.id, { batchesAttested: 1, latencySumMs: latency, latencyCount: 1 });
  await bumpNetworkRollups(db, context.chain.id, ts, { attested: 1, latencySumMs: latency, latencyCount: 1 });
});

ponder.on("ProofSettlement:BatchFinalized", async ({ event, context }) => {
  const { db } = context;
  const id = batchId(event.args.gateway, event.args.batchSeq);
  const b = await db.find(batch, { chainId: context.chain.id, id });
  if (!b) return;
  const ts = event.block.timestamp;
  await db.update(batch, { chainId: context.chain.id, id }).set({
    status: "finalized",
    finalizeTx: event.transaction.hash,
    finalizedAt: ts,
    finalityLatencyMs: clampLatency(ts * 1000n - b.lastServedAt),
  });
  await bumpNetwork(db, context.chain.id, { batchesFinalized: 1 });
  await bumpNetworkRollups(db, context.chain.id, ts, { finalized: 1 });
});

ponder.on("ProofSettlement:BatchRejected", async ({ event, context }) => {
  const { db } = context;
  const a = event.args;
  const gw = a.gateway.toLowerCase() as Hex;
  const id = batchId(gw, a.batchSeq);
  const b = await db.find(batch, { chainId: context.chain.id, id });
  if (!b) return;
  await db.update(batch, { chainId: context.chain.id, id }).set({
    status: "rejected",
    rejectTx: event.transaction.hash,
    rejectedAt: event.block.timestamp,
    equivocation: a.equivocation,
    challenger: a.challenger,
    refund: a.refund,
  });
  // A rejected batch settled nothing: the rollups leave it out (status), the gateway row takes it back.
  const d = { calls: -BigInt(b.calls), inputTokens: -b.inputTokens, outputTokens: -b.outputTokens, fees: -b.fee };
  await bumpNetworkRollups(db, context.chain.id, event.block.timestamp, { rejected: 1 });
  await db.update(gateway, { chainId: context.chain.id, address: gw }).set((row) => ({
    balance: row.balance + a.refund,
    batches: row.batches - 1,
    rejectedBatches: row.rejectedBatches + 1,
    calls: row.calls + d.calls,
    inputTokens: row.inputTokens + d.inputTokens,
    outputTokens: row.outputTokens + d.outputTokens,
    fees: row.fees + d.fees,
  }));
  await bumpNetwork(db, context.chain.id, { batchesRejected: 1, refunded: a.refund });
});

/** One per finalize call (after its BatchFinalized events): the validator share is split equally among
 *  the attestation's signers, as the contract credits it. */
ponder.on("ProofSettlement:FeesDistributed", async ({ event, context }) => {
  const { db } = context;
  const a = event.args;
  if (a.total === 0n) return;
  const att = await db.update(attestation, { chainId: context.chain.id, id: BigInt(a.attestationId) }).set((row) => ({
    feesDistributed: row.feesDistributed + a.total,
    toValidators: row.toValidators + a.toValidators,
  }));
  if (a.toValidators > 0n && att.signers.length > 0) {
    const perSigner = a.toValidators / BigInt(att.signers.length);
    for (const address of att.signers) {
      await db
        .update(validator, { chainId: context.chain.id, address })
        .set((row) => ({ rewardsEarned: row.rewardsEarned + perSigner }));
    }
  }
  await bumpNetwork(db, context.chain.id, {
    feesPaid: a.total,
    toValidators: a.toValidators,
    toTreasury: a.toTreasury,
    burned: a.burned,
  });
  await bumpNetworkRollups(db, context.chain.id, event.block.timestamp, {
    feesDistributed: a.total,
    burned: a.burned,
    toValidators: a.toValidators,
    toTreasury: a.toTreasury,
  });
});

ponder.on("ProofSettlement:RewardsClaimed", async ({ event, context }) => {
  const address = event.args.validator.toLowerCase() as Hex;
  await context.db
    .insert(validator)
    .values({ ...emptyValidator(context.chain.id, address), rewardsClaimed: event.args.amount })
    .onConflictDoUpdate((row) => ({ rewardsClaimed: row.rewardsClaimed + event.args.amount }));
  await bumpNetwork(context.db, context.chain.id, { rewardsClaimed: event.args.amount });
  await logEvent(context.db, context.chain.id, event, "ProofSettlement", "RewardsClaimed");
});

ponder.on("ProofSettlement:Deposited", async ({ event, context }) => {
  const { db } = context;
  const gw = event.args.gateway.toLowerCase() as Hex;
  await touchGateway(db, context.chain.id, gw);
  await db.update(gateway, { chainId: context.chain.id, address: gw }).set((row) => ({
    balance: row.balance + event.args.amount,
    totalDeposited: row.totalDeposited + event.args.amount,
  }));
  await bumpNetwork(db, context.chain.id, { deposits: event.args.amount });
});

ponder.on("ProofSettlement:WithdrawRequested", async ({ event, context }) => {
  const gw = event.args.gateway.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, gw);
  await context.db.update(gateway, { chainId: context.chain.id, address: gw }).set((row) => ({
    balance: row.balance - event.args.amount,
    pendingWithdrawal: event.args.pending,
  }));
  await logEvent(context.db, context.chain.id, event, "ProofSettlement", "WithdrawRequested");
});

ponder.on("ProofSettlement:Withdrawn", async ({ event, context }) => {
  const gw = event.args.gateway.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, gw);
  await context.db.update(gateway, { chainId: context.chain.id, address: gw }).set({ pendingWithdrawal: 0n });
  await logEvent(context.db, context.chain.id, event, "ProofSettlement", "Withdrawn");
});

ponder.on("ProofSettlement:GatewaySynced", async ({ event, context }) => {
  const gw = event.args.gateway.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, gw);
  await context.db
    .update(gateway, { chainId: context.chain.id, address: gw })
    .set({ activeUntil: BigInt(event.args.activeUntil) });
});

ponder.on("ProofSettlement:FeeRateChanged", async ({ event, context }) => {
  feeRates.drop(context.chain.id);
  const { perCall, perKiloInputToken, perKiloOutputToken } = event.args;
  const row = { enabled: true, perCall, perKiloInputToken, perKiloOutputToken };
  await context.db
    .insert(feeRate)
    .values({ chainId: context.chain.id, id: "default", ...row })
    .onConflictDoUpdate(row);
  await logEvent(context.db, context.chain.id, event, "ProofSettlement", "FeeRateChanged");
});

ponder.on("ProofSettlement:ModelFeeRateChanged", async ({ event, context }) => {
  feeRates.drop(context.chain.id);
  const { modelId, enabled, perCall, perKiloInputToken, perKiloOutputToken } = event.args;
  const row = { enabled, perCall, perKiloInputToken, perKiloOutputToken };
  await context.db
    .insert(feeRate)
    .values({ chainId: context.chain.id, id: modelId.toLowerCase(), ...row })
    .onConflictDoUpdate(row);
  await logEvent(context.db, context.chain.id, event, "ProofSettlement", "ModelFeeRateChanged");
});

/**
 * The window runs from attestation with the window in force (finalize and challenges read the current
 * one), so a change moves the end of every batch still attested. Governance changes are rare (and
 * delayed by the timelock); attested batches are those of about one window.
 */
ponder.on("ProofSettlement:WindowsChanged", async ({ event, context }) => {
  const { challengeWindow, withdrawDelay } = event.args;
  const window = BigInt(challengeWindow);
  // Read the value before the upsert: the store may hand back the very row object it then updates.
  const previous = (await getParams(context.db, context.chain.id)).challengeWindow;
  await setParams(context.db, context.chain.id, { challengeWindow: window, withdrawDelay: BigInt(withdrawDelay) });
  if (previous !== window) {
    await context.db.sql
      .update(batch)
      .set({ windowEnd: sql`${batch.attestedAt} + ${window}` })
      .where(and(eq(batch.chainId, context.chain.id), eq(batch.status, "attested")));
  }
  await logEvent(context.db, context.chain.id, event, "ProofSettlement", "WindowsChanged");
});

ponder.on("ProofSettlement:AttesterSlashChanged", async ({ event, context }) => {
  await setParams(context.db, context.chain.id, { attesterSlashBps: event.args.attesterSlashBps });
  await logEvent(context.db, context.chain.id, event, "ProofSettlement", "AttesterSlashChanged");
});

/** A user proved a receipt the key signed that its closed account never settled (BondSlashed follows). */
ponder.on("ProofSettlement:OrphanedReceiptProven", async ({ event, context }) => {
  const gw = event.args.gateway.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, gw);
  await context.db
    .update(gateway, { chainId: context.chain.id, address: gw })
    .set((row) => ({ orphansProven: row.orphansProven + 1 }));
  await logEvent(context.db, context.chain.id, event, "ProofSettlement", "OrphanedReceiptProven");
});

for (const name of [
  "MaxBatchSizeChanged",
  "FeeSplitChanged",
  "TreasuryChanged",
  "MeasurementRevocationNoted",
  "ChallengeCommitted",
] as const) {
  ponder.on(`ProofSettlement:${name}`, async ({ event, context }) => {
    await logEvent(context.db, context.chain.id, event, "ProofSettlement", name);
  });
}

/** Latencies are wall-clock differences between the gateway's clock and block time: never negative. */
function clampLatency(ms: bigint): bigint {
  return ms < 0n ? 0n : ms;
}

async function recordLatency(db: Db, chainId: number, ms: bigint): Promise<void> {
  const bucket = latencyBucket(Number(ms));
  await db
    .insert(latencyHistogram)
    .values({ chainId, bucket, count: 1 })
    .onConflictDoUpdate((row) => ({ count: row.count + 1 }));
}
