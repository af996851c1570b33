/**
 * Binding the OHTTP key to the attested enclave. The registry entry of an enclave signing key holds
 * `keyConfigHash` (keccak256 of the enclave's encoded key config), which validators approve only
 * when the enclave's attestation document binds it (user_data, proofpath layout: nitriding's 68
 * bytes ‖ 0x1b20 ‖ keyConfigHash; validator/approval.ts). A client encrypts to a key config only
 * while the registry vouches for it:
 *  - the key is registered and was never slashed,
 *  - its measurement is allowed (not revoked),
 *  - it is approved and `activeUntil` lies more than a margin (default 5 min) in the future,
 *  - the config fetched from the gateway hashes to the registered `keyConfigHash`.
 * Each refusal is its own error class (all `OhttpEnclaveUntrustedError`, plus
 * `OhttpKeyConfigMismatchError`). The verdict is cached until the sooner of `recheckIntervalMs`
 * (default 60 s) and `activeUntil − margin`, and re-read before the next request after that, so a
 * revoked measurement or a slashed key stops being used within `recheckIntervalMs`.
 */
import type { Address, Hex, PublicClient } from "viem";
import { gatewayRegistryAbi } from "../abis.js";
import { createOhttpClient, OhttpKeyConfigMismatchError, type OhttpClient, type OhttpClientOptions } from "./client.js";
import {
  MEDIA_TYPE_OHTTP_KEYS,
  OhttpError,
  decodeKeyConfigList,
  isSupportedKeyConfig,
  keyConfigHash,
} from "./keyConfig.js";
import type { ClientReceiptOptions } from "./client.js";

const ZERO: Hex = `0x${"00".repeat(32)}`;
const ZERO_ADDRESS: Address = "0x0000000000000000000000000000000000000000";
/** IGatewayRegistry.MeasurementStatus */
const MEASUREMENT_STATUS = ["unknown", "allowed", "revoked"] as const;

/** Default: refuse a key whose approval ends within 5 minutes. */
export const DEFAULT_ACTIVE_MARGIN_SEC = 300;
/** Default: re-read the registry at least once a minute while the client is used. */
export const DEFAULT_RECHECK_INTERVAL_MS = 60_000;

/**
 * The registry does not vouch for the enclave's key config right now: nothing is encrypted to it.
 * Not retryable (nor is any subclass): the registry must change first.
 */
export class OhttpEnclaveUntrustedError extends OhttpError {
  override name: string = "OhttpEnclaveUntrustedError";
  constructor(
    readonly enclave: Address,
    reason: string,
  ) {
    super(`Enclave ${enclave} is not trusted: ${reason}; refusing to encrypt to it.`);
  }
}

/** No registry entry for the key (`operator` = 0). */
export class OhttpEnclaveNotRegisteredError extends OhttpEnclaveUntrustedError {
  override name = "OhttpEnclaveNotRegisteredError";
  constructor(enclave: Address) {
    super(enclave, "it is not registered");
  }
}

/** The registry entry binds no key config (keyConfigHash = 0): nothing can be trusted. */
export class OhttpKeyConfigUnboundError extends OhttpEnclaveUntrustedError {
  override name = "OhttpKeyConfigUnboundError";
  constructor(enclave: Address) {
    super(enclave, "its registry entry binds no OHTTP key config");
  }
}

/** The key was proven equivocating and slashed: banned for good. */
export class OhttpEnclaveSlashedError extends OhttpEnclaveUntrustedError {
  override name = "OhttpEnclaveSlashedError";
  constructor(enclave: Address) {
    super(enclave, "it was slashed for equivocation");
  }
}

/** The enclave's measurement (its image) is not on the allowlist: revoked, or never allowed. */
export class OhttpMeasurementNotAllowedError extends OhttpEnclaveUntrustedError {
  override name = "OhttpMeasurementNotAllowedError";
  constructor(
    enclave: Address,
    readonly measurement: Hex,
    readonly status: string,
  ) {
    super(enclave, `its measurement ${measurement} is ${status}, not allowed`);
  }
}

/** `activeUntil` = 0: validators never approved the key (or its operator deactivated it). */
export class OhttpEnclaveNotApprovedError extends OhttpEnclaveUntrustedError {
  override name = "OhttpEnclaveNotApprovedError";
  constructor(enclave: Address) {
    super(enclave, "validators have not approved it (or it was deactivated)");
  }
}

/** The approval has ended, or ends within the margin (the enclave has not re-attested in time). */
export class OhttpEnclaveExpiredError extends OhttpEnclaveUntrustedError {
  override name = "OhttpEnclaveExpiredError";
  constructor(
    enclave: Address,
    readonly activeUntil: bigint,
    readonly now: bigint,
    readonly marginSec: number,
  ) {
    super(
      enclave,
      activeUntil <= now
        ? `its approval ended at ${activeUntil} (now ${now})`
        : `its approval ends at ${activeUntil}, within the ${marginSec} s margin (now ${now})`,
    );
  }
}

