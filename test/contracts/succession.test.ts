/**
 * Key succession (issue 18): a dead enclave key A is retired and succeeded by a new attested key B of
 * the same operator, which settles A's remaining receipts in A's account, signing as itself. Each test
 * plays one attack on that handover and asserts it fails (or costs what the trust model says).
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, keccak256, toHex, zeroAddress } from "viem";
import {
  ENCLAVE_A,
  ENCLAVE_B,
  MEASUREMENT_A,
  MEASUREMENT_B,
  PARAMS,
  Status,
  approveEnclave,
  attest,
  baseFixture,
  buildBatch,
  challenge,
  localAccount,
  randomReceipts,
  receiptSig,
  registerEnclave,
  registrationSig,
  sendBatch,
  statusOf,
  submitBatch,
  type Ctx,
} from "./helpers.js";
import { ATTESTATION_HASH, KEY_CONFIG_HASH, SALT } from "./helpers.js";
import { orphanCommitment } from "../../sdk/challenge.js";
import { hashReceipt } from "../../sdk/hashing.js";
import type { Receipt } from "../../sdk/types.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const A = getAddress(ENCLAVE_A.address);
const B = getAddress(ENCLAVE_B.address);
const ENCLAVE_C = localAccount("enclave C");
const C = getAddress(ENCLAVE_C.address);

/** A settled one batch and died; B (same operator, approved) is registered. Not yet succeeded. */
async function fixture(): Promise<Ctx> {
  const ctx = await baseFixture(viem);
  await submitBatch(ctx); // A's own batch 0, callSeqs 0..7
  await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
  await approveEnclave(ctx, ENCLAVE_B);
  await ctx.settlement.write.deposit([B, PARAMS.deposit], { account: ctx.operator });
  return ctx;
}

/** As `fixture`, with A succeeded by B. */
async function succeededFixture(): Promise<Ctx> {
  const ctx = await fixture();
  await ctx.registry.write.succeed([A, B], { account: ctx.operator });
  return ctx;
}

/** Commit, then reveal in the next block: proves `r` (signed by its gateway's key) was never settled. */
async function proveOrphan(ctx: Ctx, r: Receipt, opts: { account?: `0x${string}`; key?: typeof ENCLAVE_A } = {}) {
  const account = opts.account ?? ctx.challenger;
  await ctx.settlement.write.commitChallenge([orphanCommitment(account, hashReceipt(r), SALT)], { account });
  const sig = await receiptSig(ctx, opts.key ?? ENCLAVE_A, r);
  return ctx.settlement.write.challengeOrphanedReceipt([r, sig, SALT], { account });
}

/**
 * A's enclave signed receipts for callSeqs 8..15 (after its batch 0) and died; the host cut its log
 * after callSeq 11, so B settles only 8..11 in A's account. Returns A's receipts 8..15.
 */
async function cutLogFixture(): Promise<Ctx & { signed: Receipt[] }> {
  const ctx = await succeededFixture();
  const signed = randomReceipts(A, 8n, 8);
  await submitBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B, receipts: signed.slice(0, 4) });
  return Object.assign(ctx, { signed });
}

