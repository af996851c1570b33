/**
 * proofpath indexer tables. Everything is written by event handlers only, so Ponder can revert any
 * write on a reorg: aggregates are plain upserted counters (no read-modify-write outside a handler)
 * and percentiles come from a histogram table rather than a stored value.
 *
 * One indexer can follow several chains: every row carries the `chainId` it was indexed from, and
 * every primary key starts with it, so the same gateway key, batch or validator on two chains are
 * two rows, never one (views sum per chain too).
 */
import { bigint, hex, index, integer, onchainTable, onchainView, primaryKey, relations, sql, text } from "ponder";

/** A SQL fragment (a bucket expression) spliced into a view. */
type SQL = ReturnType<typeof sql.raw>;

/** Enclave keys (the `gateway` of a batch). `status` is what the chain last said; the API turns an
 *  `active` key whose `activeUntil` has passed into `expired`. */
export const gateway = onchainTable(
  "gateway",
  (t) => ({
    chainId: t.integer().notNull(),
    address: t.hex().notNull(),
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
    // Key succession (EnclaveSucceeded): a retired key names the key that now signs its account,
    // and that key names the account it signs for.
    successor: t.hex(),
    retiredAt: t.bigint(), // unix s
    predecessor: t.hex(),
    // Account closure (AccountClosed): no batch settles for it again; a receipt its key signed at or
    // above `accountEnd` proves against its bond (ProofSettlement.challengeOrphanedReceipt).
    closedAt: t.bigint(), // unix s
    accountEnd: t.bigint(), // the account's nextCallSeq at closure
    orphansProven: t.integer().notNull().default(0), // OrphanedReceiptProven events against the key
  }),
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.address] }), statusIdx: index().on(t.status) }),
);

/** Staked validators, as ValidatorSet and the settlement's rewards say. `status`: admitted (by governance,
 *  not yet staked) | active (staked, counted in quorums) | exiting (left the set, stake locked until
 *  `unlockAt`) | banned (slashed for contradicting verdicts) | withdrawn (took its stake after exiting;
 *  the contract forgets it). Rewards: `rewardsEarned` is this validator's equal share of the validator
 *  fees of every finalized batch its attestation covered; owed = earned − claimed. */
export const validator = onchainTable(
  "validator",
  (t) => ({
    chainId: t.integer().notNull(),
    address: t.hex().notNull(),
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
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.address] }), statusIdx: index().on(t.status) }),
);

/** One row per `attest` call: the quorum that signed, whose members share the validator fees of the
 *  batches it covers when they finalize. */
export const attestation = onchainTable(
  "attestation",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.bigint().notNull(), // the contract's uint48 attestationId
    verdictDigest: t.hex().notNull(),
    signers: t.json().$type<`0x${string}`[]>().notNull(), // ascending, lowercase
    batchCount: t.integer().notNull(), // batches it attested (the `batches` relation lists them)
    tx: t.hex().notNull(),
    attestedAt: t.bigint().notNull(),
    feesDistributed: t.bigint().notNull(), // total fees of its batches finalized so far
    toValidators: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.id] }) }),
);

/** Protocol parameters the indexer needs (id "protocol"), as the latest governance events set them. */
export const protocolParams = onchainTable(
  "protocol_params",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
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
  }),
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.id] }) }),
);

/** The hour and the day (unix s) of a unix-s time column: the rollups' buckets. */
const HOUR_OF = (column: string) => sql.raw(`(${column} - ${column} % 3600)`);
const DAY_OF = (column: string) => sql.raw(`(${column} - ${column} % 86400)`);

/** One row per settled batch; `id` = `${gateway}:${batchSeq}` (gateway lowercase), unique per chain. */
export const batch = onchainTable(
  "batch",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
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
    pk: primaryKey({ columns: [t.chainId, t.id] }),
    // The per-call range lookup: greatest firstCallSeq <= s for one gateway on one chain.
    callRangeIdx: index().on(t.chainId, t.gateway, t.firstCallSeq),
    statusIdx: index().on(t.status, t.submittedAt),
    submittedIdx: index().on(t.chainId, t.submittedAt),
    attestationIdx: index().on(t.attestationId),
    // The rollup views' buckets (below): a window on a view's `bucket` is pushed down to these
    // expressions, so a read covers the batches of its window instead of the whole table. (Named:
    // Ponder names an unnamed index after its columns, and expressions have none.)
    hourIdx: index("batch_hour_index").on(t.chainId, HOUR_OF("submitted_at")),
    dayIdx: index("batch_day_index").on(t.chainId, DAY_OF("submitted_at")),
    gatewayHourIdx: index("batch_gateway_hour_index").on(t.chainId, t.gateway, HOUR_OF("submitted_at")),
    gatewayDayIdx: index("batch_gateway_day_index").on(t.chainId, t.gateway, DAY_OF("submitted_at")),
  }),
);

