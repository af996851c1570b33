/** proofpath gateway hook: record receipts after the fast path; durability, batching and settlement follow. */
export {
  createSettlementHook,
  type SettlementHook,
  type ReceiptView,
  type BatchView,
  type ReceiptStatus,
} from "./hook.js";
export type { Call, Recorded } from "./record/recorder.js";
export { hookConfigSchema, parseHookConfig, type HookConfig, type HookConfigInput } from "./config.js";
export { createHookApp, listen } from "./serve/http.js";
export { PublicLimiter, type PublicLimits } from "./serve/rateLimit.js";
export {
  approveEnclaveByValidators,
  registerEnclave,
  succeedEnclave,
  type ApproveByValidatorsParams,
  type RegisterEnclaveParams,
  type SucceedEnclaveParams,
} from "./registration.js";
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
} from "./errors.js";
export type { StoredReceipt } from "./record/receiptLayout.js";
