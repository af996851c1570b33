import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { encode } from "cbor2";
import fc from "fast-check";
import { concat, keccak256, type Hex } from "viem";
import {
  AWS_NITRO_ROOT_PEM,
  AWS_NITRO_ROOT_SHA256,
  AttestationCertificateChainError,
  AttestationCertificateExpiredError,
  AttestationCertificateNotYetValidError,
  AttestationError,
  AttestationInvalidParameterError,
  AttestationKeyConfigNotBoundError,
  AttestationKeyNotBoundError,
  AttestationMalformedError,
  AttestationNonceMismatchError,
  AttestationSignatureError,
  AttestationStaleError,
  AttestationTimestampInFutureError,
  AttestationUnknownMeasurementError,
  AttestationUnsupportedAlgorithmError,
  DEFAULT_MAX_AGE_SEC,
  attestationHash,
  decodeAttestationUnverified,
  encodeNitridingUserData,
  encodeProofpathUserData,
  formatFingerprint,
  keyConfigHashOfUserData,
  measurementOf,
  parseNitridingUserData,
  sha256Fingerprint,
  trustedRootDer,
  verifyAttestation,
  type VerifyAttestationParameters,
} from "../../validator/attestation/index.js";
import {
  REAL_NITRO_ATTESTATION,
  attestationFor,
  devPcrs,
  joinCose,
  nitroFixture,
  splitCose,
  tamperPayload,
  tamperSignature,
  type NitroFixture,
} from "./helpers/nitro.js";

type ErrorClass<T> = abstract new (...args: never[]) => T;