/** One row per served call of a settled batch, from the receipts the gateway published at the
 *  batch's daURI, kept only when they rebuild the settled root (src/lib/receipts.ts): the lookup
 *  by request hash. A batch whose receipts could not be fetched has `receiptsIndexed` false. */
export const call = onchainTable(
  "call",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(), // `${gateway}:${callSeq}`
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
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.id] }), requestIdx: index().on(t.requestHash) }),
);

/** The per-model entries of a batch's `usage`, one row each (the batch row is their one copy). Ponder's
 *  view parser takes no set-returning function in FROM, hence the one in the select list. */
const USAGE_ENTRIES = sql`(
  select chain_id, batch_id, (u->>'modelId') as model_id, gateway, (u->>'calls')::integer as calls,
    (u->>'inputTokens')::numeric(78) as input_tokens, (u->>'outputTokens')::numeric(78) as output_tokens,
    (u->>'fee')::numeric(78) as fee, status, submitted_at
  from (
    select chain_id, id as batch_id, gateway, status, submitted_at, jsonb_array_elements(usage::jsonb) as u from ${batch}
  ) b)`;

/** Usage of one model inside one batch: a view over `batch.usage`. */
export const batchUsage = onchainView("batch_usage", {
  chainId: integer().notNull(),
  batchId: text().notNull(),
  modelId: hex().notNull(),
  gateway: hex().notNull(),
  calls: integer().notNull(),
  inputTokens: bigint().notNull(),
  outputTokens: bigint().notNull(),
  fee: bigint().notNull(),
}).as(
  sql`select chain_id, batch_id, model_id, gateway, calls, input_tokens, output_tokens, fee from ${USAGE_ENTRIES} e`,
);

/**
 * Rollups are derived at read time. Handlers write per event only what cannot be derived (the batch
 * with its per-model usage, the gateway's state), plus `network_hour`: what no batch row holds (payouts
 * per finalize call) and the verdict counters. `usage_rollup`, `gateway_rollup` and `network_rollup`
 * keep the rows and columns the handlers used to write (period `hour` | `day`), as views: a bucket
 * sums the batches submitted in it that were not rejected (a rejection takes a batch back out of the
 * bucket it was submitted in, as before), a day sums its hours.
 */
/** Whole network, per hour: what no batch row holds (payouts per finalize call), and verdict counts. */
export const networkHour = onchainTable(
  "network_hour",
  (t) => ({
    chainId: t.integer().notNull(),
    bucket: t.bigint().notNull(),
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
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.bucket] }) }),
);

/** The columns of a rollup view (views take column builders, not the table builder `t`). */
const usageViewColumns = () => ({
  chainId: integer().notNull(),
  bucket: bigint().notNull(), // unix s of the hour or day
  calls: bigint().notNull(),
  inputTokens: bigint().notNull(),
  outputTokens: bigint().notNull(),
  fees: bigint().notNull(),
  batches: integer().notNull(),
});

/** Settled (not rejected) usage per gateway and model, per `bucket` (HOUR_OF or DAY_OF). */
const usageBuckets = (bucket: SQL) => sql`
  select gateway, model_id, chain_id, ${bucket} as bucket, sum(calls) as calls, sum(input_tokens) as input_tokens,
    sum(output_tokens) as output_tokens, sum(fee) as fees, count(*)::integer as batches
  from ${USAGE_ENTRIES} e
  where status <> 'rejected'
  group by chain_id, gateway, model_id, ${bucket}`;

/** Settled (not rejected) usage per gateway, per `bucket`. */
const gatewayBuckets = (bucket: SQL) => sql`
  select gateway, chain_id, ${bucket} as bucket, sum(calls) as calls, sum(input_tokens) as input_tokens,
    sum(output_tokens) as output_tokens, sum(fee) as fees, count(*)::integer as batches
  from ${batch} where status <> 'rejected'
  group by chain_id, gateway, ${bucket}`;

