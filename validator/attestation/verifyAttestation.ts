import type { Address, Hex } from "viem";
import { attestationHash } from "./attestationHash.js";
import { bytesParameter } from "./bytes.js";
import {
  trustedRootDer,
  verifyCertificateChain,
  type CertificateSummary,
  type TrustedRoot,
} from "./certificateChain.js";
import { parseCoseSign1 } from "./coseSign1.js";
import { verifyCoseSign1Signature } from "./coseSignature.js";
import { attestationFields, type AttestationFields } from "./decodeAttestation.js";
import { parseAttestationDocument } from "./document.js";
import { normalizeEnclaveKey, type EnclaveKey } from "./enclaveKey.js";
import { AttestationInvalidParameterError, AttestationKeyConfigNotBoundError } from "./errors.js";
import { checkFreshness, DEFAULT_CLOCK_SKEW_SEC, DEFAULT_MAX_AGE_SEC } from "./freshness.js";
import { checkKeyBinding, type KeyBinding } from "./keyBinding.js";
import { checkMeasurement, normalizeMeasurements } from "./measurement.js";
import { checkNonce } from "./nonce.js";
import { NITRIDING_USER_DATA_LENGTH, PROOFPATH_USER_DATA_LENGTH, keyConfigHashOfUserData } from "./userData.js";

export type VerifyAttestationParameters = {
  /** The root the chain must start at: PEM or DER. For real enclaves, `AWS_NITRO_ROOT_PEM`. */
  trustedRoot: TrustedRoot;
  /** Verification time, for certificate validity and freshness. Default: now. */
  at?: Date | undefined;
  /** How old the document may be at `at`, in seconds. Default: {@link DEFAULT_MAX_AGE_SEC}. */
  maxAgeSec?: number | undefined;
  /** How far in the future of `at` the document may be dated, in seconds. Default: {@link DEFAULT_CLOCK_SKEW_SEC}. */
  clockSkewSec?: number | undefined;
  /** Allowed measurements (`measurementOf` PCR0..2, bytes32 hex). Not checked when absent. */
  allowedMeasurements?: ReadonlySet<string> | readonly string[] | undefined;
  /** Accept debug-mode enclaves (PCR0..2 all zero). Local development only. Default: false. */
  allowDebugMode?: boolean | undefined;
  /** The nonce the document must carry. Not checked when absent. */
  expectedNonce?: Uint8Array | Hex | undefined;
  /** The enclave signing key the document must bind. Not checked when absent. */
  enclaveKey?: EnclaveKey | undefined;
  /**
   * keccak256 of the OHTTP key config the document's `user_data` must bind (proofpath layout:
   * nitriding's 68 bytes ‖ 0x1b20 ‖ keyConfigHash). Not checked when absent.
   */
  keyConfigHash?: Hex | undefined;
};

export type VerifyAttestationReturnType = AttestationFields & {
  /** Whether `measurement` was checked against `allowedMeasurements`. */
  measurementChecked: boolean;
  /** Whether `nonce` was checked against `expectedNonce`. */
  nonceChecked: boolean;
  /** Whether `user_data` was checked to bind the `keyConfigHash` parameter. */
  keyConfigHashChecked: boolean;
  /** How the expected enclave key is bound; `undefined` when no `enclaveKey` was given. */
  keyBinding: KeyBinding | undefined;
  /** The bound enclave address, else the address of a secp256k1 `public_key`, else `undefined`. */
  enclaveAddress: Address | undefined;
  /** The verified chain, root first, signing certificate last. */
  certificateChain: CertificateSummary[];
  /** `attestationHash(document)`: keccak256 of the raw bytes, as stored on-chain. */
  attestationHash: Hex;
  /** The verification time used. */
  verifiedAt: Date;
};

function nonNegative(value: number | undefined, fallback: number, parameter: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new AttestationInvalidParameterError({ parameter, reason: "expected a non-negative number of seconds" });
  }
  return value;
}

/**
 * Verifies an AWS Nitro Enclaves attestation document (COSE_Sign1, ES384, CBOR payload):
 * 1. structure and algorithm (ES384, digest SHA384),
 * 2. certificate chain from `trustedRoot` to the signing certificate, each valid at `at`,
 * 3. the COSE signature with the signing certificate's key,
 * 4. freshness: dated at most `maxAgeSec` before `at` and not in the future beyond the clock skew,
 * 5. PCR0..2 (no debug-mode zeros; on `allowedMeasurements` when given),
 * 6. the nonce, when `expectedNonce` is given,
 * 7. the enclave signing key bound by `public_key` or nitriding `user_data`, when `enclaveKey` is given,
 * 8. the OHTTP key config hash bound by proofpath `user_data`, when `keyConfigHash` is given.
 *
 * Every failure throws its own subclass of `AttestationError`; nothing else is thrown.
 *
 * @example
 * const result = verifyAttestation(doc, {
 *   trustedRoot: AWS_NITRO_ROOT_PEM,
 *   allowedMeasurements: [measurement],
 *   enclaveKey: { address: gateway },
 * });
 * result.attestationHash // goes on-chain with result.measurement
 */