/** The registry's own `isActive` says no, for a reason not named above. */
export class OhttpEnclaveInactiveError extends OhttpEnclaveUntrustedError {
  override name = "OhttpEnclaveInactiveError";
  constructor(enclave: Address) {
    super(enclave, "the registry reports it inactive");
  }
}

/** What the registry vouched for at one block. */
export interface EnclaveTrust {
  enclave: Address;
  keyConfigHash: Hex;
  measurement: Hex;
  /** Unix seconds (chain time). */
  activeUntil: bigint;
  /** The block the entry was read at. */
  blockNumber: bigint;
  /** The time the verdict was made at: max(block timestamp, the client's clock), unix seconds. */
  checkedAt: bigint;
}

type RegistryReader = Pick<PublicClient, "readContract" | "getBlock">;

/** `GatewayRegistry.enclave(key).keyConfigHash`. */
export async function readKeyConfigHash(
  client: Pick<PublicClient, "readContract">,
  registry: Address,
  enclave: Address,
): Promise<Hex> {
  const e = (await client.readContract({
    address: registry,
    abi: gatewayRegistryAbi,
    functionName: "enclave",
    args: [enclave],
  })) as { keyConfigHash: Hex };
  return e.keyConfigHash;
}

/**
 * Reads the enclave's registry entry, its measurement's status and `isActive` at the latest block,
 * and returns what the registry vouches for, or throws the `OhttpEnclaveUntrustedError` subclass
 * naming why not. "Now" is the later of the block's timestamp and `nowMs` (the client's clock), so
 * neither a stale chain head nor a fast local clock extends trust.
 */
export async function checkEnclaveTrust(
  client: RegistryReader,
  registry: Address,
  enclave: Address,
  { marginSec = DEFAULT_ACTIVE_MARGIN_SEC, nowMs = Date.now() }: { marginSec?: number; nowMs?: number } = {},
): Promise<EnclaveTrust> {
  const block = await client.getBlock({ blockTag: "latest" });
  const blockNumber = block.number;
  const at = { blockNumber } as const;
  const e = (await client.readContract({
    address: registry,
    abi: gatewayRegistryAbi,
    functionName: "enclave",
    args: [enclave],
    ...at,
  })) as {
    operator: Address;
    activeUntil: bigint;
    slashed: boolean;
    measurement: Hex;
    keyConfigHash: Hex;
  };
  if (e.operator.toLowerCase() === ZERO_ADDRESS) throw new OhttpEnclaveNotRegisteredError(enclave);
  if (e.slashed) throw new OhttpEnclaveSlashedError(enclave);
  if (e.keyConfigHash === ZERO) throw new OhttpKeyConfigUnboundError(enclave);
  const [status, active] = await Promise.all([
    client.readContract({
      address: registry,
      abi: gatewayRegistryAbi,
      functionName: "measurementStatus",
      args: [e.measurement],
      ...at,
    }) as Promise<number>,
    client.readContract({
      address: registry,
      abi: gatewayRegistryAbi,
      functionName: "isActive",
      args: [enclave],
      ...at,
    }) as Promise<boolean>,
  ]);
  if (status !== 1)
    throw new OhttpMeasurementNotAllowedError(enclave, e.measurement, MEASUREMENT_STATUS[status] ?? `status ${status}`);
  if (e.activeUntil === 0n) throw new OhttpEnclaveNotApprovedError(enclave);
  const local = BigInt(Math.floor(nowMs / 1000));
  const now = block.timestamp > local ? block.timestamp : local;
  if (e.activeUntil <= now + BigInt(Math.ceil(marginSec)))
    throw new OhttpEnclaveExpiredError(enclave, e.activeUntil, now, marginSec);
  if (!active) throw new OhttpEnclaveInactiveError(enclave);
  return {
    enclave,
    keyConfigHash: e.keyConfigHash.toLowerCase() as Hex,
    measurement: e.measurement,
    activeUntil: e.activeUntil,
    blockNumber,
    checkedAt: now,
  };
}

/**
 * Fetches `keysUrl` (the gateway's /ohttp-keys) and returns the one usable config whose hash is
 * `expectedHash`. Throws `OhttpKeyConfigMismatchError` when none matches.
 */
