/**
 * The seal worker (gateway/seal/sealWorker.ts through gateway/seal/treeBuilder.ts) signs batch headers off
 * the event loop: its signatures must be exactly the ones the main thread would make (RFC 6979
 * signatures are deterministic), and a bad request must fail alone, leaving the worker usable.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { bytesToHex, getAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { TreeBuilder } from "../../gateway/seal/treeBuilder.js";
import { recoverHeaderSigner, settlementDomain, signHeader } from "../../sdk/eip712.js";
import { buildTree } from "../../sdk/merkle.js";
import type { BatchHeader } from "../../sdk/types.js";

const key: Hex = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const account = privateKeyToAccount(key);
const domain = settlementDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const headerArb: fc.Arbitrary<BatchHeader> = fc.record({
  gateway: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(bytesToHex(b))),
  batchSeq: u64,
  firstCallSeq: u64,
  count: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  root: bytes32,
  usage: fc.array(fc.record({ modelId: bytes32, calls: fc.nat(), inputTokens: u64, outputTokens: u64 }), {
    maxLength: 4,
  }),
  fee: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
  firstServedAt: u64,
  lastServedAt: u64,
  daURI: fc.string({ maxLength: 60 }),
});

describe("seal worker: header signing", function () {
  this.timeout(60_000);
  const trees = new TreeBuilder({ signingKey: key });
  after(() => trees.close());

  it("test_signHeader_onWorker_equalsMainThreadSignature_succeeds", async () => {
    await fc.assert(
      fc.asyncProperty(headerArb, async (h) => {
        const onWorker = await trees.signHeader(domain, h);
        assert.equal(onWorker, (await signHeader(account, domain, h)).signature);
        assert.equal(await recoverHeaderSigner(domain, h, onWorker), account.address);
      }),
      { numRuns: 30 },
    );
  });

  it("test_signHeader_badHeader_rejectsAndWorkerKeepsBuildingTrees_reverts", async () => {
    const bad = { ...fc.sample(headerArb, 1)[0]!, root: "0x1234" as Hex };
    await assert.rejects(trees.signHeader(domain, bad), /Merkle worker: .+/);
    const leaves = new Uint8Array(3 * 32).fill(7);
    const built = await trees.build(leaves.slice());
    assert.equal(built.tree.root, buildTree(leaves).root);
  });

  it("test_signHeader_noKey_rejectsWithClearError_reverts", async () => {
    const keyless = new TreeBuilder();
    assert.equal(keyless.canSign, false);
    await assert.rejects(keyless.signHeader(domain, fc.sample(headerArb, 1)[0]!), /no signing key was given/);
    await keyless.close();
  });
});
