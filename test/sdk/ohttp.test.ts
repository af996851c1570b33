import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv } from "node:crypto";
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import fc from "fast-check";
import { Hono } from "hono";
import { keccak256 } from "viem";
import {
  BhttpDecodeError,
  BhttpEncodeError,
  MEDIA_TYPE_OHTTP_RESPONSE,
  OhttpDecryptError,
  OhttpError,
  OhttpKeyConfigError,
  OhttpKeyConfigMismatchError,
  OhttpRelayError,
  OhttpReplayError,
  OhttpReplayGuard,
  OhttpTruncatedError,
  OhttpUnknownKeyError,
  OhttpUnsupportedSuiteError,
  createOhttpClient,
  decapsulateRequest,
  decapsulateResponse,
  decodeKeyConfig,
  decodeKeyConfigList,
  decodeRequest,
  decodeResponse,
  encapsulateRequest,
  encapsulateResponse,
  encodeKeyConfig,
  encodeKeyConfigList,
  encodeRequest,
  encodeResponse,
  generateKeyPair,
  getField,
  importClientKey,
  importServerKeys,
  isSupportedKeyConfig,
  keyConfigHash,
  keyPairFromPrivateKey,
  ohttpCryptoBackend,
  setOhttpCryptoBackend,
  type BhttpRequest,
  type BhttpResponse,
  type OhttpServerKeys,
} from "../../sdk/ohttp/index.js";
import {
  RFC9292_INDETERMINATE_LENGTH_REQUEST,
  RFC9292_KNOWN_LENGTH_REQUEST,
  RFC9458_APPENDIX_A as A,
} from "./ohttp.vectors.js";

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const isError =
  <T extends Error>(cls: abstract new (...args: never[]) => T, pattern?: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    if (pattern) assert.match((e as Error).message, pattern);
    return true;
  };

const DEFAULT_BACKEND = ohttpCryptoBackend();
const BACKENDS = DEFAULT_BACKEND === "node" ? (["node", "webcrypto"] as const) : (["webcrypto"] as const);

/** The RFC's key pair, with both suites its key config lists. */
const rfcKeyPair = () =>
  keyPairFromPrivateKey({
    keyId: A.keyId,
    privateKey: hex(A.serverPrivateKey),
    symmetric: [
      { kdfId: 0x0001, aeadId: 0x0001 },
      { kdfId: 0x0001, aeadId: 0x0003 },
    ],
  });

// =============================================================================================
// RFC 9458 Appendix A
// =============================================================================================

describe("ohttp: RFC 9458 Appendix A vectors", () => {
  it("test_keyPair_rfc9458PrivateKey_reproducesPublishedKeyConfig", () => {
    const kp = rfcKeyPair();
    assert.equal(toHex(kp.publicKey), A.serverPublicKey);
    assert.equal(toHex(kp.encodedConfig), A.keyConfig);
    assert.equal(kp.hash, keccak256(hex(A.keyConfig)));
  });

  it("test_keyConfig_rfc9458Vector_decodesAndReencodesIdentically", () => {
    const config = decodeKeyConfig(hex(A.keyConfig));
    assert.equal(config.keyId, 1);
    assert.equal(config.kemId, 0x0020);
    assert.equal(toHex(config.publicKey), A.serverPublicKey);
    assert.deepEqual(config.symmetric, [
      { kdfId: 1, aeadId: 1 },
      { kdfId: 1, aeadId: 3 },
    ]);
    assert.equal(toHex(encodeKeyConfig(config)), A.keyConfig);
    assert.equal(isSupportedKeyConfig(config), true);
  });

  it("test_bhttp_rfc9458RequestAndResponse_decodeAndReencodeIdentically", () => {
    const req = decodeRequest(hex(A.request));
    assert.deepEqual(
      { method: req.method, scheme: req.scheme, authority: req.authority, path: req.path },
      { method: "GET", scheme: "https", authority: "example.com", path: "/" },
    );
    assert.deepEqual([req.headers, req.content.length, req.trailers], [[], 0, []]);
    assert.equal(toHex(encodeRequest(req)), A.request);

    const res = decodeResponse(hex(A.response));
    assert.deepEqual(
      [res.status, res.informational, res.headers, res.content.length, res.trailers],
      [200, [], [], 0, []],
    );
    assert.equal(toHex(encodeResponse({ status: 200 })), A.response);
  });

  it("test_clientKey_rfc9458KeyConfig_hdrAndInfoMatchVector", () => {
    const key = importClientKey(hex(A.keyConfig));
    assert.equal(toHex(key.header), A.header);
    assert.equal(toHex(key.info), A.info);
  });

  it("test_rfc9458Vector_publishedAeadKeyAndNonce_openResponseCiphertextWithNodeCrypto", () => {
    // Confirms the vector's intermediates independently of sdk/ohttp (plain node:crypto).
    const body = hex(A.encapsulatedResponse).subarray(16);
    const d = createDecipheriv("aes-128-gcm", hex(A.aeadKey), hex(A.aeadNonce));
    d.setAuthTag(body.subarray(body.length - 16));
    const pt = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
    assert.equal(pt.toString("hex"), A.response);
    const c = createCipheriv("aes-128-gcm", hex(A.aeadKey), hex(A.aeadNonce));
    c.update(hex(A.response));
    c.final();
    assert.equal(A.encapsulatedResponse.endsWith(c.getAuthTag().toString("hex")), true);
  });

  for (const backend of BACKENDS) {
    describe(`with the ${backend} backend`, () => {
      let server: OhttpServerKeys;
      before(async () => {
        setOhttpCryptoBackend(backend);
        server = await importServerKeys(rfcKeyPair());
      });
      after(() => void setOhttpCryptoBackend(DEFAULT_BACKEND));

      it("test_decapsulateRequest_rfc9458Request_yieldsPublishedRequestAndSecret", async () => {
        const { request, context } = await decapsulateRequest(server, hex(A.encapsulatedRequest));
        assert.equal(toHex(request), A.request);
        assert.equal(context.keyId, 1);
        assert.equal(toHex(context.enc), A.enc);
        assert.equal(toHex(context.responseSecret), A.exportedSecret);
      });

      it("test_encapsulateRequest_rfc9458EphemeralKey_producesPublishedRequest", async () => {
        const key = importClientKey(hex(A.keyConfig));
        const { encapsulatedRequest, context } = await encapsulateRequest(key, hex(A.request), {
          ephemeralPrivateKey: hex(A.ephemeralPrivateKey),
        });
        assert.equal(toHex(encapsulatedRequest), A.encapsulatedRequest);
        assert.equal(toHex(context.enc), A.enc);
        assert.equal(toHex(context.responseSecret), A.exportedSecret);
      });

      it("test_encapsulateResponse_rfc9458Nonce_producesPublishedResponse", async () => {
        const { context } = await decapsulateRequest(server, hex(A.encapsulatedRequest));
        const res = await encapsulateResponse(context, hex(A.response), { responseNonce: hex(A.responseNonce) });
        assert.equal(toHex(res), A.encapsulatedResponse);
      });

      it("test_decapsulateResponse_rfc9458Response_yieldsPublishedResponse", async () => {
        const key = importClientKey(hex(A.keyConfig));
        const { context } = await encapsulateRequest(key, hex(A.request), {
          ephemeralPrivateKey: hex(A.ephemeralPrivateKey),
        });
        const res = await decapsulateResponse(context, hex(A.encapsulatedResponse));
        assert.equal(toHex(res), A.response);
        assert.equal(decodeResponse(res).status, 200);
      });
    });
  }
});

