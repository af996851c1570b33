/**
 * AWS Nitro Enclaves attestation verification for proofpath validators.
 *
 * `verifyAttestation(document, { trustedRoot: AWS_NITRO_ROOT_PEM, ... })` checks a document;
 * `measurementOf` and `attestationHash` give the values `GatewayRegistry` stores.
 * Development documents (a throwaway CA, never trusted by default) come from `tools/devNitroCa.ts`,
 * a dev tool outside the package.
 */
export { verifyAttestation } from "./verifyAttestation.js";
export type { VerifyAttestationParameters, VerifyAttestationReturnType } from "./verifyAttestation.js";
export { decodeAttestationUnverified } from "./decodeAttestation.js";
export type { AttestationFields } from "./decodeAttestation.js";
export { attestationHash } from "./attestationHash.js";
export { measurementOf, isDebugModeMeasurement } from "./measurement.js";
export type { MeasurementPcrs } from "./measurement.js";
export { AWS_NITRO_ROOT_PEM, AWS_NITRO_ROOT_SHA256 } from "./awsNitroRoot.js";
export { formatFingerprint, sha256Fingerprint, trustedRootDer, trustedRootFromFile } from "./certificateChain.js";
export type { CertificateSummary, TrustedRoot } from "./certificateChain.js";
export { coseSign1SigStructure, ES384_SIGNATURE_LENGTH } from "./coseSignature.js";
export { COSE_ALG_ES384, COSE_SIGN1_TAG, parseCoseSign1 } from "./coseSign1.js";
export type { CoseSign1 } from "./coseSign1.js";
export { parseAttestationDocument, NITRO_DIGEST, PCR_LENGTH } from "./document.js";
export type { AttestationDocument } from "./document.js";
export { normalizeEnclaveKey, publicKeyToAddress } from "./enclaveKey.js";
export type { EnclaveKey } from "./enclaveKey.js";
export type { KeyBinding } from "./keyBinding.js";
export { DEFAULT_CLOCK_SKEW_SEC, DEFAULT_MAX_AGE_SEC } from "./freshness.js";
export {
  encodeNitridingUserData,
  encodeProofpathUserData,
  keyConfigHashOfUserData,
  parseNitridingUserData,
  signingKeyHash,
  MULTIHASH_KECCAK_256_PREFIX,
  MULTIHASH_SHA2_256_PREFIX,
  NITRIDING_USER_DATA_LENGTH,
  PROOFPATH_USER_DATA_LENGTH,
} from "./userData.js";
export type { NitridingUserData } from "./userData.js";
export * from "./errors.js";
