/**
 * Zod schemas and TypeScript types for the on-chain data formats of `contracts/Types.sol`.
 *
 * Integer widths follow Solidity: uint32 fields are `number`, uint64/uint256 fields
 * are `bigint` (inputs may also be decimal strings or safe-integer numbers, which is what JSON
 * from the DA endpoint carries). Every issue message starts with the field name so a rejected
 * receipt says which field was wrong, not only where it sits.
 */
import { z } from "zod";
import { getAddress, isAddress, type Address, type Hex } from "viem";

/** A bytes32 value: `0x` + 64 lowercase hex characters. */
export type Hex32 = Hex;

const UINT32_MAX = 0xffff_ffff;
const DECIMAL = /^[0-9]+$/;
const HEX32 = /^0x[0-9a-fA-F]{64}$/;

/** Unsigned integer of `bits` bits as a bigint; accepts bigint, decimal string or safe integer. */
export function uintSchema(bits: number, field = "value") {
  const max = (1n << BigInt(bits)) - 1n;
  const range = `uint${bits} (0..2^${bits}-1)`;
  return z
    .union([z.bigint(), z.number(), z.string()], {
      error: `${field}: expected a ${range} as bigint, decimal string or safe integer`,
    })
    .transform((v, ctx): bigint => {
      let n: bigint;
      if (typeof v === "bigint") n = v;
      else if (typeof v === "number") {
        // Numbers beyond 2^53 have already lost precision: refuse rather than guess.
        if (!Number.isSafeInteger(v)) {
          ctx.addIssue({
            code: "custom",
            input: v,
            message: `${field}: ${v} is not a safe integer; pass a bigint or a decimal string`,
          });
          return z.NEVER;
        }
        n = BigInt(v);
      } else {
        // 78 digits is enough for 2^256-1; the cap keeps BigInt() from chewing on huge input.
        if (!DECIMAL.test(v) || v.length > 78) {
          ctx.addIssue({
            code: "custom",
            input: v,
            message: `${field}: "${v.slice(0, 80)}" is not a non-negative decimal integer string`,
          });
          return z.NEVER;
        }
        n = BigInt(v);
      }
      if (n < 0n || n > max) {
        ctx.addIssue({ code: "custom", input: v, message: `${field}: ${n} is out of range for ${range}` });
        return z.NEVER;
      }
      return n;
    });
}

/** A uint32 as a JS number (integer in 0..2^32-1). */
export function uint32Schema(field = "value", min = 0) {
  return z
    .number({ error: `${field}: expected a uint32 number` })
    .refine((v) => Number.isInteger(v) && v >= min && v <= UINT32_MAX, {
      error: (iss) => `${field}: ${String(iss.input)} is not an integer in ${min}..${UINT32_MAX} (uint32)`,
    });
}

/** A bytes32 value; accepts any hex case, outputs lowercase. */
export function hex32Schema(field = "value") {
  return z
    .string({ error: `${field}: expected a bytes32 hex string` })
    .regex(HEX32, { error: `${field}: expected 0x followed by 64 hex characters (bytes32)` })
    .transform((s) => s.toLowerCase() as Hex32);
}

/** An address, checksummed or all lowercase (a wrong checksum is rejected); outputs checksummed. */
export function addressSchema(field = "value") {
  return z
    .string({ error: `${field}: expected an address string` })
    .refine((s) => isAddress(s, { strict: true }), {
      error: `${field}: expected a 0x-prefixed 20-byte address, EIP-55 checksummed or all lowercase`,
    })
    .transform((s) => getAddress(s) as Address);
}

/** Per-model usage inside a batch (`ModelUsage` in Types.sol). */
export const modelUsageSchema = z.object({
  modelId: hex32Schema("modelId"),
  calls: uint32Schema("calls"),
  inputTokens: uintSchema(64, "inputTokens"),
  outputTokens: uintSchema(64, "outputTokens"),
});
/** Per-model usage inside a batch (parsed form). */
export type ModelUsage = z.output<typeof modelUsageSchema>;
/** Accepted input form of {@link ModelUsage}. */
export type ModelUsageInput = z.input<typeof modelUsageSchema>;

