/**
 * proofpath indexer tables. Everything is written by event handlers only, so Ponder can revert any
 * write on a reorg: aggregates are plain upserted counters (no read-modify-write outside a handler)
 * and percentiles come from a histogram table rather than a stored value.
 */
import { index, onchainTable, primaryKey, relations, type PgColumnsBuilders } from "ponder";

/** Enclave keys (the `gateway` of a batch). `status` is what the chain last said; the API turns an
 *  `active` key whose `activeUntil` has passed into `expired`. */
export const gateway = onchainTable(
  "gateway",
  (t) => ({
    address: t.hex().primaryKey(),
    operator: t.hex(),
    measurement: t.hex(),
    attestationHash: t.hex(),
    keyConfigHash: t.hex(),
    bond: t.bigint().notNull(),
    status: t.text().notNull(), // registered | active | deactivated | slashed | unregistered
    activeUntil: t.bigint().notNull(), // unix s, 0 = never approved
    approvalNonce: t.bigint().notNull(),
    registeredAt: t.bigint(),
    balance: t.bigint().notNull(), // spendable fee balance
    pendingWithdrawal: t.bigint().notNull(),
    totalDeposited: t.bigint().notNull(),
    nextBatchSeq: t.bigint().notNull(),
    nextCallSeq: t.bigint().notNull(),
    batches: t.integer().notNull(),
    calls: t.bigint().notNull(),
    inputTokens: t.bigint().notNull(),
    outputTokens: t.bigint().notNull(),
    fees: t.bigint().notNull(), // fees of batches that were not rejected
    rejectedBatches: t.integer().notNull(),
    slashed: t.bigint().notNull(),
  }),
  (t) => ({ statusIdx: index().on(t.status) }),
);

export const validator = onchainTable("validator", (t) => ({
  address: t.hex().primaryKey(),
  active: t.boolean().notNull(),
  addedAt: t.bigint().notNull(),
  removedAt: t.bigint(),
  // Mirrors ValidatorSet's accounting: owed = credited + (active ? network.rewardPerValidator − debt : 0).
  rewardDebt: t.bigint().notNull(),
  rewardsCredited: t.bigint().notNull(),
  rewardsClaimed: t.bigint().notNull(), // RewardsTaken
}));

/** One row per settled batch; `id` = `${gateway}:${batchSeq}` (gateway lowercase). */
export const batch = onchainTable(
  "batch",
  (t) => ({
    id: t.text().primaryKey(),
    gateway: t.hex().notNull(),
    batchSeq: t.bigint().notNull(),
    firstCallSeq: t.bigint().notNull(),
    count: t.integer().notNull(),
    root: t.hex().notNull(),
    fee: t.bigint().notNull(),
    headerHash: t.hex().notNull(),
    usage: t.json().$type<{ modelId: `0x${string}`; calls: number; inputTokens: string; outputTokens: string; fee: string }[]>().notNull(),
    calls: t.integer().notNull(),
    inputTokens: t.bigint().notNull(),
    outputTokens: t.bigint().notNull(),
    firstServedAt: t.bigint().notNull(), // unix ms
    lastServedAt: t.bigint().notNull(), // unix ms
    daURI: t.text().notNull(),
    status: t.text().notNull(), // submitted | attested | finalized | rejected
    submitTx: t.hex().notNull(),
    submitBlock: t.bigint().notNull(),
    submittedAt: t.bigint().notNull(), // unix s (block time)
    attestTx: t.hex(),
    attestedAt: t.bigint(),
    verdictDigest: t.hex(),
    finalizeTx: t.hex(),
    finalizedAt: t.bigint(),
    rejectTx: t.hex(),
    rejectedAt: t.bigint(),
    equivocation: t.boolean(),
    challenger: t.hex(),
    refund: t.bigint(),
    proofLatencyMs: t.bigint(), // attestedAt − lastServedAt
    finalityLatencyMs: t.bigint(), // finalizedAt − lastServedAt
  }),
  (t) => ({
    // The per-call range lookup: greatest firstCallSeq <= s for one gateway.
    callRangeIdx: index().on(t.gateway, t.firstCallSeq),
    statusIdx: index().on(t.status, t.submittedAt),
    submittedIdx: index().on(t.submittedAt),
  }),
);

/** Usage of one model inside one batch. */
export const batchUsage = onchainTable(
  "batch_usage",
  (t) => ({
    batchId: t.text().notNull(),
    modelId: t.hex().notNull(),
    gateway: t.hex().notNull(),
    calls: t.integer().notNull(),
    inputTokens: t.bigint().notNull(),
    outputTokens: t.bigint().notNull(),
    fee: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.batchId, t.modelId] }), modelIdx: index().on(t.modelId) }),
);