// =============================================================================================
// RFC 9292
// =============================================================================================

describe("bhttp: RFC 9292 §5.1 request example", () => {
  it("test_bhttpDecode_rfc9292KnownLengthExample_yieldsItsFields", () => {
    const req = decodeRequest(hex(RFC9292_KNOWN_LENGTH_REQUEST));
    assert.equal(req.method, "GET");
    assert.equal(req.scheme, "https");
    assert.equal(req.authority, "");
    assert.equal(req.path, "/hello.txt");
    assert.deepEqual(req.headers, [
      ["user-agent", "curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"],
      ["host", "www.example.com"],
      ["accept-language", "en, mi"],
    ]);
    assert.equal(getField(req.headers, "Host"), "www.example.com");
    assert.equal(req.content.length, 0);
    assert.deepEqual(req.trailers, []);
  });

  it("test_bhttpEncode_rfc9292KnownLengthExample_byteForByteOrTruncatedByTwo", () => {
    const bytes = hex(RFC9292_KNOWN_LENGTH_REQUEST);
    const req = decodeRequest(bytes);
    assert.equal(toHex(encodeRequest(req, { truncate: false })), RFC9292_KNOWN_LENGTH_REQUEST);
    assert.equal(toHex(encodeRequest(req)), toHex(bytes.subarray(0, bytes.length - 2)));
    assert.deepEqual(decodeRequest(bytes.subarray(0, bytes.length - 1)), req);
    assert.deepEqual(decodeRequest(bytes.subarray(0, bytes.length - 2)), req);
  });

  it("test_bhttpDecode_rfc9292IndeterminateLengthWithPadding_sameRequest", () => {
    const indeterminate = decodeRequest(hex(RFC9292_INDETERMINATE_LENGTH_REQUEST));
    assert.deepEqual(indeterminate, decodeRequest(hex(RFC9292_KNOWN_LENGTH_REQUEST)));
  });

  it("test_bhttpDecode_indeterminateLengthCutInsideSection_bhttpDecodeError", () => {
    const bytes = hex(RFC9292_INDETERMINATE_LENGTH_REQUEST);
    assert.throws(() => decodeRequest(bytes.subarray(0, 40)), isError(BhttpDecodeError, /truncated/));
  });
});

// =============================================================================================
// bhttp: strictness and property tests
// =============================================================================================

