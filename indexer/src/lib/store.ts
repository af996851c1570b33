/**
 * Shared writes for the handlers: default rows and upserted counters. Every function takes the
 * handler's `db`, so all state lives in Ponder tables (reverted on reorgs), none in memory, and the
 * event's chain id (`context.chain.id`): every row is keyed by the chain it came from.
 */
import type { Context } from "ponder:registry";
import { gateway, networkCounters, networkHour, protocolEvent, protocolParams, validator } from "ponder:schema";
import { bucketOf } from "./time.js";

export type Db = Context["db"];
type Hex = `0x${string}`;

export const NETWORK_ID = "network";

export const emptyGateway = (chainId: number, address: Hex) => ({
  chainId,
  address,
  bond: 0n,
  status: "unregistered",
  activeUntil: 0n,
  approvalNonce: 0n,
  balance: 0n,
  pendingWithdrawal: 0n,
  totalDeposited: 0n,
  nextBatchSeq: 0n,
  nextCallSeq: 0n,
  batches: 0,
  calls: 0n,
  inputTokens: 0n,
  outputTokens: 0n,
  fees: 0n,
  rejectedBatches: 0,
  slashed: 0n,
  banned: false,
  bondPenalties: 0,
  bondPenalized: 0n,
});

export const emptyValidator = (chainId: number, address: Hex) => ({
  chainId,
  address,
  status: "admitted",
  stake: 0n,
  attestations: 0,
  rewardsEarned: 0n,
  rewardsClaimed: 0n,
  slashes: 0,
  slashedAmount: 0n,
  banned: false,
});

/** Makes sure a validator row exists (every signer was admitted first on a consistent chain). */
export async function touchValidator(db: Db, chainId: number, address: Hex): Promise<void> {
  await db.insert(validator).values(emptyValidator(chainId, address)).onConflictDoNothing();
}

export const PARAMS_ID = "protocol";
const emptyParams = {
  chainId: 0,
  id: PARAMS_ID,
  challengeWindow: 0n,
  withdrawDelay: 0n,
  attesterSlashBps: 0,
  quorum: 0n,
  minStake: 0n,
  exitDelay: 0n,
  proverRewardBps: 0,
  minBond: 0n,
  rejectedSlashBps: 0,
  challengerRewardBps: 0,
};
export type ProtocolParams = typeof emptyParams;

/** Sets some protocol parameters (the constructors emit every one of them, so none stays 0). */
export async function setParams(
  db: Db,
  chainId: number,
  values: Partial<Omit<ProtocolParams, "id" | "chainId">>,
): Promise<void> {
  await db
    .insert(protocolParams)
    .values({ ...emptyParams, ...values, chainId })
    .onConflictDoUpdate(values);
}

export async function getParams(db: Db, chainId: number): Promise<ProtocolParams> {
  return (await db.find(protocolParams, { chainId, id: PARAMS_ID })) ?? { ...emptyParams, chainId };
}

/** A chain's network totals before any event (also what the API answers before the first one). */
export const emptyNetwork = (chainId: number) => ({
  chainId,
  id: NETWORK_ID,
  gateways: 0,
  batchesSubmitted: 0,
  batchesAttested: 0,
  batchesFinalized: 0,
  batchesRejected: 0,
  callsSettled: 0n,
  inputTokens: 0n,
  outputTokens: 0n,
  feesSubmitted: 0n,
  feesPaid: 0n,
  toValidators: 0n,
  toTreasury: 0n,
  burned: 0n,
  refunded: 0n,
  rewardsClaimed: 0n,
  slashed: 0n,
  bondPenalized: 0n,
  stakeSlashed: 0n,
  deposits: 0n,
  latencySumMs: 0n,
  latencyCount: 0,
});

/** The counters the `network` view does not sum from the gateway rows. */
const emptyCounters = {
  chainId: 0,
  id: NETWORK_ID,
  gateways: 0,
  batchesAttested: 0,
  batchesFinalized: 0,
  batchesRejected: 0,
  feesPaid: 0n,
  toValidators: 0n,
  toTreasury: 0n,
  burned: 0n,
  refunded: 0n,
  rewardsClaimed: 0n,
  slashed: 0n,
  bondPenalized: 0n,
  stakeSlashed: 0n,
  deposits: 0n,
  latencySumMs: 0n,
  latencyCount: 0,
};
type Counters = typeof emptyCounters;

/** Adds `delta` to the network counters (numeric fields only). */
export async function bumpNetwork(
  db: Db,
  chainId: number,
  delta: Partial<Omit<Counters, "id" | "chainId">>,
): Promise<void> {
  // The update callback returns only the changed columns: Ponder copies and validates what it is given.
  await db
    .insert(networkCounters)
    .values(applyDelta({ ...emptyCounters, chainId }, delta))
    .onConflictDoUpdate((row) => addDelta(row, delta));
}

/** Makes sure a gateway row exists (a batch may name a key the registry has not told us about). */
export async function touchGateway(db: Db, chainId: number, address: Hex): Promise<void> {
  await db.insert(gateway).values(emptyGateway(chainId, address)).onConflictDoNothing();
}

const zeroNetworkHour = () => ({
  attested: 0,
  finalized: 0,
  rejected: 0,
  feesDistributed: 0n,
  burned: 0n,
  toValidators: 0n,
  toTreasury: 0n,
  latencySumMs: 0n,
  latencyCount: 0,
});
type NetworkHourDelta = Partial<ReturnType<typeof zeroNetworkHour>>;

/** Adds to the network's hour row: verdicts, payouts and latency (usage is summed from the batches). */
export async function bumpNetworkRollups(db: Db, chainId: number, ts: bigint, d: NetworkHourDelta): Promise<void> {
  await db
    .insert(networkHour)
    .values({ chainId, bucket: bucketOf(ts, "hour"), ...applyDelta(zeroNetworkHour(), d) })
    .onConflictDoUpdate((row) => addDelta(row, d));
}

/** Returns `base` with every numeric field of `delta` added (bigint to bigint, number to number). */
function applyDelta<T extends object>(base: T, delta: Partial<Record<keyof T, unknown>>): T {
  const out = base as Record<string, unknown>;
  for (const [k, v] of Object.entries(delta)) {
    if (v === undefined) continue;
    const cur = out[k];
    if (typeof v === "bigint") out[k] = ((cur as bigint | undefined) ?? 0n) + v;
    else if (typeof v === "number") out[k] = ((cur as number | undefined) ?? 0) + v;
  }
  return base;
}

/** The numeric fields of `delta`, each added to the same field of `row` (the columns an upsert changes). */
function addDelta<T extends object>(row: T, delta: object): Partial<T> {
  const src = row as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in delta) {
    const v = (delta as Record<string, unknown>)[k];
    if (typeof v === "bigint") out[k] = ((src[k] as bigint | undefined) ?? 0n) + v;
    else if (typeof v === "number") out[k] = ((src[k] as number | undefined) ?? 0) + v;
  }
  return out as Partial<T>;
}

/** Appends an event to the protocol log, args with bigints as decimal strings. */
export async function logEvent(
  db: Db,
  chainId: number,
  event: { id: string; args: unknown; block: { number: bigint; timestamp: bigint }; transaction: { hash: Hex } },
  contract: string,
  name: string,
): Promise<void> {
  const args = JSON.parse(JSON.stringify(event.args ?? {}, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  await db.insert(protocolEvent).values({
    chainId,
    id: event.id,
    contract,
    name,
    args,
    blockNumber: event.block.number,
    timestamp: event.block.timestamp,
    txHash: event.transaction.hash,
  });
}
