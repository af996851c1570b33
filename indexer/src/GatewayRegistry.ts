/** GatewayRegistry handlers: measurements, enclave keys (status, bond, approval, succession), bond
 *  penalties and slashing (a slashed key is banned for good). */
import { ponder } from "ponder:registry";
import { gateway, measurement } from "ponder:schema";
import { bumpNetwork, emptyGateway, logEvent, setParams, touchGateway } from "./lib/store.js";

type Hex = `0x${string}`;

ponder.on("GatewayRegistry:MeasurementAllowed", async ({ event, context }) => {
  const row = { status: "allowed", changedAt: event.block.timestamp };
  await context.db
    .insert(measurement)
    .values({ chainId: context.chain.id, measurement: event.args.measurement, ...row })
    .onConflictDoUpdate(row);
});

ponder.on("GatewayRegistry:MeasurementRevoked", async ({ event, context }) => {
  const row = { status: "revoked", changedAt: event.block.timestamp };
  await context.db
    .insert(measurement)
    .values({ chainId: context.chain.id, measurement: event.args.measurement, ...row })
    .onConflictDoUpdate(row);
});

ponder.on("GatewayRegistry:EnclaveRegistered", async ({ event, context }) => {
  const a = event.args;
  const address = a.key.toLowerCase() as Hex;
  const reg = {
    operator: a.operator,
    measurement: a.measurement,
    attestationHash: a.attestationHash,
    keyConfigHash: a.keyConfigHash,
    bond: a.bond,
    status: "registered",
    registeredAt: event.block.timestamp,
  };
  // A deposit may have created the row before registration: keep its balances.
  await context.db
    .insert(gateway)
    .values({ ...emptyGateway(context.chain.id, address), ...reg })
    .onConflictDoUpdate(reg);
  await bumpNetwork(context.db, context.chain.id, { gateways: 1 });
});

ponder.on("GatewayRegistry:EnclaveReattested", async ({ event, context }) => {
  const address = event.args.key.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, address);
  await context.db
    .update(gateway, { chainId: context.chain.id, address })
    .set({ attestationHash: event.args.attestationHash, approvalNonce: event.args.approvalNonce });
});

ponder.on("GatewayRegistry:EnclaveApproved", async ({ event, context }) => {
  const address = event.args.key.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, address);
  await context.db.update(gateway, { chainId: context.chain.id, address }).set({
    status: "active",
    activeUntil: event.args.activeUntil,
    approvalNonce: event.args.approvalNonce + 1n,
  });
});

ponder.on("GatewayRegistry:EnclaveDeactivated", async ({ event, context }) => {
  const address = event.args.key.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, address);
  // Deactivation (and a bond withdrawal request, and a slash) bumps the approval nonce: outstanding
  // approvals die.
  await context.db.update(gateway, { chainId: context.chain.id, address }).set((row) => ({
    status: row.status === "slashed" ? "slashed" : "deactivated",
    activeUntil: 0n,
    approvalNonce: row.approvalNonce + 1n,
  }));
});

/**
 * `successor` takes over signing for `predecessor`'s account (the predecessor was deactivated just
 * before, in the same call). A later hand-over names the newer successor; `retiredAt` stays the
 * first retirement. (`previous`, the account's earlier successor, is in the event log.)
 */
ponder.on("GatewayRegistry:EnclaveSucceeded", async ({ event, context }) => {
  const { db } = context;
  const predecessor = event.args.predecessor.toLowerCase() as Hex;
  const successor = event.args.successor.toLowerCase() as Hex;
  const ts = event.block.timestamp;
  await touchGateway(db, context.chain.id, predecessor);
  await db.update(gateway, { chainId: context.chain.id, address: predecessor }).set((row) => ({
    successor,
    retiredAt: row.retiredAt ?? ts,
  }));
  await touchGateway(db, context.chain.id, successor);
  await db.update(gateway, { chainId: context.chain.id, address: successor }).set({ predecessor });
  await logEvent(db, context.chain.id, event, "GatewayRegistry", "EnclaveSucceeded");
});

/** A retired key's account takes no more batches: its end is where a user's orphan proof starts. */
ponder.on("GatewayRegistry:AccountClosed", async ({ event, context }) => {
  const address = event.args.account.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, address);
  await context.db
    .update(gateway, { chainId: context.chain.id, address })
    .set({ closedAt: event.block.timestamp, accountEnd: event.args.nextCallSeq });
  await logEvent(context.db, context.chain.id, event, "GatewayRegistry", "AccountClosed");
});

ponder.on("GatewayRegistry:BondAdded", async ({ event, context }) => {
  const address = event.args.key.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, address);
  await context.db.update(gateway, { chainId: context.chain.id, address }).set({ bond: event.args.bond });
});

ponder.on("GatewayRegistry:BondWithdrawRequested", async ({ event, context }) => {
  await logEvent(context.db, context.chain.id, event, "GatewayRegistry", "BondWithdrawRequested");
});

ponder.on("GatewayRegistry:BondWithdrawn", async ({ event, context }) => {
  const address = event.args.key.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, address);
  await context.db.update(gateway, { chainId: context.chain.id, address }).set({ bond: 0n });
  await logEvent(context.db, context.chain.id, event, "GatewayRegistry", "BondWithdrawn");
});

ponder.on("GatewayRegistry:BondSlashed", async ({ event, context }) => {
  const address = event.args.key.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, address);
  await context.db
    .update(gateway, { chainId: context.chain.id, address })
    .set((row) => ({ bond: 0n, status: "slashed", banned: true, slashed: row.slashed + event.args.slashed }));
  await bumpNetwork(context.db, context.chain.id, { slashed: event.args.slashed });
  await logEvent(context.db, context.chain.id, event, "GatewayRegistry", "BondSlashed");
});

/** A quorum rejected a batch of the key: part of its bond went to the treasury. */
ponder.on("GatewayRegistry:BondPenalized", async ({ event, context }) => {
  const address = event.args.key.toLowerCase() as Hex;
  await touchGateway(context.db, context.chain.id, address);
  await context.db.update(gateway, { chainId: context.chain.id, address }).set((row) => ({
    bond: event.args.bond,
    bondPenalties: row.bondPenalties + 1,
    bondPenalized: row.bondPenalized + event.args.penalty,
  }));
  await bumpNetwork(context.db, context.chain.id, { bondPenalized: event.args.penalty });
  await logEvent(context.db, context.chain.id, event, "GatewayRegistry", "BondPenalized");
});

ponder.on("GatewayRegistry:ParamsChanged", async ({ event, context }) => {
  const { minBond, rejectedSlashBps, challengerRewardBps } = event.args;
  await setParams(context.db, context.chain.id, { minBond, rejectedSlashBps, challengerRewardBps });
  await logEvent(context.db, context.chain.id, event, "GatewayRegistry", "ParamsChanged");
});
