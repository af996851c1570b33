/**
 * sdk/hashing.ts and sdk/eip712.ts against the on-chain code (HashingHarness, i.e. Hashing.sol)
 * and against viem's independent EIP-712 / ABI encoders.
 */
import { deploySettlementOnly } from "./settlementOnly.js";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { network } from "hardhat";
import fc from "fast-check";
import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  bytesToHex,
  encodeAbiParameters,
  getAddress,
  hashTypedData,
  hexToBytes,
  keccak256,
  recoverAddress,
  toBytes,
  zeroAddress,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  batchHeaderTypeHash,
  batchHeaderTypeString,
  batchHeaderTypes,
  domainSeparator,
  fromCompactSignature,
  hashHeader,
  hashModelUsage,
  hashReceipt,
  hashReceiptInto,
  hashUsage,
  hashVoid,
  headerDigest,
  keccak256Hex,
  keccak256Into,
  keccakBackend,
  leafInto,
  leafOf,
  modelUsageTypeHash,
  modelUsageTypeString,
  receiptDigest,
  receiptLeaf,
  receiptLeafInto,
  receiptTypeHash,
  receiptTypeString,
  receiptTypes,
  recoverHeaderSigner,
  recoverReceiptSigner,
  settlementDomain,
  signHeader,
  signReceipt,
  voidLeaf,
  voidReceiptDigest,
  voidReceiptTypeHash,
  voidReceiptTypeString,
  voidReceiptTypes,
  type BatchHeader,
  type ModelUsage,
  type Receipt,
} from "../../sdk/index.js";

const { viem } = await network.create();
const harness = await viem.deployContract("HashingHarness");

const MAX_U64 = 2n ** 64n - 1n;
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(bytesToHex(b)));
const u64 = fc.bigInt({ min: 0n, max: MAX_U64 });
const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const receiptArb: fc.Arbitrary<Receipt> = fc.record({
  gateway: address,
  callSeq: u64,
  modelId: bytes32,
  requestHash: bytes32,
  responseHash: bytes32,
  inputTokens: u32,
  outputTokens: u32,
  servedAt: u64,
});
const usageArb: fc.Arbitrary<ModelUsage> = fc.record({
  modelId: bytes32,
  calls: u32,
  inputTokens: u64,
  outputTokens: u64,
});
// Hashing does not care whether a header is valid; the harness accepts any, so neither do we here.
const headerArb: fc.Arbitrary<BatchHeader> = fc.record({
  gateway: address,
  batchSeq: u64,
  firstCallSeq: u64,
  count: u32,
  root: bytes32,
  usage: fc.array(usageArb, { maxLength: 5 }),
  fee: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
  firstServedAt: u64,
  lastServedAt: u64,
  daURI: fc.oneof(
    fc.nat().map((n) => `https://gw${n % 7}.example/batches/${n}`),
    fc.string({ unit: "grapheme", maxLength: 80 }),
    fc.constant(""),
  ),
});

const domain = settlementDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const account = privateKeyToAccount("0x59c6995e998f97a0a700dda7a0fb1d6b2a8a4c6fbd1d2a6c2b0e2f7f1c4b1d0a");

function viemReceiptStructHash(r: Receipt): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "address" },
        { type: "uint64" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "uint32" },
        { type: "uint32" },
        { type: "uint64" },
      ],
      [
        receiptTypeHash,
        r.gateway,
        r.callSeq,
        r.modelId,
        r.requestHash,
        r.responseHash,
        r.inputTokens,
        r.outputTokens,
        r.servedAt,
      ],
    ),
  );
}

function viemLeaf(structHash: Hex): Hex {
  return keccak256(structHash);
}

