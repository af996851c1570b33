/**
 * Attacks on the orphaned-receipt rule (`GatewayRegistry.closeAccount`, `accountClosed`,
 * `ProofSettlement.challengeOrphanedReceipt`): an honest operator must not lose its bond, a dishonest
 * one must not gain. Each test plays one attack and asserts what should stop it.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, maxUint64 } from "viem";
import {
  ENCLAVE_A,
  ENCLAVE_B,
  MEASUREMENT_A,
  MEASUREMENT_B,
  PARAMS,
  SALT,
  approveEnclave,
  attest,
  finalize,
  localAccount,
  type Batch,
  baseFixture,
  buildBatch,
  challengeCommitment,
  randomReceipts,
  receiptSig,
  registerEnclave,
  sendBatch,
  submitBatch,
  type Ctx,
} from "./helpers.js";
import { orphanCommitment } from "../../sdk/challenge.js";
import { hashReceipt } from "../../sdk/hashing.js";
import type { Receipt } from "../../sdk/types.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const A = getAddress(ENCLAVE_A.address);
const B = getAddress(ENCLAVE_B.address);

/**
 * Honest A settled batch 0 (callSeqs 0..7) and signed 8..11, durable in its hook and handed to users,
 * its next batch not yet sealed. B (same operator, another image) is registered and approved.
 */
async function inFlightFixture(): Promise<Ctx & { inFlight: Receipt[]; batch0: Batch }> {
  const ctx = await baseFixture(viem);
  const batch0 = await submitBatch(ctx);
  await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
  await approveEnclave(ctx, ENCLAVE_B);
  await ctx.settlement.write.deposit([B, PARAMS.deposit], { account: ctx.operator });
  return Object.assign(ctx, { inFlight: randomReceipts(A, 8n, 4), batch0 });
}

/** Commit, then reveal in the next block (`key` signed `r`). */
async function proveOrphan(ctx: Ctx, r: Receipt, account: `0x${string}` = ctx.challenger, key = ENCLAVE_A) {
  await ctx.settlement.write.commitChallenge([orphanCommitment(account, hashReceipt(r), SALT)], { account });
  return ctx.settlement.write.challengeOrphanedReceipt([r, await receiptSig(ctx, key, r), SALT], { account });
}

