/** sdk/types.ts: every bad field is rejected with a message naming it; valid data round-trips through JSON. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { bytesToHex, getAddress, type Hex } from "viem";
import type { ZodType } from "zod";
import {
  addressSchema,
  batchHeaderSchema,
  feeRateSchema,
  hex32Schema,
  modelUsageSchema,
  receiptSchema,
  type BatchHeaderInput,
  type ReceiptInput,
} from "../../sdk/index.js";

const MAX_U64 = 2n ** 64n - 1n;
const GATEWAY = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const H = (b: string): Hex => `0x${b.repeat(32)}`;

const validReceipt: ReceiptInput = {
  gateway: GATEWAY,
  callSeq: 7n,
  modelId: H("11"),
  requestHash: H("22"),
  responseHash: H("33"),
  inputTokens: 100,
  outputTokens: 200,
  servedAt: 1_732_540_000_000n,
};

const validHeader: BatchHeaderInput = {
  gateway: GATEWAY,
  batchSeq: 0n,
  firstCallSeq: 0n,
  count: 3,
  root: H("aa"),
  usage: [
    { modelId: H("01"), calls: 1, inputTokens: 10n, outputTokens: 20n },
    { modelId: H("02"), calls: 2, inputTokens: 30n, outputTokens: 40n },
  ],
  fee: 123n,
  firstServedAt: 1n,
  lastServedAt: 2n,
  daURI: "https://gw.example/batches/0",
};

/** Asserts `schema` rejects `value` with some issue message naming `field`. */
function rejects(schema: ZodType, value: unknown, field: string): void {
  const r = schema.safeParse(value);
  assert.equal(
    r.success,
    false,
    `${field}: expected ${JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${v}n` : v))} to be rejected`,
  );
  const messages = r.error!.issues.map((i) => i.message);
  assert.ok(
    messages.some((m) => m.includes(field)),
    `no message names ${field}: ${JSON.stringify(messages)}`,
  );
}

const toJson = (v: unknown): string => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x));

describe("sdk/types", function () {
  this.timeout(180_000); // property runs; seconds when idle, but CI boxes are shared

  it("test_receiptSchema_validMixedForms_parsesChecksummedLowercaseBigints", () => {
    const r = receiptSchema.parse({
      ...validReceipt,
      gateway: GATEWAY.toLowerCase(),
      modelId: H("AB"),
      callSeq: "7",
      servedAt: 1_732_540_000_000,
    });
    assert.equal(r.gateway, GATEWAY); // checksummed
    assert.equal(r.modelId, H("ab")); // lowercase
    assert.equal(r.callSeq, 7n);
    assert.equal(r.servedAt, 1_732_540_000_000n);
  });

  const badReceiptFields: [keyof ReceiptInput, unknown][] = [
    ["gateway", "0x1234"],
    ["gateway", "0x70997970c51812dc3A010C7d01b50e0d17dc79C8"], // wrong checksum
    ["gateway", 42],
    ["gateway", undefined],
    ["callSeq", 2n ** 64n],
    ["callSeq", -1n],
    ["callSeq", -1],
    ["callSeq", 1.5],
    ["callSeq", 2 ** 60], // not a safe integer: precision already lost
    ["callSeq", "0x10"],
    ["callSeq", "-5"],
    ["callSeq", "18446744073709551616"],
    ["callSeq", null],
    ["modelId", H("1").slice(0, 65)],
    ["modelId", `${H("11")}00`],
    ["modelId", `0x${"gg".repeat(32)}`],
    ["modelId", "11".repeat(32)],
    ["requestHash", 5],
    ["responseHash", undefined],
    ["inputTokens", 2 ** 32],
    ["inputTokens", -1],
    ["inputTokens", 0.5],
    ["inputTokens", "5"],
    ["outputTokens", 5n],
    ["outputTokens", Number.NaN],
    ["servedAt", MAX_U64 + 1n],
    ["servedAt", "abc"],
  ];
  for (const [field, bad] of badReceiptFields) {
    it(`test_receiptSchema_${field}Of${typeof bad === "bigint" ? `${bad}n` : (JSON.stringify(bad) ?? "undefined")}_rejectedNamingIt`, () => {
      rejects(receiptSchema, { ...validReceipt, [field]: bad }, field);
    });
  }

  it("test_receiptSchema_uint64AndUint32Bounds_accepted", () => {
    const r = receiptSchema.parse({
      ...validReceipt,
      callSeq: MAX_U64.toString(),
      servedAt: 0,
      inputTokens: 2 ** 32 - 1,
      outputTokens: 0,
    });
    assert.equal(r.callSeq, MAX_U64);
  });

  it("test_batchHeaderSchema_validWithMaxFee_parses", () => {
    const h = batchHeaderSchema.parse({ ...validHeader, fee: (2n ** 256n - 1n).toString() });
    assert.equal(h.fee, 2n ** 256n - 1n);
    assert.equal(h.usage.length, 2);
  });

  const badHeaderFields: [string, Partial<Record<keyof BatchHeaderInput, unknown>>][] = [
    ["gateway", { gateway: "nope" }],
    ["batchSeq", { batchSeq: -1n }],
    ["firstCallSeq", { firstCallSeq: 2n ** 64n }],
    ["firstCallSeq", { firstCallSeq: MAX_U64, count: 2 }], // last callSeq overflows uint64
    ["count", { count: 0 }],
    ["count", { count: 2 ** 32 }],
    ["root", { root: "0x" }],
    ["fee", { fee: 2n ** 256n }],
    ["fee", { fee: -1n }],
    ["firstServedAt", { firstServedAt: 3n, lastServedAt: 2n }],
    ["lastServedAt", { lastServedAt: "x" }],
    ["daURI", { daURI: 7 }],
    ["usage", { usage: "none" }],
    ["usage", { usage: [...(validHeader.usage as object[])].reverse() }], // not ascending
    ["usage", { usage: [validHeader.usage[0], validHeader.usage[0]] }], // duplicate modelId
    ["usage", { count: 2 }], // sum(calls) = 3 > count
    ["calls", { usage: [{ ...validHeader.usage[0], calls: -1 }] }],
    ["inputTokens", { usage: [{ ...validHeader.usage[0], inputTokens: 2n ** 64n }] }],
    ["modelId", { usage: [{ ...validHeader.usage[0], modelId: "0x01" }] }],
  ];
  for (const [field, patch] of badHeaderFields) {
    it(`test_batchHeaderSchema_${field}Of${toJson(patch).slice(0, 60)}_rejectedNamingIt`, () => {
      rejects(batchHeaderSchema, { ...validHeader, ...patch }, field);
    });
  }

  it("test_batchHeaderSchema_badNestedUsageField_issueKeepsItsPath", () => {
    const r = batchHeaderSchema.safeParse({
      ...validHeader,
      usage: [validHeader.usage[0], { ...validHeader.usage[1], outputTokens: -2n }],
    });
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues[0]!.path, ["usage", 1, "outputTokens"]);
  });

  it("test_feeRateSchema_threeRates_parsedAsUint64OrRejectedNamingIt", () => {
    assert.deepEqual(feeRateSchema.parse({ perCall: "1", perKiloInputToken: 2, perKiloOutputToken: 3n }), {
      perCall: 1n,
      perKiloInputToken: 2n,
      perKiloOutputToken: 3n,
    });
    rejects(feeRateSchema, { perCall: MAX_U64 + 1n, perKiloInputToken: 0n, perKiloOutputToken: 0n }, "perCall");
    rejects(feeRateSchema, { perCall: 0n, perKiloInputToken: -1n, perKiloOutputToken: 0n }, "perKiloInputToken");
    rejects(feeRateSchema, { perCall: 0n, perKiloInputToken: 0n, perKiloOutputToken: "1e3" }, "perKiloOutputToken");
    rejects(feeRateSchema, { perCall: 0n, perKiloInputToken: 0n }, "perKiloOutputToken");
    assert.equal(
      feeRateSchema.parse({ perCall: MAX_U64, perKiloInputToken: MAX_U64.toString(), perKiloOutputToken: 0 }).perCall,
      MAX_U64,
    );
  });

  it("test_addressAndHex32Schemas_standalone_normalizeOrRejectNamingField", () => {
    assert.equal(hex32Schema().parse(H("Ab")), H("ab"));
    assert.equal(addressSchema().parse(GATEWAY.toLowerCase()), GATEWAY);
    rejects(addressSchema("operator"), `0x${"G".repeat(40)}`, "operator");
    rejects(hex32Schema("digest"), "0x00", "digest");
  });

  // --- property tests: any valid value in any accepted representation round-trips through JSON.

  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));
  const mixedCase = bytes32.chain((h) => fc.constantFrom(h, h.toUpperCase().replace("0X", "0x")));
  const address = fc
    .uint8Array({ minLength: 20, maxLength: 20 })
    .chain((b) => fc.constantFrom(bytesToHex(b), getAddress(bytesToHex(b))));
  const u64 = fc
    .bigInt({ min: 0n, max: MAX_U64 })
    .chain((n) =>
      fc.constantFrom<bigint | string | number>(
        n,
        n.toString(),
        ...(n <= BigInt(Number.MAX_SAFE_INTEGER) ? [Number(n)] : []),
      ),
    );
  const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
  const receiptInput = fc.record({
    gateway: address,
    callSeq: u64,
    modelId: mixedCase,
    requestHash: bytes32,
    responseHash: bytes32,
    inputTokens: u32,
    outputTokens: u32,
    servedAt: u64,
  });
  const headerInput = fc
    .uniqueArray(bytes32, { maxLength: 6 })
    .chain((ids) =>
      fc.record({
        gateway: address,
        batchSeq: u64,
        firstCallSeq: fc.bigInt({ min: 0n, max: 2n ** 63n }),
        extra: fc.integer({ min: 0, max: 1000 }),
        root: bytes32,
        usage: fc.tuple(
          ...[...ids].sort().map((modelId) =>
            fc.record({
              modelId: fc.constant(modelId),
              calls: fc.integer({ min: 0, max: 1000 }),
              inputTokens: u64,
              outputTokens: u64,
            }),
          ),
        ),
        fee: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
        servedAt: fc.tuple(fc.bigInt({ min: 0n, max: MAX_U64 }), fc.bigInt({ min: 0n, max: MAX_U64 })),
        daURI: fc.nat().map((n) => `https://gw${n % 7}.example/batches/${n}`),
      }),
    )
    .map(({ extra, usage, servedAt: [a, b], ...rest }) => ({
      ...rest,
      usage,
      count: usage.reduce((s, u) => s + u.calls, 0) + extra || 1,
      firstServedAt: a < b ? a : b,
      lastServedAt: a < b ? b : a,
    }));

  it("test_receiptSchema_anyValidInput_roundTripsThroughJson", () => {
    fc.assert(
      fc.property(receiptInput, (input) => {
        const parsed = receiptSchema.parse(input);
        assert.deepEqual(receiptSchema.parse(JSON.parse(toJson(parsed))), parsed);
        assert.equal(parsed.callSeq, BigInt(input.callSeq));
        assert.equal(parsed.modelId, input.modelId.toLowerCase());
      }),
      { numRuns: 500 },
    );
  });

  it("test_batchHeaderSchema_anyValidInput_roundTripsThroughJsonWithInvariants", () => {
    fc.assert(
      fc.property(headerInput, (input) => {
        const parsed = batchHeaderSchema.parse(input);
        assert.deepEqual(batchHeaderSchema.parse(JSON.parse(toJson(parsed))), parsed);
        assert.deepEqual(modelUsageSchema.array().parse(JSON.parse(toJson(parsed.usage))), parsed.usage);
      }),
      { numRuns: 300 },
    );
  });

  it("test_receiptSchema_outOfRangeUint64AnyForm_rejectedNamingIt", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: MAX_U64 + 1n, max: 2n ** 80n }), fc.bigInt({ min: -(2n ** 70n), max: -1n })),
        (n) => {
          rejects(receiptSchema, { ...validReceipt, servedAt: n }, "servedAt");
          if (n > 0n) rejects(receiptSchema, { ...validReceipt, servedAt: n.toString() }, "servedAt");
        },
      ),
      { numRuns: 200 },
    );
  });
});
