/**
 * Where a gateway gets a fresh attestation document for its enclave key: in production nitriding's
 * HTTP endpoint inside the enclave (`GET /enclave/attestation?nonce=<40 hex>`, a Base64 document
 * binding the nonce, the key and the OHTTP key config through `user_data`), in tests any function.
 */
import { randomBytes } from "node:crypto";
import { AttestationSourceError } from "../errors.js";

export interface AttestationSource {
  /** A document made now for the given 20-byte nonce. */
  fetch(nonce: Uint8Array): Promise<Uint8Array>;
}

/** The largest document accepted (a Nitro document is ~4–5 KiB; nitriding's Base64 of it ~6 KiB). */
const MAX_DOCUMENT_BYTES = 64 * 1024;

/** A fresh 20-byte nonce, the size nitriding requires. */
export function attestationNonce(): Uint8Array {
  return new Uint8Array(randomBytes(20));
}

/**
 * nitriding's attestation endpoint at `baseUrl` (e.g. `http://127.0.0.1:8443`). Refuses redirects,
 * non-200 answers, bodies over 64 KiB and anything that is not Base64, each with the URL in the error.
 */
export function nitridingAttestationSource(baseUrl: string, timeoutMs = 10_000): AttestationSource {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    async fetch(nonce) {
      if (nonce.length !== 20) throw new AttestationSourceError(base, `nonce must be 20 bytes, got ${nonce.length}`);
      const url = `${base}/enclave/attestation?nonce=${Buffer.from(nonce).toString("hex")}`;
      let res: Response;
      try {
        res = await fetch(url, { redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
      } catch (cause) {
        throw new AttestationSourceError(url, `unreachable: ${(cause as Error).message}`, { cause, retryable: true });
      }
      const text = await res.text();
      if (res.status !== 200)
        throw new AttestationSourceError(url, `HTTP ${res.status}: ${text.slice(0, 200)}`, {
          retryable: res.status === 429 || res.status >= 500,
        });
      const b64 = text.trim();
      if (b64.length > (MAX_DOCUMENT_BYTES * 4) / 3 + 4 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64))
        throw new AttestationSourceError(url, "the answer is not a Base64 attestation document of at most 64 KiB");
      return new Uint8Array(Buffer.from(b64, "base64"));
    },
  };
}