describe("orphaned receipts: attacks", () => {
  it("test_attack_measurementRevokedWithReceiptsInFlight_revokedImageReceiptsProveNothing", async () => {
    const ctx = await loadFixture(inFlightFixture);
    const bond = (await ctx.registry.read.enclave([A])).bond;
    // Governance revokes A's image (a flaw found in it): A's in-flight receipts can no longer settle,
    // neither by A itself nor by a successor (signsFor needs the account's image allowed).
    await ctx.registry.write.revokeMeasurement([MEASUREMENT_A]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, await buildBatch(ctx, { receipts: ctx.inFlight })),
      ctx.settlement,
      "SettlementGatewayInactive",
      [A],
    );
    await ctx.registry.write.succeed([A, B], { account: ctx.operator });
    assert.equal(await ctx.registry.read.signsFor([A, B]), false);
    // The operator did everything right; the account closes (anyone, after the delay).
    const [, retiredAt] = await ctx.registry.read.succession([A]);
    await networkHelpers.time.increaseTo(retiredAt + BigInt(PARAMS.bondWithdrawDelay));
    await ctx.registry.write.closeAccount([A], { account: ctx.stranger });
    // A user's honest receipt, or one forged by whoever extracted the key from the flawed image (the
    // reason for the revocation), must not take the bond of a key that could never settle it.
    const forged: Receipt = { ...randomReceipts(A, maxUint64 - 1n, 1)[0]! };
    for (const r of [ctx.inFlight[0]!, forged]) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        proveOrphan(ctx, r),
        ctx.settlement,
        "SettlementAccountOpen",
        [A],
      );
    }
    const a = await ctx.registry.read.enclave([A]);
    assert.equal(a.slashed, false);
    assert.equal(a.bond, bond);
    // The operator takes its bond back through the ordinary withdrawal.
    await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
    await viem.assertions.revertWithCustomErrorWithArgs(
      proveOrphan(ctx, ctx.inFlight[1]!, ctx.stranger),
      ctx.settlement,
      "SettlementAccountOpen",
      [A],
    );
    await attest(ctx, [ctx.batch0]);
    await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
    await finalize(ctx, [ctx.batch0]);
    await viem.assertions.emit(
      ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
      ctx.registry,
      "BondWithdrawn",
    );
  });

  it("test_attack_orphanRevealWithEquivocationCommitment_settlementNotCommitted", async () => {
    const ctx = await loadFixture(inFlightFixture);
    await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
    const r = ctx.inFlight[0]!;
    // A 4-field equivocation commitment (any header hash, here the receipt's own) never opens the
    // 3-field orphan reveal: the preimages differ in length, so no choice of fields makes them equal.
    const eq = challengeCommitment(ctx.challenger, hashReceipt(r), r);
    await ctx.settlement.write.commitChallenge([eq], { account: ctx.challenger });
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.settlement.write.challengeOrphanedReceipt([r, await receiptSig(ctx, ENCLAVE_A, r), SALT], {
        account: ctx.challenger,
      }),
      ctx.settlement,
      "SettlementNotCommitted",
      [orphanCommitment(ctx.challenger, hashReceipt(r), SALT)],
    );
    // Nor is an orphan commitment consumed twice: the first reveal deletes it.
    await viem.assertions.emit(proveOrphan(ctx, r), ctx.settlement, "OrphanedReceiptProven");
    await viem.assertions.revertWithCustomError(
      ctx.settlement.write.challengeOrphanedReceipt([r, await receiptSig(ctx, ENCLAVE_A, r), SALT], {
        account: ctx.challenger,
      }),
      ctx.settlement,
      "SettlementNotCommitted",
    );
  });

  it("test_attack_operatorSelfProvesOrphanAheadOfUser_recoversOnlyChallengerShare", async () => {
    const ctx = await loadFixture(inFlightFixture);
    const bond = (await ctx.registry.read.enclave([A])).bond;
    await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
    // The operator (its host holds every receipt) proves first, from its own address.
    const before = await ctx.token.read.balanceOf([ctx.operator]);
    await viem.assertions.emit(
      proveOrphan(ctx, ctx.inFlight[3]!, ctx.operator),
      ctx.settlement,
      "OrphanedReceiptProven",
    );
    const recovered = (await ctx.token.read.balanceOf([ctx.operator])) - before;
    assert.equal(recovered, (bond * BigInt(PARAMS.challengerRewardBps)) / 10_000n, "at most the 10 % share");
    // The user's later proof finds nothing: the same bound as an operator self-reporting equivocation.
    await viem.assertions.revertWithCustomErrorWithArgs(
      proveOrphan(ctx, ctx.inFlight[0]!),
      ctx.settlement,
      "SettlementNothingToSlash",
      [A],
    );
  });

  it("test_attack_retiredAccountClosedByBondRequestReopensAfterWithdrawal_closedStaysClosed", async () => {
    const ctx = await loadFixture(inFlightFixture);
    await ctx.registry.write.succeed([A, B], { account: ctx.operator });
    // B settles 8..9 and the operator asks for A's bond back: that closes the account at 10.
    const batch1 = await submitBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B, receipts: ctx.inFlight.slice(0, 2) });
    await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
    assert.equal(await ctx.registry.read.accountClosed([A]), true);
    // Users holding 10..11 had the whole delay to prove; the open batches finalize meanwhile.
    await attest(ctx, [ctx.batch0, batch1]);
    await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
    await finalize(ctx, [ctx.batch0, batch1]);
    await ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator });
    // Once closed the account stays closed: B must not settle past the end (over a user's receipt).
    assert.equal(await ctx.registry.read.accountClosed([A]), true, "the account reopened");
    assert.equal(await ctx.registry.read.signsFor([A, B]), false);
  });

  it("test_attack_successorSlashedBeforeSettlingPredecessor_accountHandedOnPastSlashedSuccessor", async () => {
    const ctx = await loadFixture(inFlightFixture);
    await ctx.registry.write.succeed([A, B], { account: ctx.operator });
    // B is slashed before it settles A's in-flight receipts (here: its own bond request left one of its
    // own receipts unsettled). A slashed key is banned and can never be retired (succeed refuses it).
    await ctx.registry.write.requestBondWithdraw([B], { account: ctx.operator });
    await viem.assertions.emit(
      proveOrphan(ctx, randomReceipts(B, 0n, 1)[0]!, ctx.challenger, ENCLAVE_B),
      ctx.settlement,
      "OrphanedReceiptProven",
    );
    // A's account must still reach a live successor, or after the delay anyone closes it and A's honest
    // in-flight receipts (durable in the host store) take A's bond too.
    const ENCLAVE_C = localAccount("enclave C");
    const C = getAddress(ENCLAVE_C.address);
    await registerEnclave(ctx, ENCLAVE_C, MEASUREMENT_B);
    await approveEnclave(ctx, ENCLAVE_C);
    await ctx.registry.write.succeed([A, C], { account: ctx.operator });
    await submitBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_C, receipts: ctx.inFlight });
    assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [12n, 2n]);
  });
});
