/**
 * The one error model (sdk/errors.ts): every error class proofpath exports — sdk, OHTTP, gateway,
 * validator, attestation, CLI, indexer API — is a BaseError with its own stable `name`, a one-line
 * `shortMessage`, and the `retryable` its doc comment states.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as gatewayDemo from "../../gateway/demo/fastPath.js";
import * as gatewayErrors from "../../gateway/errors.js";
import * as indexerParams from "../../indexer/src/api/params.js";
import * as cliErrors from "../../scripts/cliErrors.js";
import { BaseError, isRetryableError } from "../../sdk/errors.js";
import * as sdkErrors from "../../sdk/errors.js";
import * as indexerClient from "../../sdk/indexerClient.js";
import * as bhttp from "../../sdk/ohttp/bhttp.js";
import * as ohttpClient from "../../sdk/ohttp/client.js";
import * as encapsulation from "../../sdk/ohttp/encapsulation.js";
import * as keyConfig from "../../sdk/ohttp/keyConfig.js";
import * as proof from "../../sdk/ohttp/proof.js";
import * as receipts from "../../sdk/ohttp/receipts.js";
import * as registry from "../../sdk/ohttp/registry.js";
import * as readClient from "../../sdk/readClient.js";
import * as transactions from "../../sdk/transactions.js";
import { version } from "../../sdk/version.js";
import * as attestationErrors from "../../validator/attestation/errors.js";
import * as validatorErrors from "../../validator/errors.js";

const MODULES = {
  "sdk/errors": sdkErrors,
  "sdk/readClient": readClient,
  "sdk/transactions": transactions,
  "sdk/indexerClient": indexerClient,
  "sdk/ohttp/bhttp": bhttp,
  "sdk/ohttp/keyConfig": keyConfig,
  "sdk/ohttp/encapsulation": encapsulation,
  "sdk/ohttp/client": ohttpClient,
  "sdk/ohttp/proof": proof,
  "sdk/ohttp/receipts": receipts,
  "sdk/ohttp/registry": registry,
  "gateway/errors": gatewayErrors,
  "gateway/demo/fastPath": gatewayDemo,
  "validator/errors": validatorErrors,
  "validator/attestation/errors": attestationErrors,
  "scripts/cliErrors": cliErrors,
  "indexer/src/api/params": indexerParams,
};

type ErrorClass = abstract new (...args: never[]) => Error;
const errorClasses = new Map<string, ErrorClass>();
for (const [mod, exports] of Object.entries(MODULES))
  for (const [name, value] of Object.entries(exports))
    if (typeof value === "function" && value.prototype instanceof Error) errorClasses.set(`${mod}:${name}`, value);

const A = "0x00000000000000000000000000000000000000aa" as const;
const H = `0x${"ab".repeat(32)}` as const;
const at = new Date(1_700_000_000_000);
/** One argument that fits every constructor taking a named-parameter object (validator, attestation). */
const bag = {
  url: "http://da.example/b",
  reason: "why",
  cause: new Error("the cause"),
  parameter: "nonce",
  algorithm: "ES256",
  expected: H,
  actual: H,
  subject: "CN=x",
  notAfter: at,
  notBefore: at,
  at,
  timestamp: at,
  maxAgeSec: 60,
  clockSkewSec: 5,
  measurement: H,
  address: A,
  reasons: ["not in user_data"],
  keyConfigHash: H,
  operation: "batch",
  headerHash: H,
  blockNumber: 7n,
  functionName: "attest",
  recorded: 1,
  requested: 2,
  enclave: A,
  field: "port",
};
/** Constructors with positional arguments. */
const make: Record<string, () => Error> = {
  BaseError: () => new BaseError("short"),
  ReadClientError: () => new readClient.ReadClientError("http://gw/r: not JSON"),
  IndexerError: () => new indexerClient.IndexerError(404, "not_found"),
  FeeCapExceededError: () => new transactions.FeeCapExceededError({ needed: 120n, cap: 100n, nonce: 4, hash: H }),
  TransactionNotMinedError: () => new transactions.TransactionNotMinedError({ hash: H, nonce: 4 }),
  BhttpDecodeError: () => new bhttp.BhttpDecodeError("truncated", 3),
  BhttpEncodeError: () => new bhttp.BhttpEncodeError("bad field"),
  OhttpError: () => new keyConfig.OhttpError("short"),
  OhttpKeyConfigError: () => new keyConfig.OhttpKeyConfigError("bad"),
  OhttpUnsupportedSuiteError: () => new keyConfig.OhttpUnsupportedSuiteError({ kemId: 1 }, "ctx"),
  OhttpTruncatedError: () => new encapsulation.OhttpTruncatedError("encapsulated request", 40, 3),
  OhttpUnknownKeyError: () => new encapsulation.OhttpUnknownKeyError(7, [1]),
  OhttpDecryptError: () => new encapsulation.OhttpDecryptError("request"),
  OhttpReplayError: () => new encapsulation.OhttpReplayError("replayed", "seen"),
  OhttpKeyConfigMismatchError: () => new ohttpClient.OhttpKeyConfigMismatchError(H, H),
  OhttpRelayError: () => new ohttpClient.OhttpRelayError(400, "text/plain"),
  OhttpReceiptError: () => new proof.OhttpReceiptError("no receipt"),
  OhttpReceiptSignatureError: () => new proof.OhttpReceiptSignatureError("bad signature", A),
  OhttpReceiptMismatchError: () => new receipts.OhttpReceiptMismatchError("mismatch", "requestHash", H, H),
  OhttpReceiptNotDurableError: () => new receipts.OhttpReceiptNotDurableError(H, H, "not_found", 10),
  OhttpEnclaveUntrustedError: () => new registry.OhttpEnclaveUntrustedError(A, "why"),
  OhttpEnclaveNotRegisteredError: () => new registry.OhttpEnclaveNotRegisteredError(A),
  OhttpKeyConfigUnboundError: () => new registry.OhttpKeyConfigUnboundError(A),
  OhttpEnclaveSlashedError: () => new registry.OhttpEnclaveSlashedError(A),
  OhttpMeasurementNotAllowedError: () => new registry.OhttpMeasurementNotAllowedError(A, H, "revoked"),
  OhttpEnclaveNotApprovedError: () => new registry.OhttpEnclaveNotApprovedError(A),
  OhttpEnclaveExpiredError: () => new registry.OhttpEnclaveExpiredError(A, 1n, 2n, 300),
  OhttpEnclaveInactiveError: () => new registry.OhttpEnclaveInactiveError(A),
  GatewayError: () => new gatewayErrors.GatewayError("short"),
  GatewayConfigError: () => new gatewayErrors.GatewayConfigError({ field: "rpcUrl", reason: "required" }),
  InvalidCallError: () => new gatewayErrors.InvalidCallError("modelId", "not hex"),
  HookClosedError: () => new gatewayErrors.HookClosedError(),
  ReconcileError: () => new gatewayErrors.ReconcileError("disagree"),
  StoreBehindChainError: () =>
    new gatewayErrors.StoreBehindChainError(
      "g.db",
      A,
      { nextBatchSeq: 0, nextCallSeq: 0 },
      { nextBatchSeq: 2, nextCallSeq: 9 },
    ),
  NotDurableError: () => new gatewayErrors.NotDurableError(5),
  HostStoreTamperedError: () => new gatewayErrors.HostStoreTamperedError("0xab", "dropped", 3, "frame 3 is missing"),
  HostStoreUnavailableError: () => new gatewayErrors.HostStoreUnavailableError("unix:/h.sock", "closed"),
  EnclaveRetiredError: () => new gatewayErrors.EnclaveRetiredError("0xab", "0xcd"),
  EnclaveApprovalError: () => new gatewayErrors.EnclaveApprovalError(A, 1, 2, [{ url: "http://v", error: "down" }]),
  AccountNotSettledError: () => new gatewayErrors.AccountNotSettledError(A, 3n, 5n),
  BroadcastRefusedError: () => new gatewayErrors.BroadcastRefusedError(3, "nonce-taken", new Error("nonce too low")),
  BatchWouldRevertError: () => new gatewayErrors.BatchWouldRevertError(3, "SettlementKeyInactive", [A], undefined),
  AttestationSourceError: () => new gatewayErrors.AttestationSourceError("http://nitriding", "not Base64"),
  BadChatRequest: () => new gatewayDemo.BadChatRequest("messages: required"),
  ValidatorError: () => new validatorErrors.ValidatorError("short"),
  RetryableError: () => new validatorErrors.RetryableError("short"),
  NonRetryableError: () => new validatorErrors.NonRetryableError("short"),
  ValidatorConfigError: () => new validatorErrors.ValidatorConfigError({ field: "port", reason: "not a number" }),
  AttestationError: () => new attestationErrors.AttestationError("short"),
  UsageError: () => new cliErrors.UsageError("--rpc: required"),
  ChainRefusal: () => new cliErrors.ChainRefusal("reverted with X()", "X", []),
  ParamError: () => new indexerParams.ParamError("limit", "too large"),
};

