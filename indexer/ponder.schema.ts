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
    slashed: t.bigint().notNull(), // bond taken for equivocation (BondSlashed)
    banned: t.boolean().notNull(), // slashed keys never come back
    bondPenalties: t.integer().notNull(), // quorum rejections that cost bond (BondPenalized)
    bondPenalized: t.bigint().notNull(), // OPG those took
  }),
  (t) => ({ statusIdx: index().on(t.status) }),
);

/** Staked validators, as ValidatorSet and the settlement's rewards say. `status`: admitted (by governance,
 *  not yet staked) | active (staked, counted in quorums) | exiting (left the set, stake locked until
 *  `unlockAt`) | banned (slashed for contradicting verdicts) | withdrawn (took its stake after exiting;
 *  the contract forgets it). Rewards: `rewardsEarned` is this validator's equal share of the validator
 *  fees of every finalized batch its attestation covered; owed = earned − claimed. */
export const validator = onchainTable(
  "validator",
  (t) => ({
    address: t.hex().primaryKey(),
    status: t.text().notNull(),
    stake: t.bigint().notNull(),
    admittedAt: t.bigint(), // unix s
    joinedAt: t.bigint(), // first entered the active set
    exitingAt: t.bigint(), // left the active set (requestExit, removeValidator or forced by a slash)
    unlockAt: t.bigint(), // stake withdrawable from
    withdrawnAt: t.bigint(),
    attestations: t.integer().notNull(), // attestations (quorum signatures recorded on-chain) it signed
    rewardsEarned: t.bigint().notNull(),
    rewardsClaimed: t.bigint().notNull(), // RewardsClaimed
    slashes: t.integer().notNull(), // ValidatorSlashed events
    slashedAmount: t.bigint().notNull(),
    banned: t.boolean().notNull(),
    bannedAt: t.bigint(),
  }),
  (t) => ({ statusIdx: index().on(t.status) }),
);

/** One row per `attest` call: the quorum that signed, whose members share the validator fees of the
 *  batches it covers when they finalize. */
export const attestation = onchainTable("attestation", (t) => ({
  id: t.bigint().primaryKey(), // the contract's uint48 attestationId
  verdictDigest: t.hex().notNull(),
  signers: t.json().$type<`0x${string}`[]>().notNull(), // ascending, lowercase
  batchCount: t.integer().notNull(), // batches it attested (the `batches` relation lists them)
  tx: t.hex().notNull(),
  attestedAt: t.bigint().notNull(),
  feesDistributed: t.bigint().notNull(), // total fees of its batches finalized so far
  toValidators: t.bigint().notNull(),
}));

/** Protocol parameters the indexer needs (id "protocol"), as the latest governance events set them. */
export const protocolParams = onchainTable("protocol_params", (t) => ({
  id: t.text().primaryKey(),
  challengeWindow: t.bigint().notNull(), // seconds, from attestation
  withdrawDelay: t.bigint().notNull(),
  attesterSlashBps: t.integer().notNull(),
  quorum: t.bigint().notNull(), // configured k; the effective quorum is max(k, active/2 + 1)
  minStake: t.bigint().notNull(),
  exitDelay: t.bigint().notNull(),
  proverRewardBps: t.integer().notNull(),
  minBond: t.bigint().notNull(),
  rejectedSlashBps: t.integer().notNull(),
  challengerRewardBps: t.integer().notNull(),
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
    usage: t
      .json()
      .$type<{ modelId: `0x${string}`; calls: number; inputTokens: string; outputTokens: string; fee: string }[]>()
      .notNull(),
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
    attestedAt: t.bigint(), // unix s: the challenge window starts here
    attestationId: t.bigint(),
    verdictDigest: t.hex(),
    windowEnd: t.bigint(), // attestedAt + challengeWindow: finalizable from, challengeable until
    finalizeTx: t.hex(),
    finalizedAt: t.bigint(),
    rejectTx: t.hex(),
    rejectedAt: t.bigint(),
    equivocation: t.boolean(),
    challenger: t.hex(),
    refund: t.bigint(),
    proofLatencyMs: t.bigint(), // attestedAt − lastServedAt
    finalityLatencyMs: t.bigint(), // finalizedAt − lastServedAt
    receiptsIndexed: t.boolean().notNull(), // its calls are in `call` (the DA answered and matched the root)
  }),
  (t) => ({
    // The per-call range lookup: greatest firstCallSeq <= s for one gateway.
    callRangeIdx: index().on(t.gateway, t.firstCallSeq),
    statusIdx: index().on(t.status, t.submittedAt),
    submittedIdx: index().on(t.submittedAt),
    attestationIdx: index().on(t.attestationId),
  }),
);

/** One row per served call of a settled batch, from the receipts the gateway published at the
 *  batch's daURI, kept only when they rebuild the settled root (src/lib/receipts.ts): the lookup
 *  by request hash. A batch whose receipts could not be fetched has `receiptsIndexed` false. */
export const call = onchainTable(
  "call",
  (t) => ({
    id: t.text().primaryKey(), // `${gateway}:${callSeq}`
    requestHash: t.hex().notNull(),
    responseHash: t.hex().notNull(),
    gateway: t.hex().notNull(),
    callSeq: t.bigint().notNull(),
    batchId: t.text().notNull(),
    modelId: t.hex().notNull(),
    inputTokens: t.integer().notNull(),
    outputTokens: t.integer().notNull(),
    servedAt: t.bigint().notNull(), // unix ms
  }),
  (t) => ({ requestIdx: index().on(t.requestHash) }),
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
    toValidators: t.bigint().notNull(),
    toTreasury: t.bigint().notNull(),
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
  slashed: t.bigint().notNull(), // gateway bonds slashed for equivocation
  bondPenalized: t.bigint().notNull(), // gateway bonds taken by quorum rejections
  stakeSlashed: t.bigint().notNull(), // validator stakes slashed
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
  attestation: one(attestation, { fields: [batch.attestationId], references: [attestation.id] }),
  usageEntries: many(batchUsage),
}));
export const attestationRelations = relations(attestation, ({ many }) => ({ batches: many(batch) }));
export const callRelations = relations(call, ({ one }) => ({
  batch: one(batch, { fields: [call.batchId], references: [batch.id] }),
}));
export const batchUsageRelations = relations(batchUsage, ({ one }) => ({
  batch: one(batch, { fields: [batchUsage.batchId], references: [batch.id] }),
}));