/** Rollup columns shared by every time-bucketed table. Rejected batches are taken back out. */
const usageColumns = (t: PgColumnsBuilders) => ({
  calls: t.bigint().notNull(),
  inputTokens: t.bigint().notNull(),
  outputTokens: t.bigint().notNull(),
  fees: t.bigint().notNull(),
  batches: t.integer().notNull(),
});

/** Per gateway and model, per hour or day (`period`), bucketed by the submit block's time. */
export const usageRollup = onchainTable(
  "usage_rollup",
  (t) => ({
    period: t.text().notNull(), // hour | day
    bucket: t.bigint().notNull(), // unix s of the bucket start
    gateway: t.hex().notNull(),
    modelId: t.hex().notNull(),
    ...usageColumns(t),
  }),
  (t) => ({
    pk: primaryKey({ columns: [t.period, t.gateway, t.modelId, t.bucket] }),
    modelIdx: index().on(t.period, t.modelId, t.bucket),
    bucketIdx: index().on(t.period, t.bucket),
  }),
);

/** Per gateway, per hour or day: batch counts (which a per-model rollup cannot give). */
export const gatewayRollup = onchainTable(
  "gateway_rollup",
  (t) => ({
    period: t.text().notNull(),
    bucket: t.bigint().notNull(),
    gateway: t.hex().notNull(),
    ...usageColumns(t),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.period, t.gateway, t.bucket] }) }),
);

/** Whole network, per hour or day. */
export const networkRollup = onchainTable(
  "network_rollup",
  (t) => ({
    period: t.text().notNull(),
    bucket: t.bigint().notNull(),
    ...usageColumns(t),
    attested: t.integer().notNull(),
    finalized: t.integer().notNull(),
    rejected: t.integer().notNull(),
    feesDistributed: t.bigint().notNull(),
    burned: t.bigint().notNull(),
    latencySumMs: t.bigint().notNull(),
    latencyCount: t.integer().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.period, t.bucket] }) }),
);

/** Network totals: a single row, id "network". */
export const network = onchainTable("network", (t) => ({
  id: t.text().primaryKey(),
  gateways: t.integer().notNull(),
  batchesSubmitted: t.integer().notNull(),
  batchesAttested: t.integer().notNull(),
  batchesFinalized: t.integer().notNull(),
  batchesRejected: t.integer().notNull(),
  callsSettled: t.bigint().notNull(), // calls in batches that were not rejected
  inputTokens: t.bigint().notNull(),
  outputTokens: t.bigint().notNull(),
  feesSubmitted: t.bigint().notNull(), // escrowed by non-rejected batches
  feesPaid: t.bigint().notNull(), // distributed at finalization
  toValidators: t.bigint().notNull(),
  toTreasury: t.bigint().notNull(),
  burned: t.bigint().notNull(),
  refunded: t.bigint().notNull(),
  rewardsClaimed: t.bigint().notNull(),
  rewardPerValidator: t.bigint().notNull(), // ValidatorSet's accumulator (RewardsAccrued)
  slashed: t.bigint().notNull(),
  deposits: t.bigint().notNull(),
  latencySumMs: t.bigint().notNull(), // proof latency (attest − lastServedAt) over attested batches
  latencyCount: t.integer().notNull(),
}));

/** Proof-latency histogram: log-spaced buckets (see src/lib/latency.ts); p95 is read from it. */
export const latencyHistogram = onchainTable("latency_histogram", (t) => ({
  bucket: t.integer().primaryKey(),
  count: t.integer().notNull(),
}));

/** Fee schedule as governance last set it: id "default" or the modelId. Needed to split a
 *  batch fee per model. */
export const feeRate = onchainTable("fee_rate", (t) => ({
  id: t.text().primaryKey(),
  enabled: t.boolean().notNull(),
  perCall: t.bigint().notNull(),
  perKiloInputToken: t.bigint().notNull(),
  perKiloOutputToken: t.bigint().notNull(),
}));

/** Allowlisted / revoked measurements. */
export const measurement = onchainTable("measurement", (t) => ({
  measurement: t.hex().primaryKey(),
  status: t.text().notNull(), // allowed | revoked
  changedAt: t.bigint().notNull(),
}));

/** Append-only log of every other protocol event (governance, bonds, withdrawals), keyed by event id. */
export const protocolEvent = onchainTable(
  "protocol_event",
  (t) => ({
    id: t.text().primaryKey(),
    contract: t.text().notNull(),
    name: t.text().notNull(),
    args: t.json().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ nameIdx: index().on(t.name) }),
);

export const gatewayRelations = relations(gateway, ({ many }) => ({ batches: many(batch) }));
export const batchRelations = relations(batch, ({ one, many }) => ({
  gateway: one(gateway, { fields: [batch.gateway], references: [gateway.address] }),
  usageEntries: many(batchUsage),
}));
export const batchUsageRelations = relations(batchUsage, ({ one }) => ({
  batch: one(batch, { fields: [batchUsage.batchId], references: [batch.id] }),
}));