/** `retryable` of each class as its doc comment states it (for the instance `make`/`bag` builds). */
const RETRYABLE: Record<string, boolean> = {
  BaseError: false,
  ReadClientError: false,
  IndexerError: false,
  FeeCapExceededError: true,
  TransactionNotMinedError: true,
  BhttpDecodeError: false,
  BhttpEncodeError: false,
  OhttpError: false,
  OhttpKeyConfigError: false,
  OhttpUnsupportedSuiteError: false,
  OhttpTruncatedError: false,
  OhttpUnknownKeyError: false,
  OhttpDecryptError: false,
  OhttpReplayError: false,
  OhttpKeyConfigMismatchError: false,
  OhttpRelayError: false,
  OhttpReceiptError: false,
  OhttpReceiptSignatureError: false,
  OhttpReceiptMismatchError: false,
  OhttpReceiptNotDurableError: true,
  OhttpEnclaveUntrustedError: false,
  OhttpEnclaveNotRegisteredError: false,
  OhttpKeyConfigUnboundError: false,
  OhttpEnclaveSlashedError: false,
  OhttpMeasurementNotAllowedError: false,
  OhttpEnclaveNotApprovedError: false,
  OhttpEnclaveExpiredError: false,
  OhttpEnclaveInactiveError: false,
  GatewayError: false,
  GatewayConfigError: false,
  InvalidCallError: false,
  HookClosedError: false,
  ReconcileError: false,
  StoreBehindChainError: false,
  NotDurableError: true,
  HostStoreTamperedError: false,
  HostStoreUnavailableError: true,
  EnclaveRetiredError: false,
  EnclaveApprovalError: true,
  AccountNotSettledError: true,
  BroadcastRefusedError: true,
  BatchWouldRevertError: false,
  AttestationSourceError: false,
  BadChatRequest: false,
  ValidatorError: false,
  RetryableError: true,
  NonRetryableError: false,
  ValidatorConfigError: false,
  DaUnavailableError: true,
  DaMalformedError: true,
  DaTimeoutError: true,
  DaRedirectRefusedError: true,
  DaAddressRefusedError: true,
  DaFetchParkedError: true,
  DaTooLargeError: true,
  DaEncodingRefusedError: true,
  DaTooDeepError: true,
  DaTooManyReceiptsError: true,
  DaUriInvalidError: false,
  RpcUnavailableError: true,
  SubmissionMovedError: true,
  TransactionRevertedError: false,
  DoubleSignRefusedError: false,
  NotEquivocationError: false,
  DaBusyError: true,
  ApprovalRefusedError: false,
  AttestationError: false,
  AttestationInvalidParameterError: false,
  AttestationMalformedError: false,
  AttestationUnsupportedAlgorithmError: false,
  AttestationCertificateChainError: false,
  AttestationCertificateExpiredError: false,
  AttestationCertificateNotYetValidError: false,
  AttestationSignatureError: false,
  AttestationStaleError: false,
  AttestationTimestampInFutureError: false,
  AttestationUnknownMeasurementError: false,
  AttestationNonceMismatchError: false,
  AttestationKeyNotBoundError: false,
  AttestationKeyConfigNotBoundError: false,
  UsageError: false,
  ChainRefusal: false,
  ParamError: false,
};

