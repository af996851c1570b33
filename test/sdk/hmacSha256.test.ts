/**
 * The OHTTP key schedule's HMAC-SHA256 (sdk/ohttp/hmacSha256.ts): RFC 4231's test vectors (those
 * with keys of at most one block), and equal to node:crypto's createHmac for any key ≤ 64 bytes and
 * any message split into any parts — across block and padding boundaries.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { hmacSha256 } from "../../sdk/ohttp/hmacSha256.js";

const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("ohttp: HMAC-SHA256", () => {
  it("test_hmacSha256_rfc4231Vectors_match_succeeds", () => {
    // RFC 4231 §4.2, §4.3, §4.4, §4.5 (§4.6 truncates; §4.7-4.8 use 131-byte keys, refused here).
    const cases: [Uint8Array, Uint8Array, string][] = [
      [
        new Uint8Array(20).fill(0x0b),
        new TextEncoder().encode("Hi There"),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      ],
      [
        new TextEncoder().encode("Jefe"),
        new TextEncoder().encode("what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      ],
      [
        new Uint8Array(20).fill(0xaa),
        new Uint8Array(50).fill(0xdd),
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
      ],
      [
        hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
        new Uint8Array(50).fill(0xcd),
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
      ],
    ];
    for (const [key, data, mac] of cases) assert.equal(toHex(hmacSha256(key, data)), mac);
  });

  it("test_hmacSha256_anyKeyAndParts_equalsNodeCrypto_succeeds", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.uint8Array({ maxLength: 150 }), { maxLength: 5 }),
        (key, parts) => {
          const expected = createHmac("sha256", key).update(Buffer.concat(parts)).digest("hex");
          assert.equal(toHex(hmacSha256(key, ...parts)), expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("test_hmacSha256_keyLongerThanABlock_reverts", () => {
    assert.throws(() => hmacSha256(new Uint8Array(65), new Uint8Array(1)), RangeError);
  });
});