/** One served call (`Receipt` in Types.sol). */
export const receiptSchema = z.object({
  gateway: addressSchema("gateway"),
  callSeq: uintSchema(64, "callSeq"),
  modelId: hex32Schema("modelId"),
  requestHash: hex32Schema("requestHash"),
  responseHash: hex32Schema("responseHash"),
  inputTokens: uint32Schema("inputTokens"),
  outputTokens: uint32Schema("outputTokens"),
  servedAt: uintSchema(64, "servedAt"),
});
/** One served call (parsed form). */
export type Receipt = z.output<typeof receiptSchema>;
/** Accepted input form of {@link Receipt}. */
export type ReceiptInput = z.input<typeof receiptSchema>;

/** A callSeq allocated but never served (settled as a void leaf). */
export const voidReceiptSchema = z.object({
  gateway: addressSchema("gateway"),
  callSeq: uintSchema(64, "callSeq"),
});
/** A void receipt (parsed form). */
export type VoidReceipt = z.output<typeof voidReceiptSchema>;

const MAX_UINT64 = (1n << 64n) - 1n;

/** A batch header (`BatchHeader` in Types.sol), with the invariants the contract relies on. */
export const batchHeaderSchema = z
  .object({
    gateway: addressSchema("gateway"),
    batchSeq: uintSchema(64, "batchSeq"),
    firstCallSeq: uintSchema(64, "firstCallSeq"),
    count: uint32Schema("count", 1),
    root: hex32Schema("root"),
    usage: z.array(modelUsageSchema, { error: "usage: expected an array of ModelUsage" }),
    fee: uintSchema(256, "fee"),
    firstServedAt: uintSchema(64, "firstServedAt"),
    lastServedAt: uintSchema(64, "lastServedAt"),
    daURI: z.string({ error: "daURI: expected a string" }),
  })
  .superRefine((h, ctx) => {
    let calls = 0;
    for (let i = 0; i < h.usage.length; i++) {
      calls += h.usage[i]!.calls;
      // Equal-length lowercase hex compares like the uint256 it encodes.
      if (i > 0 && h.usage[i]!.modelId <= h.usage[i - 1]!.modelId) {
        ctx.addIssue({
          code: "custom",
          path: ["usage", i, "modelId"],
          message: `usage: modelId entries must be strictly ascending (usage[${i}].modelId <= usage[${i - 1}].modelId)`,
        });
      }
    }
    if (calls > h.count) {
      ctx.addIssue({
        code: "custom",
        path: ["usage"],
        message: `usage: sum of calls (${calls}) exceeds count (${h.count})`,
      });
    }
    // Leaves cover [firstCallSeq, firstCallSeq + count): the last callSeq must still be a uint64.
    if (h.firstCallSeq + BigInt(h.count) - 1n > MAX_UINT64) {
      ctx.addIssue({
        code: "custom",
        path: ["firstCallSeq"],
        message: `firstCallSeq: firstCallSeq + count - 1 exceeds uint64`,
      });
    }
    if (h.firstServedAt > h.lastServedAt) {
      ctx.addIssue({
        code: "custom",
        path: ["firstServedAt"],
        message: `firstServedAt: ${h.firstServedAt} is after lastServedAt ${h.lastServedAt}`,
      });
    }
  });
/** A batch header (parsed form). */
export type BatchHeader = z.output<typeof batchHeaderSchema>;
/** Accepted input form of {@link BatchHeader}. */
export type BatchHeaderInput = z.input<typeof batchHeaderSchema>;

/** Fee schedule (`FeeRate` in Types.sol: three uint64 rates in OPG wei). */
export const feeRateSchema = z.object({
  perCall: uintSchema(64, "perCall"),
  perKiloInputToken: uintSchema(64, "perKiloInputToken"),
  perKiloOutputToken: uintSchema(64, "perKiloOutputToken"),
});
/** Fee schedule (parsed form). */
export type FeeRate = z.output<typeof feeRateSchema>;
/** Accepted input form of {@link FeeRate}. */
export type FeeRateInput = z.input<typeof feeRateSchema>;
