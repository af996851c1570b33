/**
 * ValidatorSet handlers. Rewards mirror the contract's accumulator (one network-wide
 * rewardPerValidator, a debt per validator), so an accrual is one write however many validators.
 */
import { ponder } from "ponder:registry";
import { network, validator } from "ponder:schema";
import { bumpNetwork, logEvent, NETWORK_ID } from "./lib/store.js";

type Hex = `0x${string}`;

async function rewardPerValidator(db: Parameters<typeof bumpNetwork>[0]): Promise<bigint> {
  return (await db.find(network, { id: NETWORK_ID }))?.rewardPerValidator ?? 0n;
}

ponder.on("ValidatorSet:ValidatorAdded", async ({ event, context }) => {
  const address = event.args.validator.toLowerCase() as Hex;
  const rpv = await rewardPerValidator(context.db);
  const row = { active: true, addedAt: event.block.timestamp, removedAt: null, rewardDebt: rpv };
  await context.db
    .insert(validator)
    .values({ address, ...row, rewardsCredited: 0n, rewardsClaimed: 0n })
    .onConflictDoUpdate(row);
});

ponder.on("ValidatorSet:ValidatorRemoved", async ({ event, context }) => {
  const address = event.args.validator.toLowerCase() as Hex;
  const rpv = await rewardPerValidator(context.db);
  await context.db.update(validator, { address }).set((row) => ({
    active: false,
    removedAt: event.block.timestamp,
    rewardsCredited: row.rewardsCredited + (rpv - row.rewardDebt),
  }));
});

ponder.on("ValidatorSet:RewardsAccrued", async ({ event, context }) => {
  await bumpNetwork(context.db, { rewardPerValidator: event.args.rewardPerValidator });
});

ponder.on("ValidatorSet:RewardsTaken", async ({ event, context }) => {
  const address = event.args.validator.toLowerCase() as Hex;
  const rpv = await rewardPerValidator(context.db);
  await context.db.update(validator, { address }).set((row) => ({
    rewardsCredited: 0n,
    rewardDebt: rpv,
    rewardsClaimed: row.rewardsClaimed + event.args.amount,
  }));
});

for (const name of ["QuorumChanged", "SettlementSet"] as const) {
  ponder.on(`ValidatorSet:${name}`, async ({ event, context }) => {
    await logEvent(context.db, event, "ValidatorSet", name);
  });
}