/** Per gateway and model, per hour or day (`period`), bucketed by the submit block's time. */
export const usageRollup = onchainView("usage_rollup", {
  period: text().notNull(), // hour | day
  gateway: hex().notNull(),
  modelId: hex().notNull(),
  ...usageViewColumns(),
}).as(sql`
  select 'hour' as period, h.* from (${usageBuckets(HOUR_OF("submitted_at"))}) h
  union all
  select 'day', d.* from (${usageBuckets(DAY_OF("submitted_at"))}) d`);

/** Per gateway, per hour or day. */
export const gatewayRollup = onchainView("gateway_rollup", {
  period: text().notNull(),
  gateway: hex().notNull(),
  ...usageViewColumns(),
}).as(sql`
  select 'hour' as period, h.* from (${gatewayBuckets(HOUR_OF("submitted_at"))}) h
  union all
  select 'day', d.* from (${gatewayBuckets(DAY_OF("submitted_at"))}) d`);

/**
 * The whole network of each chain per `batchBucket`/`hourBucket`: the batches' usage beside
 * network_hour (either may lack a bucket), as one union summed per chain and bucket (a full join on
 * the bucket would hide the window from the planner, and it would read every batch).
 */
const networkBuckets = (batchBucket: SQL, hourBucket: SQL) => sql`
  select chain_id, bucket, sum(calls) as calls, sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
    sum(fees) as fees, sum(batches)::integer as batches, sum(attested)::integer as attested,
    sum(finalized)::integer as finalized, sum(rejected)::integer as rejected, sum(fees_distributed) as fees_distributed,
    sum(burned) as burned, sum(to_validators) as to_validators, sum(to_treasury) as to_treasury,
    sum(latency_sum_ms) as latency_sum_ms, sum(latency_count)::integer as latency_count
  from (
    select chain_id, ${batchBucket}::numeric as bucket, calls, input_tokens, output_tokens, fee as fees, 1 as batches,
      0 as attested, 0 as finalized, 0 as rejected, 0 as fees_distributed, 0 as burned, 0 as to_validators,
      0 as to_treasury, 0 as latency_sum_ms, 0 as latency_count
    from ${batch} where status <> 'rejected'
    union all
    select chain_id, ${hourBucket}::numeric, 0, 0, 0, 0, 0, attested, finalized, rejected, fees_distributed, burned,
      to_validators, to_treasury, latency_sum_ms, latency_count
    from ${networkHour}
  ) r
  group by chain_id, bucket`;

/** Whole network of one chain, per hour or day: the batches' usage beside network_hour (either may lack an hour). */
export const networkRollup = onchainView("network_rollup", {
  period: text().notNull(),
  ...usageViewColumns(),
  attested: integer().notNull(),
  finalized: integer().notNull(),
  rejected: integer().notNull(),
  feesDistributed: bigint().notNull(),
  burned: bigint().notNull(),
  toValidators: bigint().notNull(),
  toTreasury: bigint().notNull(),
  latencySumMs: bigint().notNull(),
  latencyCount: integer().notNull(),
}).as(sql`
  select 'hour' as period, h.* from (${networkBuckets(HOUR_OF("submitted_at"), sql.raw("bucket"))}) h
  union all
  select 'day', d.* from (${networkBuckets(DAY_OF("submitted_at"), DAY_OF("bucket"))}) d`);

/** Network counters no other row holds: one row per chain, id "network" (the `network` view adds the rest). */
export const networkCounters = onchainTable(
  "network_counters",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    gateways: t.integer().notNull(),
    batchesAttested: t.integer().notNull(),
    batchesFinalized: t.integer().notNull(),
    batchesRejected: t.integer().notNull(),
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
  }),
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.id] }) }),
);

/** Network totals, one row per chain that has a gateway or a counter (id "network"): the counters,
 *  and what the chain's gateway rows sum to. */
