/**
 * proofpath validator: verifies settled batches against their published receipts, signs verdicts
 * through a restart-safe signing record, aggregates a quorum with its peers, finalizes, claims
 * rewards and proves equivocation. AWS Nitro attestation verification lives in `./attestation/`.
 */
export { createValidator, type Validator } from "./validator.js";
export {
  parseValidatorConfig,
  validatorConfigSchema,
  validatorConfigRole,
  type ParseOptions,
  type ValidatorConfig,
  type ValidatorConfigInput,
} from "./config.js";
export { openSigningRecord, type SigningRecord, type SignedVerdict, type Verdict } from "./signingRecord.js";
export { verifyBatch, usageOf, type BatchCheck, type Mismatch } from "./verifyBatch.js";
export {
  daBudget,
  fetchDaBatch,
  fetchSignedReceipt,
  gatewayBaseOf,
  type DaBatch,
  type DaLeaf,
  type SignedReceipt,
} from "./da.js";
export { createBoundedGet, parseDaUrl, type BoundedGet, type BoundedGetOptions } from "./boundedGet.js";
export { isPrivateAddress } from "./addressPolicy.js";
export { encodeRawDaUriCall, hashHeaderRawDaUri, rawDaUriOf } from "./rawDaUri.js";
export { buildEquivocationProof, submitEquivocation, type EquivocationProof } from "./equivocation.js";
export { quorumFrom, submitRank, fetchPeerVerdict, recoverVerdictSigner } from "./aggregate.js";
export { createValidatorChain, BatchStatus, type ValidatorChain } from "./chain.js";
export * from "./errors.js";
