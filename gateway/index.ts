/** proofpath gateway hook: record receipts after the fast path; durability, batching and settlement follow. */
export {
  createSettlementHook,
  type SettlementHook,
  type ReceiptView,
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
export { createHookApp, listen } from "./serve/http.js";
export { PublicLimiter, type PublicLimits } from "./serve/rateLimit.js";
export {
  approveEnclaveByValidators,
  registerEnclave,
  type ApproveByValidatorsParams,
  type RegisterEnclaveParams,
} from "./registration.js";
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