export const network = onchainView("network", {
  chainId: integer().notNull(),
  id: text().notNull(),
  gateways: integer().notNull(),
  batchesSubmitted: integer().notNull(),
  batchesAttested: integer().notNull(),
  batchesFinalized: integer().notNull(),
  batchesRejected: integer().notNull(),
  callsSettled: bigint().notNull(), // calls in batches that were not rejected
  inputTokens: bigint().notNull(),
  outputTokens: bigint().notNull(),
  feesSubmitted: bigint().notNull(), // escrowed by non-rejected batches
  feesPaid: bigint().notNull(),
  toValidators: bigint().notNull(),
  toTreasury: bigint().notNull(),
  burned: bigint().notNull(),
  refunded: bigint().notNull(),
  rewardsClaimed: bigint().notNull(),
  slashed: bigint().notNull(),
  bondPenalized: bigint().notNull(),
  stakeSlashed: bigint().notNull(),
  deposits: bigint().notNull(),
  latencySumMs: bigint().notNull(),
  latencyCount: integer().notNull(),
}).as(sql`
  select coalesce(g.chain_id, c.chain_id) as chain_id, 'network' as id, coalesce(c.gateways, 0) as gateways,
    (coalesce(g.batches, 0) + coalesce(g.rejected, 0))::integer as batches_submitted,
    coalesce(c.batches_attested, 0) as batches_attested, coalesce(c.batches_finalized, 0) as batches_finalized,
    coalesce(c.batches_rejected, 0) as batches_rejected, coalesce(g.calls, 0) as calls_settled,
    coalesce(g.input_tokens, 0) as input_tokens, coalesce(g.output_tokens, 0) as output_tokens,
    coalesce(g.fees, 0) as fees_submitted, coalesce(c.fees_paid, 0) as fees_paid, coalesce(c.to_validators, 0) as to_validators,
    coalesce(c.to_treasury, 0) as to_treasury, coalesce(c.burned, 0) as burned, coalesce(c.refunded, 0) as refunded,
    coalesce(c.rewards_claimed, 0) as rewards_claimed, coalesce(c.slashed, 0) as slashed,
    coalesce(c.bond_penalized, 0) as bond_penalized, coalesce(c.stake_slashed, 0) as stake_slashed,
    coalesce(c.deposits, 0) as deposits, coalesce(c.latency_sum_ms, 0) as latency_sum_ms,
    coalesce(c.latency_count, 0) as latency_count
  from (
    select chain_id, sum(batches) as batches, sum(rejected_batches) as rejected, sum(calls) as calls,
      sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens, sum(fees) as fees
    from ${gateway} group by chain_id) g
  full join ${networkCounters} c on c.chain_id = g.chain_id and c.id = 'network'`);

/** Proof-latency histogram per chain: log-spaced buckets (see src/lib/latency.ts); p95 is read from it. */
export const latencyHistogram = onchainTable(
  "latency_histogram",
  (t) => ({
    chainId: t.integer().notNull(),
    bucket: t.integer().notNull(),
    count: t.integer().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.bucket] }) }),
);

/** Fee schedule as governance last set it: id "default" or the modelId. Needed to split a
 *  batch fee per model. */
export const feeRate = onchainTable(
  "fee_rate",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    enabled: t.boolean().notNull(),
    perCall: t.bigint().notNull(),
    perKiloInputToken: t.bigint().notNull(),
    perKiloOutputToken: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.id] }) }),
);

/** Allowlisted / revoked measurements. */
export const measurement = onchainTable(
  "measurement",
  (t) => ({
    chainId: t.integer().notNull(),
    measurement: t.hex().notNull(),
    status: t.text().notNull(), // allowed | revoked
    changedAt: t.bigint().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.measurement] }) }),
);

/** Append-only log of every other protocol event (governance, bonds, withdrawals), keyed by event id. */
export const protocolEvent = onchainTable(
  "protocol_event",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    contract: t.text().notNull(),
    name: t.text().notNull(),
    args: t.json().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.id] }), nameIdx: index().on(t.name) }),
);

// `batchList`, not `batches`: a relation named like a column hides the column in GraphQL (the
// gateway's `batches` is its count of settled batches).
export const gatewayRelations = relations(gateway, ({ many }) => ({ batchList: many(batch) }));
export const batchRelations = relations(batch, ({ one }) => ({
  gateway: one(gateway, { fields: [batch.chainId, batch.gateway], references: [gateway.chainId, gateway.address] }),
  attestation: one(attestation, {
    fields: [batch.chainId, batch.attestationId],
    references: [attestation.chainId, attestation.id],
  }),
}));
export const attestationRelations = relations(attestation, ({ many }) => ({ batches: many(batch) }));
export const callRelations = relations(call, ({ one }) => ({
  batch: one(batch, { fields: [call.chainId, call.batchId], references: [batch.chainId, batch.id] }),
}));
