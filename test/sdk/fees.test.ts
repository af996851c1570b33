/** sdk/fees.ts: the FeeRate schedule of Types.sol, checked by hand, by property and against ProofSettlement.computeFee. */
import { deploySettlementOnly } from "./settlementOnly.js";
import assert from "node:assert/strict";
import { network } from "hardhat";
import fc from "fast-check";
import { bytesToHex, type Hex } from "viem";
import { computeFee, usageFee, type FeeRate, type ModelUsage } from "../../sdk/index.js";

const H = (b: string): Hex => `0x${b.repeat(32)}`;
const rate = (perCall: bigint, perKiloInputToken: bigint, perKiloOutputToken: bigint): FeeRate => ({
  perCall,
  perKiloInputToken,
  perKiloOutputToken,
});

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const rateArb = fc.record({ perCall: u64, perKiloInputToken: u64, perKiloOutputToken: u64 }); // FeeRate is 3 x uint64
const usageArb = fc
  .uniqueArray(
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b)),
    { maxLength: 6 },
  )
  .chain((ids) =>
    fc.tuple(
      ...[...ids].sort().map((modelId) =>
        fc.record({
          modelId: fc.constant(modelId),
          calls: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          inputTokens: u64,
          outputTokens: u64,
        }),
      ),
    ),
  );

describe("sdk/fees", function () {
  this.timeout(180_000); // property runs; seconds when idle, but CI boxes are shared

  it("test_computeFee_callsAndTokens_perCallPlusPer1kTokensEachTermRoundedDown", () => {
    const r = rate(10n, 1500n, 999n);
    // 3*10 + floor(1001*1500/1000)=1501 + floor(999*999/1000)=998
    assert.equal(
      usageFee({ modelId: H("01"), calls: 3, inputTokens: 1001n, outputTokens: 999n }, r),
      30n + 1501n + 998n,
    );
    // Rounding per term, not over the sum: 0.999 + 0.999 rounds to 0, not 1.
    assert.equal(
      computeFee([{ modelId: H("01"), calls: 0, inputTokens: 999n, outputTokens: 999n }], rate(0n, 1n, 1n)),
      0n,
    );
    assert.equal(computeFee([], r), 0n);
  });

  it("test_computeFee_modelRateSetInMapOrRecordAnyCase_usesModelRateZeroIncluded", () => {
    const usage: ModelUsage[] = [
      { modelId: H("01"), calls: 2, inputTokens: 1000n, outputTokens: 2000n },
      { modelId: H("0a"), calls: 1, inputTokens: 4000n, outputTokens: 0n },
    ];
    const def = rate(1n, 1n, 1n);
    const special = rate(100n, 0n, 0n);
    const expected = 2n + 1n + 2n + 100n;
    assert.equal(computeFee(usage, def), 2n + 1n + 2n + (1n + 4n));
    assert.equal(computeFee(usage, def, new Map([[H("0a"), special]])), expected);
    assert.equal(computeFee(usage, def, new Map([[H("0A"), special]])), expected);
    assert.equal(computeFee(usage, def, { [H("0A")]: special }), expected);
    // A set rate of zero is a rate (free model), not "unset".
    assert.equal(computeFee(usage, def, { [H("0a")]: rate(0n, 0n, 0n) }), 5n);
  });

  it("test_computeFee_anyUsageAtMaxWidths_equalsReferenceSum", () => {
    fc.assert(
      fc.property(usageArb, rateArb, rateArb, fc.nat(), (usage, def, special, pick) => {
        const perModel = usage.length > 0 ? new Map([[usage[pick % usage.length]!.modelId, special]]) : undefined;
        let expected = 0n;
        for (const u of usage) {
          const r = perModel?.get(u.modelId) ?? def;
          expected +=
            BigInt(u.calls) * r.perCall +
            (u.inputTokens * r.perKiloInputToken) / 1000n +
            (u.outputTokens * r.perKiloOutputToken) / 1000n;
        }
        assert.equal(computeFee(usage, def, perModel), expected);
        assert.ok(expected < 2n ** 256n);
      }),
      { numRuns: 1000 },
    );
  });

  it("test_computeFee_randomUsage_equalsProofSettlementComputeFeeOnChain", async () => {
    const { viem } = await network.create();
    const def = rate(7n, 1234n, 5678n);
    const settlement = await deploySettlementOnly(viem, def);
    const special = rate(1n, 10n ** 17n, 0n); // the per-1k-token hard bound (MAX_PER_KILO_TOKEN)
    const specialId = H("80");
    await settlement.write.setModelFeeRate([specialId, special, true]);
    const perModel = new Map([[specialId, special]]);
    const ids = fc.constantFrom(H("01"), H("7f"), specialId, H("ff"));
    const onChainUsage = fc.uniqueArray(ids, { maxLength: 4 }).chain((picked) =>
      // computeFee checks sum(calls) <= uint32 max, so each entry stays below 2^30.
      fc.tuple(
        ...[...picked].sort().map((modelId) =>
          fc.record({
            modelId: fc.constant(modelId),
            calls: fc.integer({ min: 0, max: 2 ** 30 }),
            inputTokens: u64,
            outputTokens: u64,
          }),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(onChainUsage, async (usage) => {
        assert.equal(computeFee(usage, def, perModel), await settlement.read.computeFee([usage]));
      }),
      { numRuns: 100 },
    );
  });
});
