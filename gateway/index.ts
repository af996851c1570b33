/** proofpath gateway hook: record receipts after the fast path; durability, batching and settlement follow. */
export {
  createSettlementHook,
  type SettlementHook,
  type ReceiptView,
  type DaChannel,
  type BatchView,
  type ReceiptStatus,
} from "./hook.js";
export type { Call, Recorded } from "./record/recorder.js";
export {
  gatewayConfigRole,
  gatewayConfigSchema,
  hookConfigSchema,
  parseHookConfig,
  type HookConfig,
  type HookConfigInput,
} from "./config.js";
export { createHookApp, listen, type DaSource } from "./serve/http.js";
export { startDaServer, type DaServer, type DaServerOptions } from "./serve/daServer.js";
export { ByteBudget, PublicLimiter, type PublicLimits } from "./serve/rateLimit.js";
export {
  approveEnclaveByValidators,
  closeAccount,
  reattestEnclave,
  registerEnclave,
  succeedEnclave,
  type ApproveByValidatorsParams,
  type CloseAccountParams,
  type RegisterEnclaveParams,
  type SucceedEnclaveParams,
} from "./registration.js";
export { AttestationHeartbeat, type HeartbeatOptions, type HeartbeatStatus } from "./attest/heartbeat.js";
export { attestationNonce, nitridingAttestationSource, type AttestationSource } from "./attest/source.js";
export { settlePredecessor, type Predecessor, type SuccessionResult } from "./succession.js";
export {
  GatewayError,
  GatewayConfigError,
  InvalidCallError,
  HookClosedError,
  ReconcileError,
  StoreBehindChainError,
  NotDurableError,
  EnclaveApprovalError,
  AccountNotSettledError,
  AttestationSourceError,
  BroadcastRefusedError,
  BatchWouldRevertError,
} from "./errors.js";
export { BaseError, isRetryableError } from "../sdk/errors.js";
export type { StoredReceipt } from "./record/receiptLayout.js";