/** Asserts that `fn` throws exactly an error of `cls` (by class and by name), and returns it. */
function expectAttestationError<T extends AttestationError>(fn: () => unknown, cls: ErrorClass<T>): T {
  try {
    fn();
  } catch (err) {
    assert.ok(
      err instanceof cls,
      `expected ${cls.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
    );
    assert.equal((err as T).name, cls.name);
    assert.ok(err instanceof AttestationError);
    return err as T;
  }
  assert.fail(`expected ${cls.name}, but verification passed`);
}

/** SubjectPublicKeyInfo DER prefix for an uncompressed secp256k1 point. */
const SECP256K1_SPKI_PREFIX = "0x3056301006072a8648ce3d020106052b8104000a034200";

describe("validator/attestation", () => {
  let f: NitroFixture;
  let doc: Uint8Array; // public_key binding, untagged (as the NSM emits)
  let userDataDoc: Uint8Array; // nitriding user_data binding, no public_key

  /** Everything checked: trusted dev root, allowlist, nonce, key by address. */
  const opts = (overrides: Partial<VerifyAttestationParameters> = {}): VerifyAttestationParameters => ({
    trustedRoot: f.ca.rootPem,
    at: f.now,
    allowedMeasurements: [f.measurement],
    expectedNonce: f.nonce,
    enclaveKey: { address: f.enclave.address },
    ...overrides,
  });

  before(async () => {
    f = await nitroFixture();
    doc = await attestationFor(f);
    userDataDoc = await attestationFor(f, {
      publicKey: null,
      userData: encodeNitridingUserData({
        signingPublicKey: f.enclave.publicKey,
        tlsCertificateHash: `0x${"ab".repeat(32)}`,
      }),
    });
  });

  describe("valid documents", () => {
    it("test_verifyAttestation_publicKeyBindingCheckedByAddress_returnsEveryCheckedField", () => {
      const r = verifyAttestation(doc, opts());
      assert.equal(r.moduleId, "i-0dev0proofpath00-enc0000000000000000");
      assert.equal(r.digest, "SHA384");
      assert.equal(r.timestamp, f.now.getTime() - 1000);
      assert.equal(r.pcrs[0], f.pcrs[0]);
      assert.equal(r.pcrs[1], f.pcrs[1]);
      assert.equal(r.pcrs[2], f.pcrs[2]);
      assert.equal(r.measurement, f.measurement);
      assert.equal(r.measurementChecked, true);
      assert.equal(r.nonce, f.nonce);
      assert.equal(r.nonceChecked, true);
      assert.deepEqual(r.keyBinding, { method: "public_key", address: f.enclave.address });
      assert.equal(r.enclaveAddress, f.enclave.address);
      assert.equal(r.publicKey, f.enclave.publicKey);
      assert.equal(r.attestationHash, keccak256(doc));
      assert.equal(r.certificateChain.length, 3);
      assert.equal(r.certificateChain[0]!.sha256, f.ca.rootSha256);
      assert.match(r.certificateChain[2]!.subject, /proofpath DEVELOPMENT/);
      assert.equal(r.verifiedAt.getTime(), f.now.getTime());
    });

    it("test_verifyAttestation_publicKeyBindingCheckedByPublicKey_succeeds", () => {
      const r = verifyAttestation(doc, opts({ enclaveKey: { publicKey: f.enclave.publicKey } }));
      assert.deepEqual(r.keyBinding, { method: "public_key", address: f.enclave.address });
    });

    it("test_verifyAttestation_publicKeyAsSpkiDer_bindsEnclaveAddress_succeeds", async () => {
      const spkiDoc = await attestationFor(f, { publicKey: concat([SECP256K1_SPKI_PREFIX, f.enclave.publicKey]) });
      const r = verifyAttestation(spkiDoc, opts());
      assert.deepEqual(r.keyBinding, { method: "public_key", address: f.enclave.address });
      assert.equal(r.publicKeyAddress, f.enclave.address);
    });

    it("test_verifyAttestation_nitridingUserDataBinding_bindsKeyAndParsesUserData_succeeds", () => {
      const r = verifyAttestation(userDataDoc, opts({ enclaveKey: { publicKey: f.enclave.publicKey } }));
      assert.deepEqual(r.keyBinding, { method: "user_data", address: f.enclave.address });
      assert.equal(r.enclaveAddress, f.enclave.address);
      assert.equal(r.publicKey, undefined);
      assert.equal(r.nitridingUserData?.tlsCertificateHashPrefix, "0x1220");
      assert.equal(r.nitridingUserData?.tlsCertificateHash, `0x${"ab".repeat(32)}`);
      assert.equal(r.nitridingUserData?.signingKeyHashPrefix, "0x1220");
    });

    it("test_verifyAttestation_addressAndPublicKeyAgree_succeeds", () => {
      const r = verifyAttestation(
        userDataDoc,
        opts({ enclaveKey: { publicKey: f.enclave.publicKey, address: f.enclave.address } }),
      );
      assert.equal(r.keyBinding?.method, "user_data");
    });

    it("test_verifyAttestation_coseSign1InCborTag18_hashesTaggedBytes_succeeds", async () => {
      const tagged = await attestationFor(f, {}, { tagged: true });
      assert.equal(tagged[0], 0xd2);
      const r = verifyAttestation(tagged, opts());
      assert.equal(r.attestationHash, keccak256(tagged));
      assert.notEqual(r.attestationHash, keccak256(doc));
    });

    it("test_verifyAttestation_derRootAndUpperCaseAllowlistSet_succeeds", () => {
      const r = verifyAttestation(
        doc,
        opts({
          trustedRoot: f.ca.rootDer,
          allowedMeasurements: new Set([`0x${f.measurement.slice(2).toUpperCase()}`]),
        }),
      );
      assert.equal(r.measurement, f.measurement);
    });

    it("test_verifyAttestation_optionalChecksNotAsked_reportedUnchecked_succeeds", () => {
      const r = verifyAttestation(doc, { trustedRoot: f.ca.rootPem, at: f.now });
      assert.equal(r.measurementChecked, false);
      assert.equal(r.nonceChecked, false);
      assert.equal(r.keyBinding, undefined);
      assert.equal(r.enclaveAddress, f.enclave.address); // derived from public_key
    });

    it("test_verifyAttestation_exactlyMaxAgeOldOrWithinClockSkew_succeeds", async () => {
      const old = await attestationFor(f, { timestamp: f.now.getTime() - DEFAULT_MAX_AGE_SEC * 1000 });
      verifyAttestation(old, opts());
      const early = await attestationFor(f, { timestamp: f.now.getTime() + 30_000 });
      verifyAttestation(early, opts());
    });

    it("test_verifyAttestation_realAwsNitroDocument_validAtItsTimeExpiredLaterChainErrorUnderOtherRoot", () => {
      const real = new Uint8Array(Buffer.from(REAL_NITRO_ATTESTATION.base64, "base64"));
      const at = new Date(REAL_NITRO_ATTESTATION.timestamp + 5_000);
      const unverified = decodeAttestationUnverified(real);
      const r = verifyAttestation(real, {
        trustedRoot: AWS_NITRO_ROOT_PEM,
        at,
        allowedMeasurements: [unverified.measurement],
        expectedNonce: "0x0123456789abcdef0123456789abcdef01234567",
      });
      assert.equal(r.moduleId, REAL_NITRO_ATTESTATION.moduleId);
      assert.equal(r.pcrs[0], REAL_NITRO_ATTESTATION.pcr0);
      assert.equal(r.measurement, measurementOf([r.pcrs[0]!, r.pcrs[1]!, r.pcrs[2]!]));
      assert.equal(r.certificateChain.length, 5);
      assert.equal(r.certificateChain[0]!.sha256, AWS_NITRO_ROOT_SHA256);
      assert.equal(r.nitridingUserData?.signingKeyHashPrefix, "0x1220");
      assert.equal(r.publicKeyAddress, undefined); // its public_key is "dummy"
      // The same bytes fail once the NSM's short-lived certificates have expired, or under another root.
      expectAttestationError(
        () => verifyAttestation(real, { trustedRoot: AWS_NITRO_ROOT_PEM, at: new Date("2026-03-01T00:00:00Z") }),
        AttestationCertificateExpiredError,
      );
      expectAttestationError(
        () => verifyAttestation(real, { trustedRoot: f.ca.rootPem, at }),
        AttestationCertificateChainError,
      );
    });
  });

  describe("AWS Nitro root", () => {
    it("test_awsNitroRoot_shippedPem_hasSha256Fingerprint641A0321ToBb5b", () => {
      const fingerprint = formatFingerprint(sha256Fingerprint(trustedRootDer(AWS_NITRO_ROOT_PEM)));
      assert.ok(fingerprint.startsWith("64:1A:03:21"), fingerprint);
      assert.ok(fingerprint.endsWith("BB:5B"), fingerprint);
      assert.equal(
        fingerprint,
        "64:1A:03:21:A3:E2:44:EF:E4:56:46:31:95:D6:06:31:7E:D7:CD:CC:3C:17:56:E0:98:93:F3:C6:8F:79:BB:5B",
      );
      assert.equal(sha256Fingerprint(trustedRootDer(AWS_NITRO_ROOT_PEM)), AWS_NITRO_ROOT_SHA256);
    });
  });

  describe("rejections", () => {
    it("test_attack_tamperedPayload_attestationSignatureError", () => {
      expectAttestationError(() => verifyAttestation(tamperPayload(doc), opts()), AttestationSignatureError);
    });

    it("test_attack_tamperedSignature_attestationSignatureError", () => {
      expectAttestationError(() => verifyAttestation(tamperSignature(doc), opts()), AttestationSignatureError);
    });

    it("test_verifyAttestation_signatureNot96RawBytes_attestationSignatureError", () => {
      const { parts } = splitCose(doc);
      const short = joinCose([parts[0], parts[1], parts[2], (parts[3] as Uint8Array).subarray(0, 95)]);
      const err = expectAttestationError(() => verifyAttestation(short, opts()), AttestationSignatureError);
      assert.match(err.reason, /95 bytes/);
    });

    it("test_attack_bundleUnderAnotherRoot_attestationCertificateChainError", () => {
      expectAttestationError(
        () => verifyAttestation(doc, opts({ trustedRoot: f.otherCa.rootPem })),
        AttestationCertificateChainError,
      );
      const err = expectAttestationError(
        () => verifyAttestation(doc, opts({ trustedRoot: AWS_NITRO_ROOT_PEM })),
        AttestationCertificateChainError,
      );
      assert.match(err.reason, /64:1A:03:21/);
    });

    it("test_attack_foreignOrMissingOrNonDerCertificateInChain_attestationCertificateChainError", async () => {
      // An intermediate issued by another root.
      const foreignIntermediate = await attestationFor(f, { cabundle: [f.ca.rootDer, f.otherCa.cabundle[1]!] });
      expectAttestationError(() => verifyAttestation(foreignIntermediate, opts()), AttestationCertificateChainError);
      // A signing certificate from another CA, signed by its own key, under our bundle.
      const foreignLeaf = await attestationFor(f, { cabundle: f.ca.cabundle }, { signer: f.otherCa });
      expectAttestationError(() => verifyAttestation(foreignLeaf, opts()), AttestationCertificateChainError);
      // The intermediate left out.
      const gap = await attestationFor(f, { cabundle: [f.ca.rootDer] });
      expectAttestationError(() => verifyAttestation(gap, opts()), AttestationCertificateChainError);
      // A certificate that is not DER.
      const garbage = await attestationFor(f, { cabundle: [f.ca.rootDer, new Uint8Array([0x30, 0x03, 1, 2, 3])] });
      expectAttestationError(() => verifyAttestation(garbage, opts()), AttestationCertificateChainError);
    });

    it("test_verifyAttestation_expiredCertificate_attestationCertificateExpiredError", async () => {
      const signer = await f.ca.issueSigner({
        notBefore: new Date(f.now.getTime() - 10 * 3_600_000),
        notAfter: new Date(f.now.getTime() - 3_600_000),
      });
      const expired = await attestationFor(f, {}, { signer });
      const err = expectAttestationError(() => verifyAttestation(expired, opts()), AttestationCertificateExpiredError);
      assert.ok(err.notAfter.getTime() < f.now.getTime());
    });

    it("test_verifyAttestation_certificateNotYetValid_attestationCertificateNotYetValidError", async () => {
      const signer = await f.ca.issueSigner({
        notBefore: new Date(f.now.getTime() + 3_600_000),
        notAfter: new Date(f.now.getTime() + 5 * 3_600_000),
      });
      const early = await attestationFor(f, {}, { signer });
      const err = expectAttestationError(
        () => verifyAttestation(early, opts()),
        AttestationCertificateNotYetValidError,
      );
      assert.ok(err.notBefore.getTime() > f.now.getTime());
    });

    it("test_verifyAttestation_olderThanMaxAge_attestationStaleError", async () => {
      const old = await attestationFor(f, { timestamp: f.now.getTime() - (DEFAULT_MAX_AGE_SEC + 1) * 1000 });
      expectAttestationError(() => verifyAttestation(old, opts()), AttestationStaleError);
      const err = expectAttestationError(
        () => verifyAttestation(doc, opts({ at: new Date(f.now.getTime() + 20_000), maxAgeSec: 10 })),
        AttestationStaleError,
      );
      assert.equal(err.maxAgeSec, 10);
    });

    it("test_verifyAttestation_datedBeyondClockSkew_attestationTimestampInFutureError", async () => {
      const future = await attestationFor(f, { timestamp: f.now.getTime() + 120_000 });
      expectAttestationError(() => verifyAttestation(future, opts()), AttestationTimestampInFutureError);
    });

    it("test_attack_measurementNotAllowlisted_attestationUnknownMeasurementError", async () => {
      const other = await attestationFor(f, { pcrs: devPcrs("some other image") });
      const err = expectAttestationError(() => verifyAttestation(other, opts()), AttestationUnknownMeasurementError);
      assert.equal(err.measurement, measurementOf(devPcrs("some other image")));
      expectAttestationError(
        () => verifyAttestation(doc, opts({ allowedMeasurements: [] })),
        AttestationUnknownMeasurementError,
      );
      expectAttestationError(
        () => verifyAttestation(doc, opts({ allowedMeasurements: [measurementOf(devPcrs("x"))] })),
        AttestationUnknownMeasurementError,
      );
    });

    it("test_attack_debugModeEnclaveAllZeroPcrsWithoutAllowlist_attestationUnknownMeasurementError", async () => {
      const zero = new Uint8Array(48);
      const debug = await attestationFor(f, { pcrs: { 0: zero, 1: zero, 2: zero } });
      const err = expectAttestationError(
        () => verifyAttestation(debug, opts({ allowedMeasurements: undefined })),
        AttestationUnknownMeasurementError,
      );
      assert.match(err.details, /debug mode/);
      verifyAttestation(
        debug,
        opts({ allowedMeasurements: [measurementOf([zero, zero, zero])], allowDebugMode: true }),
      );
    });

    it("test_attack_documentBindsAnotherOrNoKey_attestationKeyNotBoundError", async () => {
      expectAttestationError(
        () => verifyAttestation(doc, opts({ enclaveKey: { address: f.stranger.address } })),
        AttestationKeyNotBoundError,
      );
      expectAttestationError(
        () => verifyAttestation(userDataDoc, opts({ enclaveKey: { publicKey: f.stranger.publicKey } })),
        AttestationKeyNotBoundError,
      );
      const neither = await attestationFor(f, { publicKey: null, userData: null });
      expectAttestationError(() => verifyAttestation(neither, opts()), AttestationKeyNotBoundError);
      const notSecp = await attestationFor(f, { publicKey: "0x64756d6d79", userData: new Uint8Array(20) });
      expectAttestationError(() => verifyAttestation(notSecp, opts()), AttestationKeyNotBoundError);
    });

    it("test_verifyAttestation_userDataBindingCheckedByAddress_keyNotBoundErrorAsksForPublicKey", () => {
      const err = expectAttestationError(() => verifyAttestation(userDataDoc, opts()), AttestationKeyNotBoundError);
      assert.equal(err.address, f.enclave.address);
      assert.match(err.message, /can't be checked against an address: pass enclaveKey\.publicKey/);
    });

    it("test_attack_documentWithOtherOrNoNonce_attestationNonceMismatchError", async () => {
      const err = expectAttestationError(
        () => verifyAttestation(doc, opts({ expectedNonce: "0x01" })),
        AttestationNonceMismatchError,
      );
      assert.equal(err.actual, f.nonce);
      const none = await attestationFor(f, { nonce: null });
      const missing = expectAttestationError(() => verifyAttestation(none, opts()), AttestationNonceMismatchError);
      assert.equal(missing.actual, undefined);
    });

    it("test_verifyAttestation_truncatedInput_attestationMalformedError", () => {
      for (const length of [0, 1, 2, 10, doc.length >> 1, doc.length - 1]) {
        expectAttestationError(() => verifyAttestation(doc.subarray(0, length), opts()), AttestationMalformedError);
      }
    });

    it("test_verifyAttestation_notCbor_attestationMalformedError", () => {
      for (const input of [
        new TextEncoder().encode("hello, this is not an attestation"),
        new TextEncoder().encode(Buffer.from(doc).toString("base64")),
        new Uint8Array([0xff, 0xff, 0xff]),
        new Uint8Array([0x1c]), // reserved additional information
        concat([doc, new Uint8Array([0x00])]), // trailing bytes
      ]) {
        expectAttestationError(() => verifyAttestation(input, opts()), AttestationMalformedError);
      }
    });

    it("test_verifyAttestation_cborNotCoseSign1Attestation_attestationMalformedError", async () => {
      const { parts } = splitCose(doc);
      const cases: Uint8Array[] = [
        encode(new Map([["a", 1]])),
        encode(parts.slice(0, 3)),
        encode([parts[0], parts[1], null, parts[3]]), // detached payload
        encode([parts[0], [], parts[2], parts[3]]), // unprotected header not a map
        encode([parts[0], new Map([[4, new Uint8Array(1)]]), parts[2], parts[3]]), // unprotected kid
        joinCose([parts[0], parts[1], encode("not a map"), parts[3]]),
        joinCose([parts[0], parts[1], new Uint8Array([0xa1, 0x01]), parts[3]]), // payload not CBOR
        await attestationFor(f, {}, { editPayload: (p) => p.delete("pcrs") }),
        await attestationFor(f, {}, { editPayload: (p) => p.delete("cabundle") }),
        await attestationFor(f, {}, { editPayload: (p) => p.set("cabundle", []) }),
        await attestationFor(f, {}, { editPayload: (p) => p.set("timestamp", "yesterday") }),
        await attestationFor(f, {}, { editPayload: (p) => p.set("module_id", 7) }),
        await attestationFor(f, { pcrs: { 0: f.pcrs[0], 2: f.pcrs[2] } }), // PCR1 missing
        await attestationFor(f, { pcrs: { ...f.pcrs, 1: new Uint8Array(32) } }), // 32-byte PCR
        await attestationFor(f, { pcrs: { ...f.pcrs, 40: new Uint8Array(48) } }), // index out of range
      ];
      for (const input of cases)
        expectAttestationError(() => verifyAttestation(input, opts()), AttestationMalformedError);
      // A tag other than 18.
      expectAttestationError(
        () => verifyAttestation(concat([new Uint8Array([0xd1]), doc]), opts()),
        AttestationMalformedError,
      );
    });

    it("test_verifyAttestation_algorithmOtherThanEs384_attestationUnsupportedAlgorithmError", async () => {
      const es256 = await attestationFor(f, {}, { protectedHeader: new Map([[1, -7]]) });
      const err = expectAttestationError(() => verifyAttestation(es256, opts()), AttestationUnsupportedAlgorithmError);
      assert.match(err.algorithm, /-7/);
      const noAlg = await attestationFor(f, {}, { protectedHeader: new Map() });
      expectAttestationError(() => verifyAttestation(noAlg, opts()), AttestationUnsupportedAlgorithmError);
      const unprotectedAlg = await attestationFor(
        f,
        {},
        { protectedHeader: new Map(), unprotectedHeader: new Map([[1, -35]]) },
      );
      expectAttestationError(() => verifyAttestation(unprotectedAlg, opts()), AttestationMalformedError);
      const sha256 = await attestationFor(f, { digest: "SHA256" });
      expectAttestationError(() => verifyAttestation(sha256, opts()), AttestationUnsupportedAlgorithmError);
    });

    it("test_verifyAttestation_unusableOptions_attestationInvalidParameterError", () => {
      const bad: Partial<VerifyAttestationParameters>[] = [
        { trustedRoot: "not a certificate" },
        { trustedRoot: new Uint8Array([1, 2, 3]) },
        { allowedMeasurements: ["0x1234"] },
        { enclaveKey: { address: "0x1234" } },
        { enclaveKey: { publicKey: "0x04" } },
        { enclaveKey: { publicKey: f.enclave.publicKey, address: f.stranger.address } },
        { enclaveKey: {} },
        { expectedNonce: "0xzz" as Hex },
        { at: new Date(Number.NaN) },
        { maxAgeSec: -1 },
      ];
      for (const overrides of bad) {
        expectAttestationError(() => verifyAttestation(doc, opts(overrides)), AttestationInvalidParameterError);
      }
    });

    it("test_attestationError_signatureOrMalformed_carriesViemStyleFieldsAndCause", () => {
      const err = expectAttestationError(
        () => verifyAttestation(tamperSignature(doc), opts()),
        AttestationSignatureError,
      );
      assert.equal(err.name, "AttestationSignatureError");
      assert.match(err.shortMessage, /^Attestation signature is invalid/);
      assert.equal(typeof err.details, "string");
      assert.ok(err.message.startsWith(err.shortMessage));
      const chained = expectAttestationError(
        () => verifyAttestation(new Uint8Array([0x84, 0x40]), opts()),
        AttestationMalformedError,
      );
      assert.ok(chained.cause instanceof Error);
      assert.ok(chained.details.length > 0);
      assert.equal(chained.walk(), chained.cause);
    });
  });

  describe("measurementOf, attestationHash and user_data", () => {
    it("test_measurementOf_anyPcrContainer_equalsKeccakOfPcr0Pcr1Pcr2", () => {
      const expected = keccak256(concat([f.pcrs[0], f.pcrs[1], f.pcrs[2]]));
      assert.equal(measurementOf(f.pcrs), expected);
      assert.equal(measurementOf([f.pcrs[0], f.pcrs[1], f.pcrs[2]]), expected);
      assert.equal(
        measurementOf(
          new Map<number, Hex>([
            [0, f.pcrs[0]],
            [1, f.pcrs[1]],
            [2, f.pcrs[2]],
            [3, f.pcrs[0]],
          ]),
        ),
        expected,
      );
      assert.match(expected, /^0x[0-9a-f]{64}$/);
      expectAttestationError(
        () => measurementOf({ ...f.pcrs, 1: `0x${"00".repeat(32)}` }),
        AttestationInvalidParameterError,
      );
      expectAttestationError(() => measurementOf({ 0: f.pcrs[0], 1: f.pcrs[1] }), AttestationInvalidParameterError);
    });

    it("test_attestationHash_bytesOrBuffer_equalsKeccakOfRawBytes", () => {
      assert.equal(attestationHash(doc), keccak256(doc));
      assert.equal(attestationHash(Buffer.from(doc)), keccak256(doc));
    });

    it("test_encodeProofpathUserData_keyConfigHash_nitriding68BytesThen1b20AndHash", () => {
      const h = keccak256("0x0102");
      const tls = `0x${"cd".repeat(32)}` as Hex;
      const data = encodeProofpathUserData({
        signingPublicKey: f.enclave.publicKey,
        keyConfigHash: h,
        tlsCertificateHash: tls,
      });
      assert.equal(data.length, 102);
      assert.deepEqual(
        data.subarray(0, 68),
        encodeNitridingUserData({ signingPublicKey: f.enclave.publicKey, tlsCertificateHash: tls }),
      );
      assert.deepEqual([...data.subarray(68, 70)], [0x1b, 0x20]);
      assert.equal(keyConfigHashOfUserData(data), h);
      const parsed = parseNitridingUserData(data);
      assert.equal(parsed?.tlsCertificateHash, tls);
      assert.equal(parsed?.keyConfigHash, h);
      // Another prefix at 68 is not the proofpath layout; nor are other lengths.
      const other = data.slice();
      other[68] = 0x12;
      assert.equal(keyConfigHashOfUserData(other), undefined);
      assert.equal(parseNitridingUserData(other), undefined);
      assert.equal(keyConfigHashOfUserData(data.subarray(0, 68)), undefined);
      expectAttestationError(
        () => encodeProofpathUserData({ signingPublicKey: f.enclave.publicKey, keyConfigHash: "0x12" }),
        AttestationInvalidParameterError,
      );
    });

    it("test_verifyAttestation_keyConfigHash_boundByProofpathUserDataElseKeyConfigNotBoundError", async () => {
      const h = keccak256("0x0102");
      const bound = await attestationFor(f, {
        publicKey: null,
        userData: encodeProofpathUserData({ signingPublicKey: f.enclave.publicKey, keyConfigHash: h }),
      });
      // The key is bound through the first 68 bytes, the key config through the tail.
      const r = verifyAttestation(bound, opts({ enclaveKey: { publicKey: f.enclave.publicKey }, keyConfigHash: h }));
      assert.equal(r.keyBinding?.method, "user_data");
      assert.equal(r.keyConfigHash, h);
      assert.equal(r.keyConfigHashChecked, true);
      assert.equal(decodeAttestationUnverified(bound).keyConfigHash, h);
      // The document binds another key config.
      const other = keccak256("0x0103");
      const e = expectAttestationError(
        () => verifyAttestation(bound, opts({ enclaveKey: { publicKey: f.enclave.publicKey }, keyConfigHash: other })),
        AttestationKeyConfigNotBoundError,
      );
      assert.equal(e.expected, other);
      assert.equal(e.actual, h);
      // Nitriding's 68 bytes bind none; a document without user_data neither.
      assert.equal(
        expectAttestationError(
          () =>
            verifyAttestation(userDataDoc, opts({ enclaveKey: { publicKey: f.enclave.publicKey }, keyConfigHash: h })),
          AttestationKeyConfigNotBoundError,
        ).actual,
        undefined,
      );
      expectAttestationError(
        () => verifyAttestation(doc, opts({ keyConfigHash: h })),
        AttestationKeyConfigNotBoundError,
      );
      expectAttestationError(
        () => verifyAttestation(doc, opts({ keyConfigHash: "0x12" as Hex })),
        AttestationInvalidParameterError,
      );
      // Not asked: not checked.
      assert.equal(verifyAttestation(doc, opts()).keyConfigHashChecked, false);
    });

    it("test_nitridingUserData_encodeThenParse_roundTrips68Bytes", () => {
      const data = encodeNitridingUserData({ signingPublicKey: f.enclave.publicKey });
      assert.equal(data.length, 68);
      const parsed = parseNitridingUserData(data);
      assert.equal(parsed?.tlsCertificateHash, `0x${"00".repeat(32)}`);
      assert.equal(parsed?.signingKeyHashPrefix, "0x1220");
      assert.equal(parseNitridingUserData(data.subarray(0, 67)), undefined);
    });
  });

  describe("fuzzing", () => {
    it("test_attack_mutatedDocument300Runs_rejectedWithLibraryErrorsOnly", () => {
      const mutation = fc.oneof(
        // Overwrite 1..4 bytes.
        fc
          .array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })
          .map((edits) => (d: Uint8Array) => {
            const out = new Uint8Array(d);
            for (const [i, x] of edits) out[i % out.length] = out[i % out.length]! ^ x;
            return out;
          }),
        // Truncate.
        fc.nat().map((n) => (d: Uint8Array) => d.slice(0, n % d.length)),
        // Insert a byte.
        fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, x]) => (d: Uint8Array) => {
          const at = i % (d.length + 1);
          return concat([d.subarray(0, at), new Uint8Array([x]), d.subarray(at)]);
        }),
        // Delete a byte.
        fc.nat().map((i) => (d: Uint8Array) => {
          const at = i % d.length;
          return concat([d.subarray(0, at), d.subarray(at + 1)]);
        }),
      );
      fc.assert(
        fc.property(fc.constantFrom(doc, userDataDoc), mutation, (original, mutate) => {
          const mutated = mutate(original);
          // Adding or removing the optional tag 18 (0xd2) in front gives the same, valid, document.
          const untagged = (d: Uint8Array) => Buffer.from(d[0] === 0xd2 ? d.subarray(1) : d);
          if (untagged(mutated).equals(untagged(original))) return true;
          const parameters = opts({ enclaveKey: { publicKey: f.enclave.publicKey } });
          try {
            verifyAttestation(mutated, parameters);
          } catch (err) {
            return err instanceof AttestationError && !(err instanceof AttestationInvalidParameterError);
          }
          return false; // a mutated document was accepted
        }),
        { numRuns: 300 },
      );
    });

    it("test_verifyAttestation_arbitraryBytesAndCbor2x200Runs_onlyLibraryErrors", () => {
      const rejects = (input: Uint8Array) => {
        try {
          verifyAttestation(input, opts());
        } catch (err) {
          return err instanceof AttestationError && !(err instanceof AttestationInvalidParameterError);
        }
        return false;
      };
      fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), rejects), { numRuns: 200 });
      const { parts } = splitCose(doc);
      const cbor = fc.oneof(
        fc.jsonValue().map((v) => encode(v)),
        // COSE-shaped arrays with random members, keeping the real ones now and then.
        fc
          .tuple(
            fc.oneof(fc.constant(parts[0]), fc.uint8Array({ maxLength: 8 }), fc.jsonValue()),
            fc.oneof(fc.constant(parts[1]), fc.jsonValue()),
            fc.oneof(fc.constant(parts[2]), fc.uint8Array({ maxLength: 64 }), fc.jsonValue()),
            fc.oneof(fc.constant(parts[3]), fc.uint8Array({ minLength: 96, maxLength: 96 })),
          )
          .map((t) => encode(t))
          .filter((bytes) => !Buffer.from(bytes).equals(doc)), // e.g. `{}` for the empty unprotected map
      );
      fc.assert(fc.property(cbor, rejects), { numRuns: 200 });
    });
  });

  describe("CLI: proofpath verify-attestation", function () {
    this.timeout(60_000);
    const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
    let dir: string;
    let rootFile: string;

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "proofpath-cli-"));
      rootFile = path.join(dir, "dev-root.pem");
      await writeFile(rootFile, f.ca.rootPem);
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          [path.join(repo, "scripts/cli.js"), ...args],
          { cwd: repo },
          (error, stdout, stderr) => {
            const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
            resolve({ code, stdout, stderr });
          },
        );
      });
    }

    const checks = () => [
      "--root",
      rootFile,
      "--at",
      f.now.toISOString(),
      "--pcrs",
      f.measurement,
      "--key",
      f.enclave.address,
      "--nonce",
      f.nonce,
    ];

    it("test_verifyAttestationCli_validDocumentRawOrBase64_exit0PrintsVerdict", async () => {
      const raw = path.join(dir, "doc.cbor");
      const b64 = path.join(dir, "doc.b64");
      await writeFile(raw, doc);
      await writeFile(b64, `${Buffer.from(doc).toString("base64")}\n`);
      const [a, b] = await Promise.all([
        cli(["verify-attestation", raw, ...checks()]),
        cli(["verify-attestation", b64, ...checks()]),
      ]);
      for (const [run, encoding] of [
        [a, "raw"],
        [b, "base64"],
      ] as const) {
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.match(run.stdout, /verdict: VALID/);
        assert.match(run.stdout, new RegExp(`\\(${doc.length} bytes, ${encoding}\\)`));
        assert.match(run.stdout, /module id\s+i-0dev0proofpath00/);
        assert.ok(run.stdout.includes(`PCR0          ${f.pcrs[0]}`));
        assert.ok(run.stdout.includes(`${f.measurement} (allowed)`));
        assert.ok(run.stdout.includes(`${f.enclave.address} bound by public_key`));
      }
    });

    it("test_verifyAttestationCli_tamperedDocument_exit1NamesError", async () => {
      const file = path.join(dir, "tampered.cbor");
      await writeFile(file, tamperSignature(doc));
      const run = await cli(["verify-attestation", file, ...checks()]);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /verdict: INVALID \(AttestationSignatureError\)/);
    });

    it("test_verifyAttestationCli_keyConfigHash_exit0Bound1Other2Not32Bytes", async () => {
      const h = keccak256("0x0102");
      const file = path.join(dir, "bound.cbor");
      await writeFile(
        file,
        await attestationFor(f, {
          userData: encodeProofpathUserData({ signingPublicKey: f.enclave.publicKey, keyConfigHash: h }),
        }),
      );
      const [ok, other, bad] = await Promise.all([
        cli(["verify-attestation", file, ...checks(), "--key-config-hash", h]),
        cli(["verify-attestation", file, ...checks(), "--key-config-hash", keccak256("0x03")]),
        cli(["verify-attestation", file, ...checks(), "--key-config-hash", "0x1234"]),
      ]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.ok(ok.stdout.includes(`key config    ${h} (matches)`), ok.stdout);
      assert.equal(other.code, 1, other.stdout + other.stderr);
      assert.match(other.stdout, /verdict: INVALID \(AttestationKeyConfigNotBoundError\)/);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--key-config-hash expects 32 bytes/);
    });

    it("test_verifyAttestationCli_usageErrors_exit2HelpExit0", async () => {
      const [help, missing, badAt, unknown] = await Promise.all([
        cli(["verify-attestation", "--help"]),
        cli(["verify-attestation"]),
        cli(["verify-attestation", path.join(dir, "doc.cbor"), "--at", "tuesday"]),
        cli(["no-such-command"]),
      ]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Usage: proofpath verify-attestation <file>/);
      assert.equal(missing.code, 2);
      assert.equal(badAt.code, 2);
      assert.match(badAt.stderr, /--at expects an ISO time/);
      assert.equal(unknown.code, 2);
    });
  });
});