describe("key succession", () => {
  it("test_succeed_successorSignsPredecessorBatch_settlesInPredecessorAccountAndSequenceReceiptsVerifyOnChain", async () => {
    const ctx = await loadFixture(fixture);
    await viem.assertions.emitWithArgs(
      ctx.registry.write.succeed([A, B], { account: ctx.operator }),
      ctx.registry,
      "EnclaveSucceeded",
      [A, B, zeroAddress],
    );
    assert.equal(await ctx.registry.read.successorOf([A]), B);
    assert.equal(await ctx.registry.read.isActive([A]), false, "the predecessor is retired at once");
    assert.equal(await ctx.registry.read.signsFor([A, B]), true);
    const balance = await ctx.settlement.read.balanceOf([A]);
    // A's receipts, signed by A for its users; B settles them in A's account, in A's sequence.
    const receipts = randomReceipts(A, 8n, 6);
    const b = await submitBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B, receipts, voids: [4, 5] });
    assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [14n, 2n]);
    assert.equal(await ctx.settlement.read.balanceOf([A]), balance - b.header.fee, "A's fee balance pays");
    assert.deepEqual(await ctx.settlement.read.nextSeqs([B]), [0n, 0n], "B's own account is untouched");
    for (const i of [0, 3]) {
      const status = await ctx.settlement.read.verifyReceipt([b.header, receipts[i]!, b.tree.proof(i)]);
      assert.equal(status, Status.Submitted);
    }
    // B still runs its own account under its own key.
    await submitBatch(ctx, { key: ENCLAVE_B });
    assert.deepEqual(await ctx.settlement.read.nextSeqs([B]), [8n, 1n]);
  });

  it("test_attack_strangerClaimsSuccession_onlyOperatorOfBothKeysRegistryNotOperator", async () => {
    const ctx = await loadFixture(fixture);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.succeed([A, B], { account: ctx.stranger }),
      ctx.registry,
      "RegistryNotOperator",
      [ctx.stranger, A],
    );
    // The stranger registers its own attested key C and names it A's successor.
    const token = await viem.getContractAt("NoReturnToken", ctx.token.address);
    await ctx.token.write.transfer([ctx.stranger, PARAMS.minBond]);
    await token.write.approve([ctx.registry.address, PARAMS.minBond], { account: ctx.stranger });
    const sig = await registrationSig(ctx, ENCLAVE_C, MEASUREMENT_A, ctx.stranger);
    await ctx.registry.write.registerEnclave(
      [C, MEASUREMENT_A, ATTESTATION_HASH, KEY_CONFIG_HASH, PARAMS.minBond, sig],
      { account: ctx.stranger },
    );
    await approveEnclave(ctx, ENCLAVE_C);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.succeed([A, C], { account: ctx.stranger }),
      ctx.registry,
      "RegistryNotOperator",
      [ctx.stranger, A],
    );
    // A's operator cannot name a key it does not operate either (it would not be liable for it).
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.succeed([A, C], { account: ctx.operator }),
      ctx.registry,
      "RegistryNotOperator",
      [ctx.operator, C],
    );
    // Without succession, C's signature for A's account is just a wrong signature.
    const b = await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_C });
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, b),
      ctx.settlement,
      "SettlementInvalidSignature",
      [A, C],
    );
    // Nor may a key succeed itself, or a retired key succeed anything.
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.succeed([A, A], { account: ctx.operator }),
      ctx.registry,
      "RegistryInvalidSuccessor",
      [A, A],
    );
  });

  it("test_attack_successorSignsForAccountItDoesNotSucceed_settlementInvalidSignature", async () => {
    const ctx = await loadFixture(succeededFixture);
    // C: another live key of the same operator, with its own account.
    await registerEnclave(ctx, ENCLAVE_C, MEASUREMENT_A);
    await approveEnclave(ctx, ENCLAVE_C);
    await ctx.settlement.write.deposit([C, PARAMS.deposit], { account: ctx.operator });
    const b = await buildBatch(ctx, { key: ENCLAVE_C, signer: ENCLAVE_B });
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, b),
      ctx.settlement,
      "SettlementInvalidSignature",
      [C, B],
    );
    // And C, live but not A's successor, cannot sign for A.
    const forA = await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_C });
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, forA),
      ctx.settlement,
      "SettlementInvalidSignature",
      [A, C],
    );
  });

  it("test_attack_predecessorSignsAfterSuccession_retiredForGoodGatewayInactiveAndEnclaveRetired", async () => {
    const ctx = await loadFixture(succeededFixture);
    const b = await buildBatch(ctx, { key: ENCLAVE_A });
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, b),
      ctx.settlement,
      "SettlementGatewayInactive",
      [A],
    );
    // A fresh validator approval cannot bring it back.
    await viem.assertions.revertWithCustomErrorWithArgs(
      approveEnclave(ctx, ENCLAVE_A),
      ctx.registry,
      "RegistryEnclaveRetired",
      [A],
    );
    // Nor can a retired key be anyone's successor, or hand on an account it signs for.
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.succeed([B, A], { account: ctx.operator }),
      ctx.registry,
      "RegistryInvalidSuccessor",
      [B, A],
    );
    // The successor's batch, signed for the same batchSeq, is the one that settles.
    await sendBatch(ctx, await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B }));
    assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [16n, 2n]);
  });

  it("test_attack_successorReplaysReordersCallSeqsOrSettlesBatchTwice_unexpectedCallSeqOrBatchSeq", async () => {
    const ctx = await loadFixture(succeededFixture);
    const first = await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B });
    // Out of order: callSeqs already settled by A, or skipping ahead.
    for (const firstCallSeq of [0n, 4n, 9n]) {
      const b = await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B, firstCallSeq });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementUnexpectedCallSeq",
        [A, 8n, firstCallSeq],
      );
    }
    const replayBatchSeq = await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B, batchSeq: 0n });
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, replayBatchSeq),
      ctx.settlement,
      "SettlementUnexpectedBatchSeq",
      [A, 1n, 0n],
    );
    await sendBatch(ctx, first);
    // Double settlement: the same signed header again, or the same callSeqs under the next batchSeq.
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, first),
      ctx.settlement,
      "SettlementUnexpectedBatchSeq",
      [A, 2n, 1n],
    );
    const again = await buildBatch(ctx, {
      key: ENCLAVE_A,
      signer: ENCLAVE_B,
      receipts: first.receipts,
      firstCallSeq: 8n,
    });
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, again),
      ctx.settlement,
      "SettlementUnexpectedCallSeq",
      [A, 16n, 8n],
    );
    assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [16n, 2n]);
  });

  it("test_attack_successorSettlesOtherLeafThanPredecessorSigned_predecessorBondSlashedAndSuccessionEnds", async () => {
    const ctx = await loadFixture(succeededFixture);
    const receipts = randomReceipts(A, 8n, 4);
    const shown = receipts[1]!;
    const sig = await receiptSig(ctx, ENCLAVE_A, shown); // what A handed the user before dying
    receipts[1] = { ...shown, responseHash: keccak256(toHex("another answer")) };
    const b = await submitBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B, receipts });
    await attest(ctx, [b]);
    const bond = (await ctx.registry.read.enclave([A])).bond;
    await challenge(ctx, b, {
      signedReceipt: shown,
      receiptSig: sig,
      settledReceipt: receipts[1],
      settledIsVoid: false,
      proof: b.tree.proof(1),
    });
    assert.equal(await statusOf(ctx, b), Status.Rejected);
    const a = await ctx.registry.read.enclave([A]);
    assert.ok(bond > 0n && a.bond === 0n && a.slashed, "the account's bond is slashed");
    assert.equal(await ctx.registry.read.signsFor([A, B]), false, "a slashed account takes no more batches");
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B })),
      ctx.settlement,
      "SettlementInvalidSignature",
      [A, B],
    );
  });

  it("test_attack_withdrawPredecessorBondWhileSuccessorSettles_requestEndsSuccessionAndBatchesOpenLocksBond", async () => {
    const ctx = await loadFixture(succeededFixture);
    await submitBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B });
    await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
    assert.equal(await ctx.registry.read.signsFor([A, B]), false);
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B })),
      ctx.settlement,
      "SettlementInvalidSignature",
      [A, B],
    );
    await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
      ctx.registry,
      "RegistryBatchesOpen",
      [A, 2n],
    );
  });

  it("test_succeed_successorRevokedUnapprovedOrExpired_cannotSignAccountHandedOnOnlyOnceSuccessorRetired", async () => {
    const ctx = await loadFixture(succeededFixture);
    // B's measurement revoked: its signature no longer counts for A.
    await ctx.registry.write.revokeMeasurement([MEASUREMENT_B]);
    assert.equal(await ctx.registry.read.signsFor([A, B]), false);
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B })),
      ctx.settlement,
      "SettlementInvalidSignature",
      [A, B],
    );
    // C, a new enclave, takes over. While B is unretired, A's account is not handed on.
    await registerEnclave(ctx, ENCLAVE_C, MEASUREMENT_A);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.succeed([A, C], { account: ctx.operator }),
      ctx.registry,
      "RegistryInvalidSuccessor",
      [A, C],
    );
    await viem.assertions.emitWithArgs(
      ctx.registry.write.succeed([B, C], { account: ctx.operator }),
      ctx.registry,
      "EnclaveSucceeded",
      [B, C, zeroAddress],
    );
    await viem.assertions.emitWithArgs(
      ctx.registry.write.succeed([A, C], { account: ctx.operator }),
      ctx.registry,
      "EnclaveSucceeded",
      [A, C, B],
    );
    // C is registered but not yet approved: its signature does not count yet.
    const early = await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_C });
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, early),
      ctx.settlement,
      "SettlementInvalidSignature",
      [A, C],
    );
    await approveEnclave(ctx, ENCLAVE_C);
    await sendBatch(ctx, early);
    assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [16n, 2n]);
    // C's key expires like any key: then it signs for no one.
    await networkHelpers.time.increase(PARAMS.heartbeatInterval);
    assert.equal(await ctx.registry.read.signsFor([A, C]), false);
  });

  it("test_attack_hostCutsLogSuccessorClosesBelowSignedReceipts_orphanProofSlashesPredecessorBond", async () => {
    const ctx = await loadFixture(cutLogFixture);
    const bond = (await ctx.registry.read.enclave([A])).bond;
    await viem.assertions.emitWithArgs(
      ctx.registry.write.closeAccount([A], { account: ctx.operator }),
      ctx.registry,
      "AccountClosed",
      [A, ctx.operator, 12n],
    );
    assert.equal(await ctx.registry.read.accountClosed([A]), true);
    assert.equal(await ctx.registry.read.signsFor([A, B]), false, "a closed account takes no more batches");
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, await buildBatch(ctx, { key: ENCLAVE_A, signer: ENCLAVE_B, receipts: ctx.signed.slice(4) })),
      ctx.settlement,
      "SettlementInvalidSignature",
      [A, B],
    );
    // A settled receipt is no orphan (a different settled leaf is an equivocation instead).
    await viem.assertions.revertWithCustomErrorWithArgs(
      proveOrphan(ctx, ctx.signed[2]!),
      ctx.settlement,
      "SettlementReceiptNotOrphaned",
      [A, 10n, 12n],
    );
    // The user holding callSeq 13, signed by A and never settled, proves it: A's bond pays.
    const reward = (bond * BigInt(PARAMS.challengerRewardBps)) / 10_000n;
    const before = await ctx.token.read.balanceOf([ctx.challenger]);
    await viem.assertions.emitWithArgs(proveOrphan(ctx, ctx.signed[5]!), ctx.settlement, "OrphanedReceiptProven", [
      A,
      13n,
      12n,
      ctx.challenger,
      bond,
    ]);
    assert.equal((await ctx.token.read.balanceOf([ctx.challenger])) - before, reward);
    const a = await ctx.registry.read.enclave([A]);
    assert.equal(a.bond, 0n);
    assert.equal(a.slashed, true);
    // Once slashed there is nothing left to take: a second proof reverts rather than pay nothing.
    await viem.assertions.revertWithCustomErrorWithArgs(
      proveOrphan(ctx, ctx.signed[6]!, { account: ctx.stranger }),
      ctx.settlement,
      "SettlementNothingToSlash",
      [A],
    );
  });

  it("test_attack_operatorNeverClosesRetiredAccount_anyoneClosesAfterBondWithdrawDelay", async () => {
    const ctx = await loadFixture(cutLogFixture);
    const { retiredAt } = await (async () => {
      const [, at] = await ctx.registry.read.succession([A]);
      return { retiredAt: at };
    })();
    // Before the successor's time is up only the operator may close; the user's proof must wait.
    await viem.assertions.revertWithCustomErrorWithArgs(
      proveOrphan(ctx, ctx.signed[4]!),
      ctx.settlement,
      "SettlementAccountOpen",
      [A],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.closeAccount([A], { account: ctx.challenger }),
      ctx.registry,
      "RegistryAccountNotClosable",
      [A, retiredAt + BigInt(PARAMS.bondWithdrawDelay)],
    );
    await networkHelpers.time.increaseTo(retiredAt + BigInt(PARAMS.bondWithdrawDelay));
    await viem.assertions.emitWithArgs(
      ctx.registry.write.closeAccount([A], { account: ctx.challenger }),
      ctx.registry,
      "AccountClosed",
      [A, ctx.challenger, 12n],
    );
    await viem.assertions.emit(proveOrphan(ctx, ctx.signed[4]!), ctx.settlement, "OrphanedReceiptProven");
    assert.equal((await ctx.registry.read.enclave([A])).slashed, true);
  });

  it("test_attack_closeOrHandOnAccountTwice_registryAccountClosedOrNotRetired", async () => {
    const ctx = await loadFixture(cutLogFixture);
    // A live key's account is not closed this way: asking for its bond back closes it.
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.closeAccount([B], { account: ctx.operator }),
      ctx.registry,
      "RegistryAccountNotRetired",
      [B],
    );
    await ctx.registry.write.closeAccount([A], { account: ctx.operator });
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.closeAccount([A], { account: ctx.operator }),
      ctx.registry,
      "RegistryAccountClosed",
      [A],
    );
    // Reopening a closed account by handing it to another successor would let it settle past the end.
    await registerEnclave(ctx, ENCLAVE_C, MEASUREMENT_A);
    await approveEnclave(ctx, ENCLAVE_C);
    await ctx.registry.write.succeed([B, C], { account: ctx.operator });
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.succeed([A, C], { account: ctx.operator }),
      ctx.registry,
      "RegistryAccountClosed",
      [A],
    );
  });

  it("test_attack_liveKeyAsksBondBackLeavingSignedReceiptUnsettled_orphanProofSlashesDuringDelay", async () => {
    const ctx = await loadFixture(fixture);
    // A is alive (not succeeded) and signed callSeq 8 but never settles it; an open account is no proof.
    const [r] = randomReceipts(A, 8n, 1);
    await viem.assertions.revertWithCustomErrorWithArgs(proveOrphan(ctx, r!), ctx.settlement, "SettlementAccountOpen", [
      A,
    ]);
    await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
    assert.equal(await ctx.registry.read.accountClosed([A]), true);
    await viem.assertions.emit(proveOrphan(ctx, r!), ctx.settlement, "OrphanedReceiptProven");
    await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
      ctx.registry,
      "RegistryNoBondWithdrawal",
      [A],
    );
  });

  it("test_attack_orphanProofCopiedOrSignedBySuccessor_notCommittedOrInvalidReceiptSignature", async () => {
    const ctx = await loadFixture(cutLogFixture);
    await ctx.registry.write.closeAccount([A], { account: ctx.operator });
    const r = ctx.signed[5]!;
    await ctx.settlement.write.commitChallenge([orphanCommitment(ctx.challenger, hashReceipt(r), SALT)], {
      account: ctx.challenger,
    });
    // The stranger copies the reveal from the mempool: it has no commitment of its own.
    const sig = await receiptSig(ctx, ENCLAVE_A, r);
    const copied = orphanCommitment(ctx.stranger, hashReceipt(r), SALT);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.settlement.write.challengeOrphanedReceipt([r, sig, SALT], { account: ctx.stranger }),
      ctx.settlement,
      "SettlementNotCommitted",
      [copied],
    );
    // Only the account's own key signs its receipts: the successor's signature proves nothing.
    await viem.assertions.revertWithCustomErrorWithArgs(
      proveOrphan(ctx, r, { account: ctx.stranger, key: ENCLAVE_B }),
      ctx.settlement,
      "SettlementInvalidReceiptSignature",
      [A, B],
    );
    assert.equal((await ctx.registry.read.enclave([A])).slashed, false);
  });
});