describe("sdk/hashing", function () {
  this.timeout(180_000); // property runs; seconds when idle, but CI boxes are shared

  it("test_keccak_wasmBackend_equalsNobleHashes", () => {
    assert.equal(keccakBackend, "wasm");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (data) => {
        const out = new Uint8Array(32);
        keccak256Into(data, out, 0);
        assert.deepEqual(out, keccak_256(data));
      }),
      { numRuns: 300 },
    );
  });

  it("test_keccak256Hex_anyLength_equalsViemKeccak256", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9000 }), (data) => {
        assert.equal(keccak256Hex(data), keccak256(data));
      }),
      { numRuns: 200 },
    );
  });

  it("test_keccak256Into_pastScratchAreaOrOverlappingOutput_equalsNobleHashes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 4000, max: 20_000 }), fc.integer({ min: 0, max: 255 }), (len, seed) => {
        const data = new Uint8Array(len).map((_, i) => (i * 29 + seed) & 255);
        const out = new Uint8Array(32);
        keccak256Into(data, out, 0);
        assert.deepEqual(out, keccak_256(data));
      }),
      { numRuns: 40 },
    );
    const buf = new Uint8Array(64).map((_, i) => i);
    const want = keccak_256(buf.subarray(10, 42));
    leafInto(buf, 10, buf, 20); // in and out overlap
    assert.deepEqual(buf.subarray(20, 52), want);
  });

  it("test_keccakWasm_committedModule_equalsFreshBuildOfKeccakAs", async function () {
    this.timeout(120_000);
    const { compileKeccakWasm, renderModuleFile } = await import("../../scripts/build-wasm.js");
    const committed = await readFile(new URL("../../sdk/wasm/keccak.wasm.ts", import.meta.url), "utf8");
    assert.equal(committed, renderModuleFile(compileKeccakWasm()), "stale module: run npm run build:wasm");
  });

  it("test_typeStrings_comparedWithHashingSol_sameAndTypehashesAreTheirKeccak", async () => {
    const sol = (await readFile(new URL("../../contracts/libraries/Hashing.sol", import.meta.url), "utf8")).replace(
      /"\s*"/g,
      "",
    );
    for (const s of [modelUsageTypeString, batchHeaderTypeString, receiptTypeString, voidReceiptTypeString]) {
      assert.ok(sol.includes(`"${s}"`), `Hashing.sol lacks ${s}`);
    }
    assert.equal(modelUsageTypeHash, keccak256(toBytes(modelUsageTypeString)));
    assert.equal(batchHeaderTypeHash, keccak256(toBytes(batchHeaderTypeString)));
    assert.equal(receiptTypeHash, keccak256(toBytes(receiptTypeString)));
    assert.equal(voidReceiptTypeHash, keccak256(toBytes(voidReceiptTypeString)));
  });

  it("test_hashReceipt_randomReceipts_sdkEqualsHashingSolEqualsViem", async () => {
    await fc.assert(
      fc.asyncProperty(receiptArb, async (r) => {
        const h = hashReceipt(r);
        assert.equal(h, viemReceiptStructHash(r));
        assert.equal(h, await harness.read.hashReceipt([r]));
        const leaf = receiptLeaf(r);
        assert.equal(leaf, viemLeaf(h));
        assert.equal(leaf, leafOf(h));
        assert.equal(leaf, await harness.read.receiptLeaf([r]));
        assert.equal(
          receiptDigest(domain, r),
          hashTypedData({ domain, types: receiptTypes, primaryType: "Receipt", message: r }),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("test_receiptLeafInto_bytesAndNumbers_equalsHexPath", () => {
    fc.assert(
      fc.property(receiptArb, fc.nat({ max: 64 }), (r, offset) => {
        const fast = {
          ...r,
          gateway: hexToBytes(r.gateway),
          modelId: hexToBytes(r.modelId),
          requestHash: hexToBytes(r.requestHash),
          responseHash: hexToBytes(r.responseHash),
          callSeq: r.callSeq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r.callSeq) : r.callSeq,
          servedAt: r.servedAt <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r.servedAt) : r.servedAt,
        };
        const out = new Uint8Array(offset + 32);
        assert.equal(bytesToHex(receiptLeafInto(fast, out, offset).subarray(offset)), receiptLeaf(r));
        const sh = hashReceiptInto(fast, new Uint8Array(32));
        assert.equal(bytesToHex(sh), hashReceipt(r));
        assert.equal(bytesToHex(leafInto(sh, 0, sh, 0)), receiptLeaf(r)); // in place
      }),
      { numRuns: 500 },
    );
  });

  it("test_hashHeader_randomHeadersAndUsage_sdkEqualsHashingSolEqualsViem", async () => {
    await fc.assert(
      fc.asyncProperty(headerArb, async (h) => {
        const sh = hashHeader(h);
        assert.equal(sh, await harness.read.hashHeader([h]));
        assert.equal(hashUsage(h.usage), await harness.read.hashUsage([h.usage]));
        assert.equal(
          headerDigest(domain, h),
          hashTypedData({ domain, types: batchHeaderTypes, primaryType: "BatchHeader", message: h }),
        );
        for (const u of h.usage) {
          const expected = keccak256(
            encodeAbiParameters(
              [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint32" }, { type: "uint64" }, { type: "uint64" }],
              [modelUsageTypeHash, u.modelId, u.calls, u.inputTokens, u.outputTokens],
            ),
          );
          assert.equal(hashModelUsage(u), expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("test_hashVoid_randomVoidReceipts_sdkEqualsHashingSolEqualsViem", async () => {
    await fc.assert(
      fc.asyncProperty(address, u64, async (gateway, callSeq) => {
        const h = hashVoid(gateway, callSeq);
        assert.equal(h, await harness.read.hashVoid([gateway, callSeq]));
        assert.equal(voidLeaf(gateway, callSeq), await harness.read.leaf([h]));
        assert.equal(
          voidReceiptDigest(domain, gateway, callSeq),
          hashTypedData({ domain, types: voidReceiptTypes, primaryType: "VoidReceipt", message: { gateway, callSeq } }),
        );
        // A void leaf can never equal a receipt leaf for the same callSeq: different type tags.
        assert.notEqual(
          h,
          hashReceipt({
            gateway,
            callSeq,
            modelId: `0x${"00".repeat(32)}`,
            requestHash: `0x${"00".repeat(32)}`,
            responseHash: `0x${"00".repeat(32)}`,
            inputTokens: 0,
            outputTokens: 0,
            servedAt: 0n,
          }),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("test_leafOf_randomBytes32_equalsHashingSolLeaf", async () => {
    await fc.assert(
      fc.asyncProperty(bytes32, async (x) => {
        assert.equal(leafOf(x), await harness.read.leaf([x]));
      }),
      { numRuns: 50 },
    );
  });

  it("test_receiptLeaf_zeroAndMaxFields_equalsHashingSolNoScratchLeak", async () => {
    const zero: Receipt = {
      gateway: zeroAddress,
      callSeq: 0n,
      modelId: `0x${"00".repeat(32)}`,
      requestHash: `0x${"00".repeat(32)}`,
      responseHash: `0x${"00".repeat(32)}`,
      inputTokens: 0,
      outputTokens: 0,
      servedAt: 0n,
    };
    const max: Receipt = {
      gateway: getAddress(`0x${"ff".repeat(20)}`),
      callSeq: MAX_U64,
      modelId: `0x${"ff".repeat(32)}`,
      requestHash: `0x${"ff".repeat(32)}`,
      responseHash: `0x${"ff".repeat(32)}`,
      inputTokens: 2 ** 32 - 1,
      outputTokens: 2 ** 32 - 1,
      servedAt: MAX_U64,
    };
    // Hash max first: the scratch buffer must not leak bytes into the next, all-zero receipt.
    for (const r of [max, zero, max]) {
      assert.equal(receiptLeaf(r), await harness.read.receiptLeaf([r]));
    }
  });

  it("test_receiptLeaf_fieldOutOfContractRange_throwsNamingFieldNotWrapping", () => {
    const r: Receipt = {
      gateway: zeroAddress,
      callSeq: 1n,
      modelId: `0x${"00".repeat(32)}`,
      requestHash: `0x${"00".repeat(32)}`,
      responseHash: `0x${"00".repeat(32)}`,
      inputTokens: 0,
      outputTokens: 0,
      servedAt: 0n,
    };
    assert.throws(() => receiptLeaf({ ...r, callSeq: 2n ** 64n }), /callSeq/);
    assert.throws(() => receiptLeaf({ ...r, callSeq: -1n }), /callSeq/);
    assert.throws(() => receiptLeaf({ ...r, servedAt: 2 ** 53 }), /servedAt/);
    assert.throws(() => receiptLeaf({ ...r, inputTokens: 2 ** 32 }), /inputTokens/);
    assert.throws(() => receiptLeaf({ ...r, outputTokens: 1.5 }), /outputTokens/);
    assert.throws(() => receiptLeaf({ ...r, modelId: "0x1234" }), /modelId/);
    assert.throws(() => receiptLeaf({ ...r, requestHash: `0x${"zz".repeat(32)}` }), /requestHash/);
    assert.throws(() => receiptLeaf({ ...r, responseHash: new Uint8Array(31) }), /responseHash/);
    assert.throws(() => receiptLeaf({ ...r, gateway: "0x1234" }), /gateway/);
  });
});

describe("sdk/eip712", function () {
  this.timeout(180_000); // property runs; seconds when idle, but CI boxes are shared

  it("test_domainSeparator_voidReceiptDigest_equalsViemHashTypedData", () => {
    const viemDigest = hashTypedData({
      domain,
      types: voidReceiptTypes,
      primaryType: "VoidReceipt",
      message: { gateway: zeroAddress, callSeq: 0n },
    });
    const structHash = hashVoid(zeroAddress, 0n);
    const sep = domainSeparator(domain);
    assert.equal(keccak256(`0x1901${sep.slice(2)}${structHash.slice(2)}`), viemDigest);
  });

  it("test_signHeader_65ByteAndCompactForms_recoverEnclaveKeyAndEqualViemSignature", async () => {
    await fc.assert(
      fc.asyncProperty(headerArb, async (h) => {
        const signed = await signHeader(account, domain, h);
        assert.equal(
          signed.digest,
          hashTypedData({ domain, types: batchHeaderTypes, primaryType: "BatchHeader", message: h }),
        );
        assert.equal(
          signed.signature,
          await account.signTypedData({ domain, types: batchHeaderTypes, primaryType: "BatchHeader", message: h }),
        );
        assert.equal(signed.compact.r, signed.signature.slice(0, 66));
        assert.equal(hexToBytes(signed.compact.vs)[0]! >> 7, Number(signed.signature.slice(130, 132) === "1c"));
        assert.equal(fromCompactSignature(signed.compact), signed.signature);
        assert.equal(await recoverHeaderSigner(domain, h, signed.compact), account.address);
        assert.equal(await recoverAddress({ hash: signed.digest, signature: signed.signature }), account.address);
      }),
      { numRuns: 25 },
    );
  });

  it("test_signReceipt_randomReceipts_recoversEnclaveKeyAndEqualsViemSignature", async () => {
    await fc.assert(
      fc.asyncProperty(receiptArb, async (r) => {
        const signed = await signReceipt(account, domain, r);
        assert.equal(
          signed.signature,
          await account.signTypedData({ domain, types: receiptTypes, primaryType: "Receipt", message: r }),
        );
        assert.equal(await recoverReceiptSigner(domain, r, signed.compact), account.address);
        assert.equal(await recoverReceiptSigner(domain, r, signed.signature), account.address);
      }),
      { numRuns: 25 },
    );
  });

  it("test_headerDigest_randomHeaders_equalsProofSettlementHeaderDigest", async () => {
    const settlement = await deploySettlementOnly(viem, { perCall: 1n, perKiloInputToken: 1n, perKiloOutputToken: 1n });
    const chainId = await (await viem.getPublicClient()).getChainId();
    const d = settlementDomain(chainId, settlement.address);
    await fc.assert(
      fc.asyncProperty(headerArb, async (h) => {
        assert.equal(headerDigest(d, h), await settlement.read.headerDigest([h]));
      }),
      { numRuns: 30 },
    );
  });
});
