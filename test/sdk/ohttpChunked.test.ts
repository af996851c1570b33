import assert from "node:assert/strict";
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import fc from "fast-check";
import {
  ChunkedRequestOpener,
  ChunkedRequestSealer,
  OhttpChunkTooLargeError,
  OhttpDecryptError,
  OhttpError,
  OhttpTruncatedError,
  decapsulateChunkedRequest,
  decodeRequest,
  decodeResponse,
  encapsulateChunkedRequest,
  generateKeyPair,
  importClientKey,
  importServerKeys,
  keyPairFromPrivateKey,
  setOhttpCryptoBackend,
} from "../../sdk/ohttp/index.js";
import { aeadOpen, aeadSeal, hpkeExport, hpkeSetupBase, nonceFor, suiteOf } from "../../sdk/ohttp/encapsulation.js";
import {
  CHUNKED_EXAMPLE as X,
  RFC9180_A1,
  RFC9180_A2,
  RFC9180_A6_AEAD,
  type HpkeVector,
} from "./ohttpChunked.vectors.js";

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const utf8 = (s: string) => new TextEncoder().encode(s);
const join = (parts: readonly Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

const exampleKeyPair = () =>
  keyPairFromPrivateKey({
    keyId: 1,
    privateKey: hex(X.serverPrivateKey),
    symmetric: [
      { kdfId: 1, aeadId: 1 },
      { kdfId: 1, aeadId: 3 },
    ],
  });

/** A chunked response for `chunks` (the last one final), opened chunk by chunk; returns what each step gave. */
async function exchange(chunks: Uint8Array[], aeadId = 1) {
  const kp = generateKeyPair({ keyId: 7, symmetric: [{ kdfId: 1, aeadId }] });
  const { encapsulatedRequest, sealer } = await encapsulateChunkedRequest(importClientKey(kp.encodedConfig), utf8("q"));
  const { opener } = await decapsulateChunkedRequest(await importServerKeys(kp), encapsulatedRequest);
  const rs = opener.responseSealer();
  const framed = [rs.header];
  for (let i = 0; i < chunks.length; i++) framed.push(await rs.seal(chunks[i]!, i === chunks.length - 1));
  return { framed, opener: () => sealer.responseOpener() };
}

async function openAll(opener: ReturnType<ChunkedRequestSealer["responseOpener"]>, parts: Uint8Array[]) {
  const out: Uint8Array[] = [];
  for (const p of parts) out.push(...(await opener.push(p)));
  out.push(await opener.end());
  return out;
}

for (const backend of ["node", "webcrypto"] as const) {
  describe(`chunked ohttp (draft-ietf-ohai-chunked-ohttp-08) with the ${backend} backend`, () => {
    let previous: "node" | "webcrypto";
    before(() => {
      previous = setOhttpCryptoBackend(backend);
    });
    after(() => {
      setOhttpCryptoBackend(previous);
    });

    describe("the draft's Appendix example, byte for byte", () => {
      it("test_chunkedKeyPair_draftPrivateKey_reproducesPublishedKeyConfig", () => {
        assert.equal(toHex(exampleKeyPair().encodedConfig), X.keyConfig);
      });

      it("test_chunkedRequestSealer_draftEphemeralKey_producesPublishedChunks", async () => {
        const key = importClientKey(hex(X.keyConfig));
        const request = hex(X.request);
        const sealer = await ChunkedRequestSealer.create(key, { ephemeralPrivateKey: hex(X.ephemeralPrivateKey) });
        assert.equal(toHex(sealer.enc), X.enc);
        const parts = [
          sealer.header,
          await sealer.seal(request.subarray(0, 12)),
          await sealer.seal(request.subarray(12)),
          await sealer.seal(new Uint8Array(0), true),
        ];
        assert.deepEqual(parts.map(toHex), [
          X.encapsulatedRequest[0] + X.encapsulatedRequest[1],
          ...X.encapsulatedRequest.slice(2),
        ]);
      });

      it("test_chunkedRequestOpener_draftRequest_opensChunks12And13And0Bytes", async () => {
        const opener = new ChunkedRequestOpener(await importServerKeys(exampleKeyPair()));
        const sizes: number[] = [];
        for (const part of X.encapsulatedRequest) for (const pt of await opener.push(hex(part))) sizes.push(pt.length);
        const last = await opener.end();
        sizes.push(last.length);
        assert.deepEqual(sizes, X.requestChunks);
        const whole = await decapsulateChunkedRequest(
          await importServerKeys(exampleKeyPair()),
          hex(X.encapsulatedRequest.join("")),
        );
        assert.equal(toHex(whole.request), X.request);
        const req = decodeRequest(whole.request);
        assert.deepEqual([req.method, req.scheme, req.authority, req.path], ["GET", "https", "example.com", "/"]);
      });

      it("test_chunkedResponseSealer_draftResponseNonce_producesPublishedChunks", async () => {
        const { opener } = await decapsulateChunkedRequest(
          await importServerKeys(exampleKeyPair()),
          hex(X.encapsulatedRequest.join("")),
        );
        const rs = opener.responseSealer({ responseNonce: hex(X.responseNonce) });
        const response = hex(X.response);
        const parts = [
          rs.header,
          await rs.seal(response.subarray(0, 1)),
          await rs.seal(response.subarray(1)),
          await rs.seal(new Uint8Array(0), true),
        ];
        assert.deepEqual(parts.map(toHex), X.encapsulatedResponse);
      });

      it("test_chunkedResponseOpener_draftResponse_opens1And2And0BytesStatus200", async () => {
        const key = importClientKey(hex(X.keyConfig));
        const sealer = await ChunkedRequestSealer.create(key, { ephemeralPrivateKey: hex(X.ephemeralPrivateKey) });
        const got = await openAll(sealer.responseOpener(), X.encapsulatedResponse.map(hex));
        assert.deepEqual(
          got.map((b) => b.length),
          X.responseChunks,
        );
        assert.equal(toHex(join(got)), X.response);
        assert.equal(decodeResponse(join(got)).status, 200);
      });

      it("test_chunkedKeySchedule_draftExample_exportedSecretAndChunkNoncesMatch", async () => {
        const { ctx } = await hpkeSetupBase(
          1,
          { skE: hex(X.ephemeralPrivateKey), pkR: exampleKeyPair().publicKey },
          hex(X.info),
        );
        assert.equal(toHex(hpkeExport(ctx, utf8("message/bhttp chunked response"), 16)), X.exportedSecret);
        assert.deepEqual(
          [0, 1, 2].map((i) => toHex(nonceFor(hex(X.aeadNonce), i))),
          X.chunkNonces,
        );
      });
    });

    describe("RFC 9180 Appendix A vectors, per suite", () => {
      for (const [name, v] of [
        ["A.1 AES-128-GCM", RFC9180_A1],
        ["A.2 ChaCha20Poly1305", RFC9180_A2],
      ] as [string, HpkeVector][]) {
        it(`test_hpke_${name}Vector_keyScheduleSealOpenAndExportMatch`, async () => {
          const s = await hpkeSetupBase(v.aeadId, { skE: hex(v.skEm), pkR: hex(v.pkRm) }, hex(v.info));
          const r = await hpkeSetupBase(v.aeadId, { skR: hex(v.skRm), enc: hex(v.enc) }, hex(v.info));
          assert.equal(toHex(s.enc), v.enc);
          for (const ctx of [s.ctx, r.ctx]) {
            assert.equal(toHex(ctx.key), v.key);
            assert.equal(toHex(ctx.baseNonce), v.baseNonce);
            assert.equal(toHex(ctx.exporterSecret), v.exporterSecret);
            assert.equal(toHex(hpkeExport(ctx, new Uint8Array(0), 32)), v.exported);
          }
          const suite = suiteOf(v.aeadId)!;
          for (const e of v.encryptions) {
            const nonce = nonceFor(s.ctx.baseNonce, e.seq);
            assert.equal(toHex(await aeadSeal(suite, s.ctx.key, nonce, hex(e.pt), hex(e.aad))), e.ct);
            assert.equal(toHex(await aeadOpen(suite, r.ctx.key, nonce, hex(e.ct), hex(e.aad))), e.pt);
          }
        });
      }

      it("test_aeadSeal_rfc9180A6Aes256Gcm_producesPublishedCiphertexts", async () => {
        const suite = suiteOf(2)!;
        for (const e of RFC9180_A6_AEAD.encryptions) {
          const nonce = nonceFor(hex(RFC9180_A6_AEAD.baseNonce), e.seq);
          assert.equal(toHex(await aeadSeal(suite, hex(RFC9180_A6_AEAD.key), nonce, hex(e.pt), hex(e.aad))), e.ct);
        }
      });

      it("test_chunkedRequest_x25519Aes256Gcm_hpkeCoreOpensChunksWithFinalAad", async () => {
        const hpke = new CipherSuite({
          kem: new DhkemX25519HkdfSha256(),
          kdf: new HkdfSha256(),
          aead: new Aes256Gcm(),
        });
        const kp = generateKeyPair({ keyId: 4, symmetric: [{ kdfId: 1, aeadId: 2 }] });
        const key = importClientKey(kp.encodedConfig);
        assert.equal(key.suite.aeadId, 2);
        const sealer = await ChunkedRequestSealer.create(key);
        const recipient = await hpke.createRecipientContext({
          recipientKey: await hpke.kem.deserializePrivateKey(new Uint8Array(kp.privateKey)),
          enc: new Uint8Array(sealer.enc),
          info: new Uint8Array([...utf8("message/bhttp chunked request"), 0, ...key.header]),
        });
        const a = await sealer.seal(utf8("first"));
        const b = await sealer.seal(utf8("last"), true);
        assert.equal(new TextDecoder().decode(await recipient.open(a.slice(1))), "first");
        assert.equal(new TextDecoder().decode(await recipient.open(b.slice(1), new Uint8Array(utf8("final")))), "last");
      });
    });

    describe("faults", () => {
      const chunks = ["alpha", "beta", "gamma", "delta"].map(utf8);

      it("test_chunkedResponse_anySuiteRandomChunking_roundTrips", async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(1, 2, 3),
            fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 6 }),
            fc.uint8Array({ maxLength: 50 }),
            fc.integer({ min: 1, max: 40 }),
            async (aeadId, body, last, cut) => {
              const { framed, opener } = await exchange([...body, last], aeadId);
              const wire = join(framed);
              const pieces: Uint8Array[] = [];
              for (let i = 0; i < wire.length; i += cut) pieces.push(wire.subarray(i, i + cut));
              const got = await openAll(opener(), pieces);
              assert.equal(toHex(join(got)), toHex(join([...body, last])));
            },
          ),
          { numRuns: 60 },
        );
      });

      it("test_attack_tampersChunk_ohttpDecryptError", async () => {
        const { framed, opener } = await exchange(chunks);
        framed[2]![5]! ^= 1;
        await assert.rejects(openAll(opener(), framed), OhttpDecryptError);
      });

      it("test_attack_reordersChunks_ohttpDecryptErrorByPositionalNonce", async () => {
        const { framed, opener } = await exchange(chunks);
        [framed[1], framed[2]] = [framed[2]!, framed[1]!];
        await assert.rejects(openAll(opener(), framed), OhttpDecryptError);
      });

      it("test_attack_dropsChunk_ohttpDecryptError", async () => {
        const { framed, opener } = await exchange(chunks);
        framed.splice(2, 1);
        await assert.rejects(openAll(opener(), framed), OhttpDecryptError);
      });

      it("test_attack_cutsStreamBeforeFinalChunk_ohttpTruncatedErrorNotComplete", async () => {
        const { framed, opener } = await exchange(chunks);
        const o = opener();
        const got: Uint8Array[] = [];
        for (const p of framed.slice(0, -1)) got.push(...(await o.push(p)));
        assert.equal(got.length, 3);
        assert.equal(o.complete, false);
        await assert.rejects(o.end(), OhttpTruncatedError);
      });

      it("test_attack_reframesNonFinalChunkAsFinal_ohttpDecryptError", async () => {
        const { framed, opener } = await exchange(chunks);
        const second = framed[2]!;
        const reframed = [framed[0]!, framed[1]!, Uint8Array.from([0, ...second.subarray(1)])];
        await assert.rejects(openAll(opener(), reframed), OhttpDecryptError);
      });

      it("test_chunkedOpener_chunkAboveLimit_ohttpChunkTooLargeErrorBeforeBuffering", async () => {
        const { framed, opener } = await exchange([new Uint8Array(20_000).fill(1), new Uint8Array(0)]);
        await assert.rejects(openAll(opener(), framed), OhttpChunkTooLargeError);
      });

      it("test_chunkedSealer_emptyNonFinalOrAfterFinalChunk_ohttpError", async () => {
        const kp = generateKeyPair({ keyId: 1 });
        const sealer = await ChunkedRequestSealer.create(importClientKey(kp.encodedConfig));
        await assert.rejects(sealer.seal(new Uint8Array(0)), OhttpError);
        await sealer.seal(utf8("x"), true);
        await assert.rejects(sealer.seal(utf8("y")), OhttpError);
      });

      it("test_chunkedOpeners_arbitraryBytes1000Runs_onlyOhttpErrors", async function () {
        this.timeout(120_000);
        const kp = generateKeyPair({ keyId: 7 });
        const serverKeys = await importServerKeys(kp);
        const { encapsulatedRequest, sealer } = await encapsulateChunkedRequest(
          importClientKey(kp.encodedConfig),
          utf8("q"),
        );
        const { opener } = await decapsulateChunkedRequest(serverKeys, encapsulatedRequest);
        const rs = opener.responseSealer();
        const valid = join([rs.header, await rs.seal(utf8("tok")), await rs.seal(utf8("en"), true)]);
        const bytes = fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          // valid messages with a few bytes changed, cut or extended: reach past the header
          fc
            .tuple(fc.array(fc.tuple(fc.nat(), fc.nat(255))), fc.nat(), fc.uint8Array({ maxLength: 8 }))
            .map(([flips, cut, tail]) => {
              const b = join([valid.subarray(0, cut % (valid.length + 1)), tail]);
              for (const [i, v] of flips) if (b.length) b[i % b.length] = v;
              return b;
            }),
        );
        const check = (e: unknown) => {
          if (!(e instanceof OhttpError)) throw e;
        };
        await fc.assert(
          fc.asyncProperty(bytes, fc.integer({ min: 1, max: 64 }), async (b, cut) => {
            const res = sealer.responseOpener();
            const req = new ChunkedRequestOpener(serverKeys);
            for (const o of [res, req]) {
              try {
                for (let i = 0; i < b.length; i += cut) await o.push(b.subarray(i, i + cut));
                await o.end();
              } catch (e) {
                check(e);
              }
            }
          }),
          { numRuns: 1000 },
        );
      });
    });
  });
}
