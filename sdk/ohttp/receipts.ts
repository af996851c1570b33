/**
 * The user's evidence, kept by the user: after each call the private client fetches the
 * enclave-signed receipt of that call by its request hash (keccak256 of the encapsulated request)
 * as soon as the gateway has made it durable, checks it against the user's own ciphertexts and the
 * settlement's EIP-712 domain, and keeps it — as the JSON `npx proofpath verify-receipt` reads.
 *
 * Why not inside the OHTTP response: the receipt commits to `responseHash = keccak256(encapsulated
 * response)`, so it cannot travel inside those very bytes; and the gateway answers before the
 * receipt is durable (the fast path never waits for the group commit's fsync), while the enclave
 * signs nothing that is not durable. So the receipt follows the answer, within milliseconds to
 * seconds, by request hash.
 */
import type { Address, Hex } from "viem";
import { keccak256Hex } from "../hashing.js";
import type { SettlementDomain } from "../eip712.js";
import type { BatchHeader, Receipt } from "../types.js";
import { OhttpReceiptError, lookupCallReceipt, type CallReceipt, type CallReceiptLookup } from "./proof.js";

/** A receipt with the enclave's signature, checked against the user's own bytes. */
export interface SignedCallReceipt {
  receipt: Receipt;
  receiptSignature: Hex;
  header?: BatchHeader;
  proof?: Hex[];
}

/** The receipt the gateway served does not commit to the user's own ciphertexts: refused, not kept. Not retryable. */
export class OhttpReceiptMismatchError extends OhttpReceiptError {
  override name = "OhttpReceiptMismatchError";
  constructor(
    message: string,
    readonly field: "requestHash" | "responseHash",
    readonly expected: Hex,
    readonly actual: Hex,
  ) {
    super(message);
  }
}

/**
 * No durable receipt within the bound. Nothing is lost: the receipt can be fetched later by
 * `requestHash` (`fetchCallReceipt`), and the call's ciphertexts hash to it. Retryable.
 */
export class OhttpReceiptNotDurableError extends OhttpReceiptError {
  override name = "OhttpReceiptNotDurableError";
  constructor(
    readonly requestHash: Hex,
    readonly responseHash: Hex,
    /** The last answer: not_found (404), not_durable (409) or error (the look-up failed). */
    readonly lastState: CallReceiptLookup["state"] | "error",
    readonly waitedMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      `no durable receipt for request ${requestHash} after ${waitedMs} ms (last: ${lastState}); fetch it later by this request hash`,
      { ...options, retryable: true },
    );
  }
}

/** Where receipts are kept. `keep` is awaited before the receipt is handed to the caller. */
export interface ReceiptKeeper {
  keep(r: SignedCallReceipt): void | Promise<void>;
  get(requestHash: Hex): SignedCallReceipt | undefined | Promise<SignedCallReceipt | undefined>;
  list(): SignedCallReceipt[] | Promise<SignedCallReceipt[]>;
}

/** The default keeper: in memory, bounded (oldest go first), lost with the process. */
export class MemoryReceiptKeeper implements ReceiptKeeper {
  private readonly byRequest = new Map<string, SignedCallReceipt>();
  constructor(private readonly maxEntries = 10_000) {}
  keep(r: SignedCallReceipt): void {
    const k = r.receipt.requestHash.toLowerCase();
    this.byRequest.delete(k);
    if (this.byRequest.size >= this.maxEntries) this.byRequest.delete(this.byRequest.keys().next().value!);
    this.byRequest.set(k, r);
  }
  get(requestHash: Hex): SignedCallReceipt | undefined {
    return this.byRequest.get(requestHash.toLowerCase());
  }
  list(): SignedCallReceipt[] {
    return [...this.byRequest.values()];
  }
}

