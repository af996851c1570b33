/**
 * Binding the OHTTP key to the attested enclave: the registry entry of an enclave signing key holds
 * `keyConfigHash` (keccak256 of the enclave's encoded key config, set at registration and covered by
 * the validators' approval). A client reads it from the chain, fetches the gateway's
 * `application/ohttp-keys`, and encrypts only to the config that hashes to it.
 */
import type { Address, Hex, PublicClient } from "viem";
import { gatewayRegistryAbi } from "../abis.js";
import { createOhttpClient, OhttpKeyConfigMismatchError, type OhttpClient, type OhttpClientOptions } from "./client.js";
import { MEDIA_TYPE_OHTTP_KEYS, OhttpError, decodeKeyConfigList, isSupportedKeyConfig, keyConfigHash } from "./keyConfig.js";

const ZERO: Hex = `0x${"00".repeat(32)}`;

/** The registry entry binds no key config (keyConfigHash = 0): nothing can be trusted. */
export class OhttpKeyConfigUnboundError extends OhttpError {
  override name = "OhttpKeyConfigUnboundError";
  constructor(readonly enclave: Address) {
    super(`Enclave ${enclave} has no OHTTP key config bound in the registry; refusing to encrypt to it.`);
  }
}

/** `GatewayRegistry.enclave(key).keyConfigHash`. */
export async function readKeyConfigHash(client: Pick<PublicClient, "readContract">, registry: Address, enclave: Address): Promise<Hex> {
  const e = (await client.readContract({ address: registry, abi: gatewayRegistryAbi, functionName: "enclave", args: [enclave] })) as { keyConfigHash: Hex };
  return e.keyConfigHash;
}

/**
 * Fetches `keysUrl` (the gateway's /ohttp-keys) and returns the one usable config whose hash is
 * `expectedHash`. Throws `OhttpKeyConfigMismatchError` when none matches.
 */
export async function fetchKeyConfig(keysUrl: string, expectedHash: Hex, fetchImpl: typeof fetch = globalThis.fetch): Promise<Uint8Array> {
  const res = await fetchImpl(keysUrl, { headers: { accept: MEDIA_TYPE_OHTTP_KEYS } });
  if (!res.ok) throw new OhttpError(`GET ${keysUrl} returned HTTP ${res.status}.`);
  const entries = decodeKeyConfigList(new Uint8Array(await res.arrayBuffer()));
  const want = expectedHash.toLowerCase();
  const match = entries.find((e) => isSupportedKeyConfig(e.config) && keyConfigHash(e.encoded) === want);
  if (!match) throw new OhttpKeyConfigMismatchError(expectedHash, entries[0] ? keyConfigHash(entries[0].encoded) : ZERO);
  return match.encoded;
}

export interface AttestedOhttpClientOptions extends Omit<OhttpClientOptions, "keyConfig" | "expectedKeyConfigHash"> {
  client: Pick<PublicClient, "readContract">;
  registry: Address;
  /** The enclave signing key (the receipts' `gateway`). */
  enclave: Address;
  /** The gateway's key config resource, e.g. `https://gw.example/ohttp-keys`. */
  keysUrl: string;
}

/** An OHTTP client for the key config the registry binds to `enclave`, and for no other. */
export async function createAttestedOhttpClient(o: AttestedOhttpClientOptions): Promise<OhttpClient> {
  const expected = await readKeyConfigHash(o.client, o.registry, o.enclave);
  if (expected === ZERO) throw new OhttpKeyConfigUnboundError(o.enclave);
  const { client: _c, registry: _r, enclave: _e, keysUrl, ...rest } = o;
  const keyConfig = await fetchKeyConfig(keysUrl, expected, o.fetch);
  return createOhttpClient({ ...rest, keyConfig, expectedKeyConfigHash: expected });
}
