/**
 * DEVELOPMENT ONLY: a stand-in for nitriding's attestation endpoint, for the local demo and tests.
 * `GET /<enclave address>/enclave/attestation?nonce=<40 hex>` answers, in Base64 as nitriding does,
 * a dev-CA document (tools/devNitroCa.ts) binding that enclave's signing key, its OHTTP key config
 * and the nonce: give each enclave `<url>/<address>` as its attestation source's base URL.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Address, Hex } from "viem";
import { buildDevEnclaveAttestation, type DevNitroCa, type devPcrs } from "./devNitroCa.js";

export interface DevEnclaveIdentity {
  address: Address;
  /** 65-byte uncompressed secp256k1 public key of the enclave signing key. */
  publicKey: Hex;
  keyConfigHash: Hex;
}

export interface DevNitriding {
  url: string;
  /** The base URL nitriding has for `enclave` (its attestation source's `baseUrl`). */
  baseUrlOf(enclave: Address): string;
  /** Makes `enclave` known; documents for it can be fetched from then on. */
  add(enclave: DevEnclaveIdentity): void;
  /** A document for `enclave` (as the server would answer), e.g. for its first registration. */
  document(enclave: Address, nonce?: Uint8Array): Promise<Uint8Array>;
  /** Documents served over HTTP, per enclave address (lower case). */
  readonly served: Map<string, number>;
  close(): Promise<void>;
}

export async function startDevNitriding(
  ca: DevNitroCa,
  pcrs: ReturnType<typeof devPcrs>,
  host = "127.0.0.1",
): Promise<DevNitriding> {
  const enclaves = new Map<string, DevEnclaveIdentity>();
  const served = new Map<string, number>();
  const document = async (address: Address, nonce?: Uint8Array) => {
    const e = enclaves.get(address.toLowerCase());
    if (!e) throw new Error(`unknown enclave ${address}`);
    return buildDevEnclaveAttestation(ca, {
      enclavePublicKey: e.publicKey,
      pcrs,
      keyConfigHash: e.keyConfigHash,
      ...(nonce ? { nonce } : {}),
    });
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const m = /^\/(0x[0-9a-fA-F]{40})\/enclave\/attestation$/.exec(url.pathname);
    const nonce = url.searchParams.get("nonce") ?? "";
    if (!m || !enclaves.has(m[1]!.toLowerCase()) || !/^[0-9a-f]{40}$/.test(nonce)) {
      res.writeHead(400).end("bad request");
      return;
    }
    document(m[1] as Address, new Uint8Array(Buffer.from(nonce, "hex"))).then(
      (doc) => {
        const k = m[1]!.toLowerCase();
        served.set(k, (served.get(k) ?? 0) + 1);
        res.writeHead(200, { "content-type": "text/plain" }).end(Buffer.from(doc).toString("base64"));
      },
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    baseUrlOf: (enclave) => `${url}/${enclave}`,
    add: (e) => void enclaves.set(e.address.toLowerCase(), e),
    document,
    served,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