/** The JSON `verify-receipt` reads: {receipt, receiptSignature, header?, proof?}, bigints as decimal strings. */
export function receiptJson(r: SignedCallReceipt): string {
  return `${JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}

export interface CallReceiptOptions {
  /** The gateway's DA base, e.g. `https://gw.example/da` (the by-request look-up is `{da}/receipts/by-request/:h`). */
  daBaseUrl: string;
  /** The settlement's EIP-712 domain: `settlementDomain(chainId, ProofSettlement)`. The signature must recover to the gateway under it. */
  domain: SettlementDomain;
  /** The enclave key the client trusts; the receipt must be its. */
  gateway?: Address;
  /** Give up after this long (ms) with `OhttpReceiptNotDurableError`. Default 5000. */
  timeoutMs?: number;
  /** Where to keep receipts. Default: a {@link MemoryReceiptKeeper}. */
  keeper?: ReceiptKeeper;
  /**
   * fetch for the look-ups. Note: a look-up sent straight to the gateway tells it the client's
   * address together with a request hash it can tie to the call's content; route it through
   * another proxy (or fetch later, in bulk, from `/da/batches/:n`) when that matters.
   */
  fetch?: typeof fetch;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Fetches the signed receipt of the call whose ciphertexts the user holds, retrying until it is
 * durable (404 while not recorded yet, 409 while its group commit is pending) for at most
 * `timeoutMs`; checks it (signature under `domain` by the gateway, `requestHash`/`responseHash` =
 * keccak256 of the user's bytes) and keeps it. Throws `OhttpReceiptMismatchError`,
 * `OhttpReceiptSignatureError` (refused: never kept) or `OhttpReceiptNotDurableError` (gave up).
 */
export async function awaitCallReceipt(
  call: { encapsulatedRequest: Uint8Array; encapsulatedResponse: Uint8Array } | { requestHash: Hex; responseHash: Hex },
  o: CallReceiptOptions & { signal?: AbortSignal },
): Promise<SignedCallReceipt> {
  // A streamed call's client hashed the response as it arrived: it passes the hashes, not the bytes.
  const requestHash = "requestHash" in call ? call.requestHash : keccak256Hex(call.encapsulatedRequest);
  const responseHash = "responseHash" in call ? call.responseHash : keccak256Hex(call.encapsulatedResponse);
  const timeoutMs = o.timeoutMs ?? 5_000;
  const t0 = Date.now();
  let backoff = 25;
  let last: CallReceiptLookup["state"] | "error" = "not_found";
  let lastError: unknown;
  for (;;) {
    let r: CallReceiptLookup | undefined;
    try {
      r = await lookupCallReceipt(o.daBaseUrl, requestHash, {
        fetch: o.fetch,
        domain: o.domain,
        gateway: o.gateway,
        signal: o.signal,
      });
    } catch (e) {
      // A receipt that is there but wrong is refused at once; a failed look-up is retried.
      if (e instanceof OhttpReceiptError || o.signal?.aborted) throw e;
      last = "error";
      lastError = e;
    }
    if (r?.state === "durable") return keepChecked(r.found, requestHash, responseHash, o.keeper);
    if (r) last = r.state;
    const left = timeoutMs - (Date.now() - t0);
    if (left <= 0)
      throw new OhttpReceiptNotDurableError(requestHash, responseHash, last, Date.now() - t0, { cause: lastError });
    // The group commit is milliseconds away; the gateway's Retry-After (1 s) is an upper bound.
    const wait = Math.min(backoff, r?.state === "not_durable" ? r.retryAfterMs : backoff, left);
    backoff = Math.min(backoff * 2, 800);
    await sleep(wait, o.signal);
  }
}

async function keepChecked(
  found: CallReceipt,
  requestHash: Hex,
  responseHash: Hex,
  keeper?: ReceiptKeeper,
): Promise<SignedCallReceipt> {
  const { receipt } = found;
  if (receipt.requestHash.toLowerCase() !== requestHash) {
    throw new OhttpReceiptMismatchError(
      "the receipt's requestHash is not keccak256 of your encapsulated request",
      "requestHash",
      requestHash,
      receipt.requestHash,
    );
  }
  if (receipt.responseHash.toLowerCase() !== responseHash) {
    throw new OhttpReceiptMismatchError(
      "the receipt's responseHash is not keccak256 of your encapsulated response",
      "responseHash",
      responseHash,
      receipt.responseHash,
    );
  }
  // lookupCallReceipt with a domain has already refused a missing or foreign signature.
  const signed: SignedCallReceipt = {
    receipt,
    receiptSignature: found.receiptSignature!,
    ...(found.header ? { header: found.header } : {}),
    ...(found.proof ? { proof: found.proof } : {}),
  };
  await keeper?.keep(signed);
  return signed;
}