describe("one error model (sdk/errors.ts)", () => {
  it("test_errors_everyExportedClass_isBaseErrorWithStableNameShortMessageAndDocumentedRetryable", () => {
    assert.ok(errorClasses.size >= 70, `only ${errorClasses.size} error classes found`);
    const seen = new Set<string>();
    for (const [where, C] of errorClasses) {
      const name = where.split(":")[1]!;
      assert.ok(C === BaseError || C.prototype instanceof BaseError, `${where} does not extend BaseError`);
      const e = make[name]?.() ?? new (C as unknown as new (p: typeof bag) => Error)(bag);
      assert.ok(e instanceof C && e instanceof BaseError, where);
      // The name is set by the class itself (a minifier renames constructors; a subclass that
      // forgot its own would report its parent's).
      assert.equal(e.name, name, `${where}: name`);
      assert.ok(e.shortMessage.length > 0 && !e.shortMessage.includes("\n"), `${where}: one-line shortMessage`);
      assert.ok(e.message.startsWith(e.shortMessage), `${where}: message starts with the shortMessage`);
      assert.ok(name in RETRYABLE, `${where}: add it to RETRYABLE with the retryable its doc states`);
      assert.equal(e.retryable, RETRYABLE[name], `${where}: retryable`);
      assert.equal(isRetryableError(e), RETRYABLE[name]);
      seen.add(name);
    }
    assert.deepEqual(
      Object.keys(RETRYABLE).filter((n) => !seen.has(n)),
      [],
      "RETRYABLE lists classes that no longer exist",
    );
  });

  it("test_errors_retryableFollowsTheInstance_succeeds", () => {
    assert.equal(new encapsulation.OhttpReplayError("full", "cache full").retryable, true);
    assert.equal(new encapsulation.OhttpReplayError("stale", "too old").retryable, false);
    assert.equal(new ohttpClient.OhttpRelayError(503, null).retryable, true);
    assert.equal(new ohttpClient.OhttpRelayError(429, null).retryable, true);
    assert.equal(new indexerClient.IndexerError(502, "internal_error").retryable, true);
    assert.equal(new readClient.ReadClientError("x", { retryable: true }).retryable, true);
    assert.equal(
      new gatewayErrors.AttestationSourceError("http://n", "unreachable", { retryable: true }).retryable,
      true,
    );
    // DaTimeoutError inherits DaUnavailableError's constructor and its retryable.
    assert.equal(new validatorErrors.DaTimeoutError({ url: "http://x", reason: "slow" }).retryable, true);
    assert.equal(validatorErrors.isRetryable(new Error("a bug")), true, "unclassified errors are retried");
    assert.equal(validatorErrors.isRetryable(new attestationErrors.AttestationError("bad document")), false);
  });

  it("test_errors_messageHasDetailsMetaAndVersionLines_walkFindsTheCause_succeeds", () => {
    const root = new TypeError("socket hang up");
    const mid = new validatorErrors.RpcUnavailableError({ operation: "batch", cause: root });
    const top = new gatewayErrors.GatewayError("settling failed", { cause: mid, metaMessages: ["batch 3"] });
    assert.equal(mid.details, "socket hang up");
    assert.equal(top.details, "socket hang up", "details come from the deepest cause that has them");
    assert.equal(top.docsPath, "#rpc-errors", "as does the docs section");
    assert.equal(
      top.message,
      `settling failed\n\nbatch 3\n\nDocs: docs/errors.md#rpc-errors\nDetails: socket hang up\nVersion: proofpath@${version}`,
    );
    assert.equal(top.walk(), root);
    assert.equal(
      top.walk((x) => x instanceof validatorErrors.RpcUnavailableError),
      mid,
    );
    assert.equal(
      top.walk((x) => x instanceof RangeError),
      null,
    );
    assert.equal(cliErrors.describeError(top), "settling failed\nbatch 3\nDetails: socket hang up");
    const rpc = new validatorErrors.TransactionRevertedError({ functionName: "attest", reason: "X()" });
    assert.match(rpc.message, /\nDocs: docs\/errors\.md#rpc-errors\n/);
    assert.ok(existsSync(new URL("../../docs/errors.md", import.meta.url)), "the Docs line points at a file");
    assert.equal(version, JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version);
  });
});
