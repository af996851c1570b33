/**
 * ValidatorSet handlers: admission, stake, exit, withdrawal and slashing of staked validators, and the
 * quorum / stake parameters. Rewards are per signer and live in the settlement (ProofSettlement.ts).
 */
import { ponder } from "ponder:registry";
import { validator } from "ponder:schema";
import { bumpNetwork, emptyValidator, logEvent, setParams, touchValidator } from "./lib/store.js";

type Hex = `0x${string}`;
const key = (a: Hex) => a.toLowerCase() as Hex;

ponder.on("ValidatorSet:ValidatorAdmitted", async ({ event, context }) => {
  const address = key(event.args.validator);
  // Re-admission after a withdrawal keeps the history (attestations, rewards, slashes).
  const row = {
    status: "admitted",
    stake: 0n,
    admittedAt: event.block.timestamp,
    exitingAt: null,
    unlockAt: null,
    withdrawnAt: null,
  };
  await context.db
    .insert(validator)
    .values({ ...emptyValidator(context.chain.id, address), ...row })
    .onConflictDoUpdate(row);
});

ponder.on("ValidatorSet:StakeAdded", async ({ event, context }) => {
  const address = key(event.args.validator);
  await touchValidator(context.db, context.chain.id, address);
  await context.db.update(validator, { chainId: context.chain.id, address }).set({ stake: event.args.stake });
});

ponder.on("ValidatorSet:ValidatorJoined", async ({ event, context }) => {
  const address = key(event.args.validator);
  await touchValidator(context.db, context.chain.id, address);
  await context.db
    .update(validator, { chainId: context.chain.id, address })
    .set({ status: "active", stake: event.args.stake, joinedAt: event.block.timestamp });
});

ponder.on("ValidatorSet:ValidatorExiting", async ({ event, context }) => {
  const address = key(event.args.validator);
  await touchValidator(context.db, context.chain.id, address);
  await context.db
    .update(validator, { chainId: context.chain.id, address })
    .set({ status: "exiting", exitingAt: event.block.timestamp, unlockAt: event.args.unlockAt });
  await logEvent(context.db, context.chain.id, event, "ValidatorSet", "ValidatorExiting");
});

ponder.on("ValidatorSet:StakeWithdrawn", async ({ event, context }) => {
  const address = key(event.args.validator);
  await touchValidator(context.db, context.chain.id, address);
  await context.db
    .update(validator, { chainId: context.chain.id, address })
    .set({ status: "withdrawn", stake: 0n, withdrawnAt: event.block.timestamp });
  await logEvent(context.db, context.chain.id, event, "ValidatorSet", "StakeWithdrawn");
});

ponder.on("ValidatorSet:ValidatorDismissed", async ({ event, context }) => {
  const address = key(event.args.validator);
  await touchValidator(context.db, context.chain.id, address);
  await context.db.update(validator, { chainId: context.chain.id, address }).set({ status: "dismissed" });
  await logEvent(context.db, context.chain.id, event, "ValidatorSet", "ValidatorDismissed");
});

ponder.on("ValidatorSet:ValidatorSlashed", async ({ event, context }) => {
  const a = event.args;
  const address = key(a.validator);
  const ts = event.block.timestamp;
  await touchValidator(context.db, context.chain.id, address);
  // A partial slash (attested an equivocating batch) may force an exit: ValidatorExiting came first.
  await context.db.update(validator, { chainId: context.chain.id, address }).set((row) => ({
    stake: a.banned ? 0n : row.stake - a.amount,
    slashes: row.slashes + 1,
    slashedAmount: row.slashedAmount + a.amount,
    ...(a.banned ? { status: "banned", banned: true, bannedAt: ts } : {}),
  }));
  await bumpNetwork(context.db, context.chain.id, { stakeSlashed: a.amount });
  await logEvent(context.db, context.chain.id, event, "ValidatorSet", "ValidatorSlashed");
});

ponder.on("ValidatorSet:QuorumChanged", async ({ event, context }) => {
  await setParams(context.db, context.chain.id, { quorum: event.args.quorum });
  await logEvent(context.db, context.chain.id, event, "ValidatorSet", "QuorumChanged");
});

ponder.on("ValidatorSet:StakeParamsChanged", async ({ event, context }) => {
  const { minStake, exitDelay, proverRewardBps } = event.args;
  await setParams(context.db, context.chain.id, { minStake, exitDelay, proverRewardBps });
  await logEvent(context.db, context.chain.id, event, "ValidatorSet", "StakeParamsChanged");
});

ponder.on("ValidatorSet:SlashCommitted", async ({ event, context }) => {
  await logEvent(context.db, context.chain.id, event, "ValidatorSet", "SlashCommitted");
});