const TCHAR_LOWER = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz";
const VISIBLE = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
const chars = (alphabet: readonly string[] | string, minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
const arbFieldName = chars(TCHAR_LOWER, 1, 16);
const arbFieldValue = fc
  .string({ unit: "grapheme", maxLength: 24 })
  .map((s) => s.replace(/[\0\r\n]/g, "").replace(/^[ \t]+|[ \t]+$/g, ""));
const arbFields = (max: number) => fc.array(fc.tuple(arbFieldName, arbFieldValue), { maxLength: max });
const plain = { noNullPrototype: true } as const;
const arbRequest: fc.Arbitrary<BhttpRequest> = fc.record(
  {
    method: chars(TCHAR_LOWER.toUpperCase(), 1, 10),
    scheme: fc.oneof(fc.constantFrom("https", "http", ""), fc.stringMatching(/^[a-z][a-z0-9+.-]{0,8}$/)),
    authority: chars(VISIBLE, 0, 24),
    path: chars(VISIBLE, 0, 40),
    headers: arbFields(6),
    content: fc.uint8Array({ maxLength: 200 }),
    trailers: arbFields(2),
  },
  plain,
);
const arbResponse: fc.Arbitrary<BhttpResponse> = fc.record(
  {
    informational: fc.array(fc.record({ status: fc.integer({ min: 100, max: 199 }), headers: arbFields(2) }, plain), {
      maxLength: 2,
    }),
    status: fc.integer({ min: 200, max: 599 }),
    headers: arbFields(6),
    content: fc.uint8Array({ maxLength: 200 }),
    trailers: arbFields(2),
  },
  plain,
);
const arbEncodeOptions = fc.record({ truncate: fc.boolean(), padding: fc.nat(12) }, plain);

describe("bhttp: round trips (fast-check)", () => {
  it("test_bhttp_1000RandomRequests_decodeOfEncodeIsIdentity", () => {
    fc.assert(
      fc.property(arbRequest, arbEncodeOptions, (req, opts) => {
        const bytes = encodeRequest(req, opts);
        const back = decodeRequest(bytes);
        assert.deepStrictEqual(back, req);
        assert.equal(toHex(encodeRequest(back, opts)), toHex(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it("test_bhttp_1000RandomResponses_decodeOfEncodeIsIdentity", () => {
    fc.assert(
      fc.property(arbResponse, arbEncodeOptions, (res, opts) => {
        const bytes = encodeResponse(res, opts);
        assert.deepStrictEqual(decodeResponse(bytes), res);
      }),
      { numRuns: 1000 },
    );
  });

  it("test_bhttpDecode_arbitraryBytes_decodesOrBhttpDecodeErrorOnly", () => {
    const check = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof BhttpDecodeError, `unexpected ${(e as Error).name}: ${(e as Error).message}`);
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        check(() => decodeRequest(b));
        check(() => decodeResponse(b));
        check(() => decodeRequest(Uint8Array.of(0, ...b)));
        check(() => decodeResponse(Uint8Array.of(1, ...b)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("bhttp: strict decoding", () => {
  const full = encodeRequest(
    {
      method: "POST",
      scheme: "https",
      authority: "gw.example",
      path: "/v1/chat",
      headers: [["content-type", "application/json"]],
      content: utf8("{}"),
      trailers: [["x-t", "1"]],
    },
    { truncate: false },
  );

  it("test_bhttpDecode_everyTruncation_bhttpDecodeErrorExceptThreeRfc9292Allows", () => {
    const controlEnd = 1 + 1 + 4 + 1 + 5 + 1 + 10 + 1 + 8; // indicator + method + scheme + authority + path
    const headersEnd = controlEnd + 1 + 1 + 12 + 1 + 16;
    const contentEnd = headersEnd + 1 + 2;
    const allowed = new Set([controlEnd, headersEnd, contentEnd, full.length]);
    for (let n = 0; n < full.length; n++) {
      if (allowed.has(n)) {
        assert.doesNotThrow(() => decodeRequest(full.subarray(0, n)), `prefix ${n}`);
      } else {
        assert.throws(() => decodeRequest(full.subarray(0, n)), isError(BhttpDecodeError), `prefix ${n}`);
      }
    }
    assert.throws(
      () => decodeRequest(full.subarray(0, 3)),
      isError(BhttpDecodeError, /truncated: method declares 4 byte/),
    );
  });

  it("test_bhttpDecode_malformedMessage_bhttpDecodeErrorNamesTheFault", () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ["empty input", new Uint8Array(0), /truncated: missing framing indicator/],
      [
        "a response where a request is expected",
        hex(A.response),
        /expected a request \(framing indicator 0 or 2\) but got a response/,
      ],
      ["unknown framing indicator", Uint8Array.of(7), /unknown framing indicator 7/],
      [
        "uppercase field name",
        hex("0003474554" + "00" + "00" + "012f" + "05" + "01" + "41" + "02" + "6f6b"),
        /uppercase byte 0x41 in field name/,
      ],
      [
        "forbidden pseudo-field",
        hex("0003474554000001" + "2f" + "0a" + "05" + "3a70617468" + "03" + "2f2f2f"),
        /pseudo-field :path is not allowed/,
      ],
      [
        "field line overrunning its section",
        hex("0003474554000001" + "2f" + "03" + "01" + "61" + "05" + "6262"),
        /field line overruns the header section/,
      ],
      ["CR in a field value", hex("0003474554000001" + "2f" + "05" + "01" + "61" + "02" + "0d0a"), /NUL\/CR\/LF/],
      ["non-zero padding", hex(`${A.request}0000000001`), /non-zero padding byte 0x1/],
      ["status out of range", hex("01" + "4258"), /status code 600 is outside/],
      [
        "informational response without headers",
        hex("01" + "4064"),
        /informational response 100 has no header section/,
      ],
      ["empty method", hex("00" + "00" + "05" + "6874747073" + "00" + "01" + "2f"), /empty method/],
    ];
    for (const [what, bytes, pattern] of cases) {
      const decode =
        bytes[0] === 1 && what !== "a response where a request is expected" ? decodeResponse : decodeRequest;
      assert.throws(() => decode(bytes), isError(BhttpDecodeError, pattern), what);
    }
  });

  it("test_bhttpEncode_undecodableMessage_bhttpEncodeError", () => {
    const base = { method: "GET", scheme: "https", authority: "a", path: "/" };
    assert.throws(
      () => encodeRequest({ ...base, headers: [[":path", "/x"]] }),
      isError(BhttpEncodeError, /pseudo-field :path/),
    );
    assert.throws(
      () => encodeRequest({ ...base, headers: [["a b", "x"]] }),
      isError(BhttpEncodeError, /not allowed in a field name/),
    );
    assert.throws(() => encodeRequest({ ...base, headers: [["a", "x\r\ny: z"]] }), isError(BhttpEncodeError, /CR\/LF/));
    assert.throws(() => encodeRequest({ ...base, method: "G T" }), isError(BhttpEncodeError));
    assert.throws(() => encodeResponse({ status: 99 }), isError(BhttpEncodeError, /outside 200\.\.599/));
    assert.throws(() => encodeRequest({ ...base, headers: [["\u212A", "x"]] }), isError(BhttpEncodeError, /non-ASCII/)); // KELVIN SIGN
    // Uppercase names are lowercased on encoding (RFC 9292 §3.6).
    assert.deepEqual(decodeRequest(encodeRequest({ ...base, headers: [["Content-Type", "x"]] })).headers, [
      ["content-type", "x"],
    ]);
  });
});

// =============================================================================================
// Key configs
// =============================================================================================

describe("ohttp: key configs", () => {
  it("test_keyConfigList_withUnknownKem_roundTripsSkippingIt", () => {
    const a = generateKeyPair({ keyId: 7 });
    const foreign = hex(`050099${"ab".repeat(20)}000400010001`); // unknown KEM 0x0099
    const list = encodeKeyConfigList([a.encodedConfig, foreign, rfcKeyPair().config]);
    const entries = decodeKeyConfigList(list);
    assert.deepEqual(
      entries.map((e) => e.config.keyId),
      [7, 1],
    );
    assert.equal(toHex(entries[0]!.encoded), toHex(a.encodedConfig));
    assert.equal(keyConfigHash(entries[1]!.encoded), keccak256(hex(A.keyConfig)));
  });

  it("test_decodeKeyConfig_malformed_ohttpKeyConfigError", () => {
    const good = hex(A.keyConfig);
    for (let n = 0; n < good.length; n++) {
      assert.throws(
        () => decodeKeyConfig(good.subarray(0, n)),
        isError(OhttpKeyConfigError, /truncated|multiple of 4/),
        `prefix ${n}`,
      );
    }
    assert.throws(() => decodeKeyConfig(Uint8Array.of(...good, 0)), isError(OhttpKeyConfigError, /trailing byte/));
    const badLen = good.slice();
    badLen[36] = 6; // symmetric algorithms length 6
    assert.throws(() => decodeKeyConfig(badLen), isError(OhttpKeyConfigError, /multiple of 4/));
    assert.throws(() => decodeKeyConfigList(Uint8Array.of(0, 50, 1)), isError(OhttpKeyConfigError, /truncated/));
    assert.throws(
      () => keyPairFromPrivateKey({ keyId: 1, privateKey: new Uint8Array(31) }),
      isError(OhttpKeyConfigError, /32 bytes/),
    );
    assert.throws(
      () => keyPairFromPrivateKey({ keyId: 256, privateKey: new Uint8Array(32) }),
      isError(OhttpKeyConfigError, /8 bits/),
    );
  });

  it("test_keyPair_samePrivateKeyDeterministicGeneratedFresh_hashCoversKeyId", () => {
    const sk = hex(A.serverPrivateKey);
    assert.equal(
      keyPairFromPrivateKey({ keyId: 3, privateKey: sk }).hash,
      keyPairFromPrivateKey({ keyId: 3, privateKey: sk }).hash,
    );
    assert.notEqual(generateKeyPair({ keyId: 3 }).hash, generateKeyPair({ keyId: 3 }).hash);
    // The hash covers every byte, key id included.
    assert.notEqual(
      keyPairFromPrivateKey({ keyId: 4, privateKey: sk }).hash,
      keyPairFromPrivateKey({ keyId: 3, privateKey: sk }).hash,
    );
  });

  it("test_keyConfig_noSupportedHkdfAeadPair_ohttpUnsupportedSuiteErrorBothSides", async () => {
    const exportOnly = { ...rfcKeyPair().config, symmetric: [{ kdfId: 1, aeadId: 0xffff }] };
    assert.throws(() => importClientKey(exportOnly), isError(OhttpUnsupportedSuiteError, /offers no/));
    const aes256Only = { ...rfcKeyPair().config, symmetric: [{ kdfId: 1, aeadId: 2 }] };
    assert.equal(importClientKey(aes256Only).suite.aeadId, 2);
    const server = await importServerKeys(rfcKeyPair());
    const msg = hex(A.encapsulatedRequest);
    msg[6] = 0x02; // aead_id = AES-256-GCM, which this key config does not offer
    await assert.rejects(decapsulateRequest(server, msg), isError(OhttpUnsupportedSuiteError, /AEAD 0x0002/));
  });

  it("test_importServerKeys_privateKeyNotMatchingConfig_ohttpError", async () => {
    const kp = generateKeyPair({ keyId: 1 });
    await assert.rejects(
      importServerKeys({ ...kp, privateKey: hex(A.serverPrivateKey) }),
      isError(OhttpError, /does not match/),
    );
  });
});

// =============================================================================================
// Encapsulation
// =============================================================================================

describe("ohttp: encapsulation", function () {
  this.timeout(30_000);

  it("test_encapsulation_againstHpkeCore_interoperatesBothDirections", async () => {
    const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
    const kp = generateKeyPair({ keyId: 9 });
    const clientKey = importClientKey(kp.encodedConfig);
    const server = await importServerKeys(kp);
    const label = utf8("message/bhttp response");
    const msg = utf8("interop");

    // sdk/ohttp client → @hpke/core recipient
    const { encapsulatedRequest, context } = await encapsulateRequest(clientKey, msg);
    const recipient = await suite.createRecipientContext({
      recipientKey: await suite.kem.deserializePrivateKey(new Uint8Array(kp.privateKey)),
      enc: encapsulatedRequest.slice(7, 39),
      info: new Uint8Array(clientKey.info),
    });
    assert.equal(toHex(new Uint8Array(await recipient.open(encapsulatedRequest.slice(39)))), toHex(msg));
    assert.equal(toHex(new Uint8Array(await recipient.export(label, 16))), toHex(context.responseSecret));

    // @hpke/core sender → sdk/ohttp gateway
    const sender = await suite.createSenderContext({
      recipientPublicKey: await suite.kem.deserializePublicKey(new Uint8Array(kp.publicKey)),
      info: new Uint8Array(clientKey.info),
    });
    const ct = new Uint8Array(await sender.seal(msg));
    const req = Uint8Array.from([...clientKey.header, ...new Uint8Array(sender.enc), ...ct]);
    const opened = await decapsulateRequest(server, req);
    assert.equal(toHex(opened.request), toHex(msg));
    assert.equal(toHex(opened.context.responseSecret), toHex(new Uint8Array(await sender.export(label, 16))));
  });

  for (const backend of BACKENDS) {
    describe(`with the ${backend} backend`, () => {
      let server: OhttpServerKeys;
      let kp: ReturnType<typeof generateKeyPair>;
      before(async () => {
        setOhttpCryptoBackend(backend);
        kp = generateKeyPair({ keyId: 42 });
        server = await importServerKeys([kp, generateKeyPair({ keyId: 43 })]);
      });
      after(() => void setOhttpCryptoBackend(DEFAULT_BACKEND));

      const runs = backend === DEFAULT_BACKEND ? 1000 : 250;
      it(`test_encapsulation_${runs}RandomMessages_roundTripClientGatewayClient_succeeds`, async () => {
        const clientKey = importClientKey(kp.encodedConfig);
        await fc.assert(
          fc.asyncProperty(
            fc.uint8Array({ maxLength: 1500 }),
            fc.uint8Array({ maxLength: 1500 }),
            async (reqBytes, resBytes) => {
              const { encapsulatedRequest, context } = await encapsulateRequest(clientKey, reqBytes);
              assert.equal(encapsulatedRequest.length, 7 + 32 + reqBytes.length + 16);
              const opened = await decapsulateRequest(server, encapsulatedRequest);
              assert.equal(toHex(opened.request), toHex(reqBytes));
              assert.equal(toHex(opened.context.enc), toHex(context.enc));
              const sealed = await encapsulateResponse(opened.context, resBytes);
              assert.equal(sealed.length, 16 + resBytes.length + 16);
              assert.equal(toHex(await decapsulateResponse(context, sealed)), toHex(resBytes));
            },
          ),
          { numRuns: runs },
        );
      });

      it("test_encapsulation_randomBhttpMessages_roundTripEndToEnd_succeeds", async () => {
        const clientKey = importClientKey(kp.encodedConfig);
        await fc.assert(
          fc.asyncProperty(arbRequest, arbResponse, async (req, res) => {
            const { encapsulatedRequest, context } = await encapsulateRequest(clientKey, encodeRequest(req));
            const opened = await decapsulateRequest(server, encapsulatedRequest);
            assert.deepStrictEqual(decodeRequest(opened.request), req);
            const sealed = await encapsulateResponse(opened.context, encodeResponse(res));
            assert.deepStrictEqual(decodeResponse(await decapsulateResponse(context, sealed)), res);
          }),
          { numRuns: 200 },
        );
      });

      it("test_attack_flipsAnyByteOfEncapsulatedRequest_typedDecapsulationError", async () => {
        const { encapsulatedRequest } = await encapsulateRequest(importClientKey(kp.encodedConfig), utf8("prompt"));
        for (let i = 0; i < encapsulatedRequest.length; i++) {
          const bad = encapsulatedRequest.slice();
          bad[i]! ^= 0x80;
          const expected = i === 0 ? OhttpUnknownKeyError : i < 7 ? OhttpUnsupportedSuiteError : OhttpDecryptError;
          await assert.rejects(decapsulateRequest(server, bad), isError(expected), `byte ${i}`);
        }
        // …and random single-byte changes anywhere in enc ‖ ct are always OhttpDecryptError.
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 7, max: encapsulatedRequest.length - 1 }),
            fc.integer({ min: 1, max: 255 }),
            async (i, mask) => {
              const bad = encapsulatedRequest.slice();
              bad[i]! ^= mask;
              await assert.rejects(decapsulateRequest(server, bad), isError(OhttpDecryptError));
            },
          ),
          { numRuns: 300 },
        );
      });

      it("test_attack_flipsAnyByteOfEncapsulatedResponse_ohttpDecryptError", async () => {
        const { encapsulatedRequest, context } = await encapsulateRequest(
          importClientKey(kp.encodedConfig),
          utf8("prompt"),
        );
        const opened = await decapsulateRequest(server, encapsulatedRequest);
        const sealed = await encapsulateResponse(opened.context, utf8("answer"));
        for (let i = 0; i < sealed.length; i++) {
          for (const mask of [0x01, 0x80]) {
            const bad = sealed.slice();
            bad[i]! ^= mask;
            await assert.rejects(decapsulateResponse(context, bad), isError(OhttpDecryptError), `byte ${i}`);
          }
        }
        // A response sealed for another request does not open either.
        const other = await encapsulateRequest(importClientKey(kp.encodedConfig), utf8("prompt"));
        await assert.rejects(decapsulateResponse(other.context, sealed), isError(OhttpDecryptError));
      });

      it("test_decapsulateRequest_keyIdNotHeld_ohttpUnknownKeyErrorNamesHeldIds", async () => {
        const stranger = importClientKey({ ...kp.config, keyId: 7 });
        const { encapsulatedRequest } = await encapsulateRequest(stranger, utf8("x"));
        await assert.rejects(decapsulateRequest(server, encapsulatedRequest), (e: unknown) => {
          isError(OhttpUnknownKeyError, /Unknown OHTTP key id 7.*holds key id\(s\): 42, 43/s)(e);
          assert.equal((e as OhttpUnknownKeyError).keyId, 7);
          assert.equal((e as OhttpUnknownKeyError).shortMessage, "Unknown OHTTP key id 7.");
          return true;
        });
        // Right key id, wrong public key (another gateway's key under the same id): decrypt error.
        const imposter = importClientKey({ ...generateKeyPair({ keyId: 42 }).config });
        const sealed = await encapsulateRequest(imposter, utf8("x"));
        await assert.rejects(decapsulateRequest(server, sealed.encapsulatedRequest), isError(OhttpDecryptError));
      });

      it("test_encapsulation_truncatedRequestOrResponse_ohttpTruncatedError", async () => {
        const { encapsulatedRequest, context } = await encapsulateRequest(
          importClientKey(kp.encodedConfig),
          new Uint8Array(0),
        );
        assert.equal(encapsulatedRequest.length, 55);
        for (let n = 0; n < encapsulatedRequest.length; n++) {
          await assert.rejects(
            decapsulateRequest(server, encapsulatedRequest.subarray(0, n)),
            isError(OhttpTruncatedError, /at least 55 required/),
            `request prefix ${n}`,
          );
        }
        const opened = await decapsulateRequest(server, encapsulatedRequest);
        const sealed = await encapsulateResponse(opened.context, new Uint8Array(0));
        assert.equal(sealed.length, 32);
        for (let n = 0; n < sealed.length; n++) {
          await assert.rejects(
            decapsulateResponse(context, sealed.subarray(0, n)),
            isError(OhttpTruncatedError, /at least 32 required/),
          );
        }
        assert.equal((await decapsulateResponse(context, sealed)).length, 0);
      });

      it("test_attack_smallOrderEncAllZeroX25519_ohttpDecryptErrorNotCrash", async () => {
        const { encapsulatedRequest } = await encapsulateRequest(importClientKey(kp.encodedConfig), utf8("x"));
        for (const point of ["00".repeat(32), `01${"00".repeat(31)}`]) {
          const bad = encapsulatedRequest.slice();
          bad.set(hex(point), 7);
          await assert.rejects(decapsulateRequest(server, bad), isError(OhttpDecryptError));
        }
      });
    });
  }
});

// =============================================================================================
// Replay guard
// =============================================================================================

describe("ohttp: OhttpReplayGuard", () => {
  const enc = (i: number) => {
    const b = new Uint8Array(32);
    new DataView(b.buffer).setUint32(0, i);
    return b;
  };

  it("test_attack_replaysEncapsulatedRequest_replayGuardOhttpReplayError", async () => {
    const kp = generateKeyPair({ keyId: 1 });
    const server = await importServerKeys(kp);
    const guard = new OhttpReplayGuard();
    const { encapsulatedRequest } = await encapsulateRequest(importClientKey(kp.encodedConfig), utf8("once"));
    const first = await decapsulateRequest(server, encapsulatedRequest);
    guard.check(first.context.enc);
    const again = await decapsulateRequest(server, encapsulatedRequest); // OHTTP alone accepts it…
    assert.throws(
      () => guard.check(again.context.enc),
      (e: unknown) => {
        isError(OhttpReplayError, /Replayed OHTTP request/)(e);
        assert.equal((e as OhttpReplayError).reason, "replayed");
        return true;
      },
    );
    const fresh = await encapsulateRequest(importClientKey(kp.encodedConfig), utf8("once"));
    guard.check((await decapsulateRequest(server, fresh.encapsulatedRequest)).context.enc); // a new request is fine
  });

  it("test_replayGuard_requestTimeOutsideWindow_ohttpReplayErrorTooOldOrFuture", () => {
    let now = 1_000_000;
    const guard = new OhttpReplayGuard({ windowMs: 10_000, now: () => now });
    guard.check(enc(1), now - 9_000);
    assert.throws(() => guard.check(enc(2), now - 10_001), isError(OhttpReplayError, /too old/));
    assert.throws(() => guard.check(enc(3), now + 10_001), isError(OhttpReplayError, /too far in the future/));
    now += 5_000; // enc(1) has expired from memory, but its own time now puts it outside the window
    assert.throws(() => guard.check(enc(1), now - 14_000), isError(OhttpReplayError, /too old/));
  });

  it("test_replayGuard_pastMaxEntries_memoryBoundedAndEvictedReplayStillRefused", () => {
    let now = 1_000_000;
    const guard = new OhttpReplayGuard({ windowMs: 60_000, maxEntries: 100, now: () => now });
    for (let i = 0; i < 1_000; i++) {
      now += 1;
      guard.check(enc(i), now);
      assert.ok(guard.size <= 100);
    }
    // enc(0) was evicted while still inside the window: its replay is still refused.
    assert.throws(() => guard.check(enc(0), 1_000_001), isError(OhttpReplayError));
    // A replay still in memory is "replayed"; a new request with a current time is admitted.
    assert.throws(() => guard.check(enc(999), now), isError(OhttpReplayError, /Replayed/));
    now += 1;
    guard.check(enc(5_000), now);
    // Once the window has passed, memory drains.
    now += 61_000;
    guard.check(enc(6_000), now);
    assert.equal(guard.size, 1);
  });

  it("test_replayGuard_badOptionsOrEnc_ohttpError", () => {
    assert.throws(() => new OhttpReplayGuard({ maxEntries: 0 }), isError(OhttpError));
    assert.throws(() => new OhttpReplayGuard().check(new Uint8Array(31)), isError(OhttpError, /32-byte enc/));
  });
});

// =============================================================================================
// Client
// =============================================================================================

describe("ohttp: client", function () {
  this.timeout(30_000);

  /** A Hono app standing in for relay + TEE gateway (the relay only forwards bytes). */
  async function gateway() {
    const kp = generateKeyPair({ keyId: 5 });
    const server = await importServerKeys(kp);
    const guard = new OhttpReplayGuard({ windowMs: 60_000 });
    const seen: { request: Uint8Array; response?: Uint8Array }[] = [];
    const app = new Hono();
    app.get("/ohttp-keys", (c) =>
      c.body(new Uint8Array(server.keyConfigList), 200, { "content-type": "application/ohttp-keys" }),
    );
    app.post("/relay", async (c) => {
      const body = new Uint8Array(await c.req.arrayBuffer());
      const record: { request: Uint8Array; response?: Uint8Array } = { request: body };
      seen.push(record);
      try {
        const { request, context } = await decapsulateRequest(server, body);
        const req = decodeRequest(request);
        const date = getField(req.headers, "date");
        guard.check(context.enc, date === undefined ? undefined : Date.parse(date));
        const answer = encodeResponse({
          status: 200,
          headers: [["content-type", "application/json"]],
          content: utf8(
            JSON.stringify({
              method: req.method,
              path: req.path,
              authority: req.authority,
              body: new TextDecoder().decode(req.content),
            }),
          ),
        });
        const sealed = await encapsulateResponse(context, answer);
        record.response = sealed;
        return c.body(new Uint8Array(sealed), 200, { "content-type": MEDIA_TYPE_OHTTP_RESPONSE });
      } catch (e) {
        return c.text((e as Error).name, 400);
      }
    });
    const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) =>
      app.request(input, init)) as typeof fetch;
    return { kp, app, seen, fetchImpl };
  }

  it("test_ohttpClient_requestThroughRelay_decryptsAnswerAndReturnsReceiptHashes", async () => {
    const { kp, seen, fetchImpl } = await gateway();
    const client = createOhttpClient({
      keyConfig: kp.encodedConfig,
      expectedKeyConfigHash: kp.hash,
      relayUrl: "http://relay.local/relay",
      fetch: fetchImpl,
      origin: "https://gateway.proofpath.example",
    });
    assert.equal(client.keyConfigHash, kp.hash);
    const res = await client.request(
      "POST",
      "/v1/chat?model=m",
      { "content-type": "application/json" },
      '{"prompt":"hi"}',
    );
    assert.equal(res.status, 200);
    assert.equal(getField(res.headers, "content-type"), "application/json");
    assert.deepEqual(res.json(), {
      method: "POST",
      path: "/v1/chat?model=m",
      authority: "gateway.proofpath.example",
      body: '{"prompt":"hi"}',
    });
    assert.equal(toHex(res.encapsulatedRequest), toHex(seen[0]!.request));
    assert.equal(toHex(res.encapsulatedResponse), toHex(seen[0]!.response!));
    assert.equal(res.requestHash, keccak256(seen[0]!.request));
    assert.equal(res.responseHash, keccak256(seen[0]!.response!));
    // The relay saw only ciphertext.
    assert.equal(Buffer.from(seen[0]!.request).includes(Buffer.from("prompt")), false);
  });

  it("test_ohttpClient_hexKeyConfigAndAnyCaseHash_succeeds", async () => {
    const { kp, fetchImpl } = await gateway();
    const client = createOhttpClient({
      keyConfig: `0x${toHex(kp.encodedConfig)}`,
      expectedKeyConfigHash: `0x${kp.hash.slice(2).toUpperCase()}`,
      relayUrl: "http://relay.local/relay",
      fetch: fetchImpl,
    });
    const res = await client.request("GET", "https://other.example/x", {});
    assert.equal((res.json() as { authority: string }).authority, "other.example");
    await assert.rejects(client.request("GET", "no-slash"), isError(OhttpError, /neither an absolute URL nor a path/));
  });

  it("test_attack_substitutesKeyConfig_clientRefusesWithKeyConfigMismatchBeforeFetch", async () => {
    const { kp } = await gateway();
    const substituted = generateKeyPair({ keyId: 5 });
    let fetched = false;
    const fetchSpy = (async () => {
      fetched = true;
      throw new Error("must not be called");
    }) as typeof fetch;
    assert.throws(
      () =>
        createOhttpClient({
          keyConfig: substituted.encodedConfig,
          expectedKeyConfigHash: kp.hash,
          relayUrl: "http://r",
          fetch: fetchSpy,
        }),
      (e: unknown) => {
        isError(OhttpKeyConfigMismatchError, /does not match the expected hash/)(e);
        assert.equal((e as OhttpKeyConfigMismatchError).expected, kp.hash);
        assert.equal((e as OhttpKeyConfigMismatchError).actual, substituted.hash);
        return true;
      },
    );
    assert.equal(fetched, false);
    assert.throws(
      () => createOhttpClient({ keyConfig: kp.encodedConfig, expectedKeyConfigHash: "0x1234", relayUrl: "http://r" }),
      isError(OhttpError, /32-byte/),
    );
  });

  it("test_ohttpClient_replayedOrRelayFails_gateway400ReplayAndOhttpRelayError", async () => {
    const { kp, app, fetchImpl } = await gateway();
    const client = createOhttpClient({
      keyConfig: kp.encodedConfig,
      relayUrl: "http://relay.local/relay",
      fetch: fetchImpl,
    });
    const res = await client.request("GET", "/a");
    const replay = await app.request("http://relay.local/relay", {
      method: "POST",
      headers: { "content-type": "message/ohttp-req" },
      body: new Uint8Array(res.encapsulatedRequest),
    });
    assert.equal(replay.status, 400);
    assert.equal(await replay.text(), "OhttpReplayError");

    const broken = createOhttpClient({
      keyConfig: kp.encodedConfig,
      relayUrl: "http://relay.local/nowhere",
      fetch: fetchImpl,
    });
    await assert.rejects(broken.request("GET", "/a"), (e: unknown) => {
      isError(OhttpRelayError, /HTTP 404/)(e);
      assert.equal((e as OhttpRelayError).status, 404);
      return true;
    });
  });

  it("test_ohttpKeys_servedByGateway_clientUsesThem_succeeds", async () => {
    const { kp, app, fetchImpl } = await gateway();
    const res = await app.request("http://gw/ohttp-keys");
    const [entry] = decodeKeyConfigList(new Uint8Array(await res.arrayBuffer()));
    assert.equal(keyConfigHash(entry!.encoded), kp.hash);
    const client = createOhttpClient({
      keyConfig: entry!.encoded,
      expectedKeyConfigHash: kp.hash,
      relayUrl: "http://relay.local/relay",
      fetch: fetchImpl,
    });
    assert.equal((await client.request("GET", "/k")).status, 200);
  });
});