export function verifyAttestation(
  document: Uint8Array,
  parameters: VerifyAttestationParameters,
): VerifyAttestationReturnType {
  // Caller errors first, so they are never mistaken for a verdict on the document.
  const root = trustedRootDer(parameters.trustedRoot);
  const at = parameters.at ?? new Date();
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new AttestationInvalidParameterError({ parameter: "at", reason: "expected a valid Date" });
  }
  const maxAgeSec = nonNegative(parameters.maxAgeSec, DEFAULT_MAX_AGE_SEC, "maxAgeSec");
  const clockSkewSec = nonNegative(parameters.clockSkewSec, DEFAULT_CLOCK_SKEW_SEC, "clockSkewSec");
  const allowed =
    parameters.allowedMeasurements === undefined ? undefined : normalizeMeasurements(parameters.allowedMeasurements);
  const expectedNonce =
    parameters.expectedNonce === undefined ? undefined : bytesParameter(parameters.expectedNonce, "expectedNonce");
  const key = parameters.enclaveKey === undefined ? undefined : normalizeEnclaveKey(parameters.enclaveKey);
  const expectedKeyConfigHash =
    parameters.keyConfigHash === undefined ? undefined : keyConfigHashParameter(parameters.keyConfigHash);

  const cose = parseCoseSign1(document);
  const doc = parseAttestationDocument(cose.payload);
  const chain = verifyCertificateChain({ certificate: doc.certificate, cabundle: doc.cabundle, trustedRoot: root, at });
  verifyCoseSign1Signature(cose, chain.leaf.publicKey);

  const fields = attestationFields(doc);
  checkFreshness({ timestampMs: doc.timestamp, at, maxAgeSec, clockSkewSec });
  checkMeasurement({
    pcrs: doc.pcrs,
    measurement: fields.measurement,
    allowed,
    allowDebugMode: parameters.allowDebugMode ?? false,
  });
  if (expectedNonce !== undefined) checkNonce({ actual: doc.nonce, expected: expectedNonce });
  const keyBinding =
    key === undefined ? undefined : checkKeyBinding({ publicKey: doc.publicKey, userData: doc.userData, key });
  if (expectedKeyConfigHash !== undefined) checkKeyConfigBinding(doc.userData, expectedKeyConfigHash);

  return {
    ...fields,
    measurementChecked: allowed !== undefined,
    nonceChecked: expectedNonce !== undefined,
    keyConfigHashChecked: expectedKeyConfigHash !== undefined,
    keyBinding,
    enclaveAddress: keyBinding?.address ?? fields.publicKeyAddress,
    certificateChain: chain.certificates,
    attestationHash: attestationHash(document),
    verifiedAt: at,
  };
}

function keyConfigHashParameter(value: Hex): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new AttestationInvalidParameterError({
      parameter: "keyConfigHash",
      reason: "expected 0x followed by 64 hex digits",
    });
  }
  return value.toLowerCase() as Hex;
}

/** `user_data` must be in the proofpath layout and bind exactly `expected`. */
function checkKeyConfigBinding(userData: Uint8Array | undefined, expected: Hex): void {
  const actual = keyConfigHashOfUserData(userData);
  if (actual === expected) return;
  const reason =
    userData === undefined
      ? "the document has no user_data"
      : actual !== undefined
        ? `user_data binds ${actual}`
        : userData.length === NITRIDING_USER_DATA_LENGTH
          ? `user_data is the ${NITRIDING_USER_DATA_LENGTH}-byte nitriding layout, which binds no key config (the ${PROOFPATH_USER_DATA_LENGTH}-byte proofpath layout appends 0x1b20 ‖ keyConfigHash)`
          : `user_data (${userData.length} bytes) is not the ${PROOFPATH_USER_DATA_LENGTH}-byte proofpath layout (nitriding 68 bytes ‖ 0x1b20 ‖ keyConfigHash)`;
  throw new AttestationKeyConfigNotBoundError({ expected, actual, reason });
}