export async function fetchKeyConfig(
  keysUrl: string,
  expectedHash: Hex,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<Uint8Array> {
  const res = await fetchImpl(keysUrl, { headers: { accept: MEDIA_TYPE_OHTTP_KEYS } });
  if (!res.ok) throw new OhttpError(`GET ${keysUrl} returned HTTP ${res.status}.`);
  const entries = decodeKeyConfigList(new Uint8Array(await res.arrayBuffer()));
  const want = expectedHash.toLowerCase();
  const match = entries.find((e) => isSupportedKeyConfig(e.config) && keyConfigHash(e.encoded) === want);
  if (!match)
    throw new OhttpKeyConfigMismatchError(expectedHash, entries[0] ? keyConfigHash(entries[0].encoded) : ZERO);
  return match.encoded;
}

export interface AttestedOhttpClientOptions
  extends Omit<OhttpClientOptions, "keyConfig" | "expectedKeyConfigHash" | "receipts"> {
  /**
   * Get, check and keep the enclave-signed receipt of every answered call (see ./receipts.ts). The
   * receipt must be `enclave`'s; `daBaseUrl` defaults to `da` beside `keysUrl` (…/ohttp-keys → …/da),
   * and the look-up goes through the relay unless `via: "direct"`.
   */
  receipts?: Omit<ClientReceiptOptions, "gateway">;
  client: RegistryReader;
  registry: Address;
  /** The enclave signing key (the receipts' `gateway`). */
  enclave: Address;
  /** The gateway's key config resource, e.g. `https://gw.example/ohttp-keys`. */
  keysUrl: string;
  /** Refuse the key when its approval ends within this many seconds. Default {@link DEFAULT_ACTIVE_MARGIN_SEC}. */
  activeMarginSec?: number;
  /**
   * Re-read the registry before a request when the last verdict is older than this (ms); it is also
   * re-read once `activeUntil − activeMarginSec` is reached. 0: before every request. Default
   * {@link DEFAULT_RECHECK_INTERVAL_MS}. Bounds how long a revoked or slashed key keeps being used.
   */
  recheckIntervalMs?: number;
}

export interface AttestedOhttpClient extends OhttpClient {
  readonly enclave: Address;
  /** The registry's latest verdict. */
  readonly trust: EnclaveTrust;
  /** Re-reads the registry now; throws the refusal and refuses every request until a check passes. */
  recheck(): Promise<EnclaveTrust>;
}

/**
 * An OHTTP client for the key config the registry binds to `enclave`, and for no other, used only
 * while the registry says the enclave is trusted (see the module comment). Throws an
 * `OhttpEnclaveUntrustedError` subclass or `OhttpKeyConfigMismatchError`, here and from `request`.
 */
export async function createAttestedOhttpClient(o: AttestedOhttpClientOptions): Promise<AttestedOhttpClient> {
  const {
    client: reader,
    registry,
    enclave,
    keysUrl,
    activeMarginSec,
    recheckIntervalMs,
    receipts: _receipts,
    ...rest
  } = o;
  const marginSec = activeMarginSec ?? DEFAULT_ACTIVE_MARGIN_SEC;
  const interval = recheckIntervalMs ?? DEFAULT_RECHECK_INTERVAL_MS;
  if (!(marginSec >= 0) || !(interval >= 0))
    throw new OhttpError("activeMarginSec and recheckIntervalMs must be non-negative numbers.");
  const now = o.now ?? Date.now;

  let trust = await checkEnclaveTrust(reader, registry, enclave, { marginSec, nowMs: now() });
  const keyConfig = await fetchKeyConfig(keysUrl, trust.keyConfigHash, o.fetch);
  const receipts = o.receipts && {
    ...o.receipts,
    daBaseUrl: o.receipts.daBaseUrl ?? new URL("da", keysUrl).href,
    gateway: enclave,
  };
  const inner = createOhttpClient({
    ...rest,
    keyConfig,
    expectedKeyConfigHash: trust.keyConfigHash,
    ...(receipts ? { receipts } : {}),
  });

  let validUntilMs = 0;
  const trustUntil = (t: EnclaveTrust, atMs: number) => {
    const remainingMs = Number(t.activeUntil - t.checkedAt - BigInt(Math.ceil(marginSec))) * 1000;
    validUntilMs = atMs + Math.min(interval, remainingMs);
  };
  trustUntil(trust, now());

  let inflight: Promise<EnclaveTrust> | undefined;
  function recheck(): Promise<EnclaveTrust> {
    inflight ??= (async () => {
      validUntilMs = 0; // a failed check leaves the client refusing until one passes
      try {
        const t = await checkEnclaveTrust(reader, registry, enclave, { marginSec, nowMs: now() });
        // A registry entry's keyConfigHash never changes; if it ever did, the fetched config is not it.
        if (t.keyConfigHash !== inner.keyConfigHash)
          throw new OhttpKeyConfigMismatchError(t.keyConfigHash, inner.keyConfigHash);
        trust = t;
        trustUntil(t, now());
        return t;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  }

  return {
    enclave,
    get trust() {
      return trust;
    },
    keyConfig: inner.keyConfig,
    keyConfigHash: inner.keyConfigHash,
    ...(inner.receipts ? { receipts: inner.receipts } : {}),
    recheck,
    async request(method, target, headers, body, options) {
      if (inflight !== undefined || now() >= validUntilMs) await recheck();
      return inner.request(method, target, headers, body, options);
    },
    async stream(method, target, headers, body, options) {
      if (inflight !== undefined || now() >= validUntilMs) await recheck();
      return inner.stream(method, target, headers, body, options);
    },
  };
}
