/**
 * Test helpers for Nitro attestation documents: a development CA chain (root CA P-384 →
 * intermediate → signing certificate, built with @peculiar/x509 and WebCrypto), enclave keys,
 * documents with arbitrary fields, and ways to damage them.
 *
 * The CA and the document builder live in `tools/devNitroCa.ts` (the local demo
 * needs them too); this file adds the fixtures and the tampering tests need.
 */
import { decode, encode, Tag } from "cbor2";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import {
  buildDevAttestationDocument,
  createDevNitroCa,
  devPcrs,
  type DevAttestationFields,
  type DevNitroCa,
  type DevNitroSigner,
  type DevSignOptions,
} from "../../../tools/devNitroCa.js";
import { measurementOf } from "../../../validator/attestation/index.js";

export {
  buildDevAttestationDocument,
  buildDevEnclaveAttestation,
  createDevNitroCa,
  devPcrs,
} from "../../../tools/devNitroCa.js";
export type {
  DevAttestationFields,
  DevNitroCa,
  DevNitroSigner,
  DevSignOptions,
} from "../../../tools/devNitroCa.js";

/** An Ethereum (secp256k1) enclave signing key. */
export type EnclaveKeyPair = { privateKey: Hex; publicKey: Hex; address: Address };

export function enclaveKeyPair(): EnclaveKeyPair {
  const privateKey = generatePrivateKey();
  const account = privateKeyToAccount(privateKey);
  return { privateKey, publicKey: account.publicKey, address: account.address };
}

export type NitroFixture = {
  /** Reference time: documents are dated just before it and verified at it. */
  now: Date;
  /** The CA whose root the tests trust. */
  ca: DevNitroCa;
  /** An unrelated CA (wrong root, foreign intermediate). */
  otherCa: DevNitroCa;
  /** The enclave key documents bind by default, and a key they don't. */
  enclave: EnclaveKeyPair;
  stranger: EnclaveKeyPair;
  pcrs: { 0: Hex; 1: Hex; 2: Hex };
  measurement: Hex;
  nonce: Hex;
};

let cached: Promise<NitroFixture> | undefined;

/** One shared fixture per test run (creating CAs is the slow part). */
export function nitroFixture(): Promise<NitroFixture> {
  cached ??= (async () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const [ca, otherCa] = await Promise.all([createDevNitroCa({ now }), createDevNitroCa({ now })]);
    const pcrs = devPcrs("proofpath-test-enclave");
    return {
      now,
      ca,
      otherCa,
      enclave: enclaveKeyPair(),
      stranger: enclaveKeyPair(),
      pcrs,
      measurement: measurementOf(pcrs),
      nonce: "0x6e6f6e63652d31323334" as Hex,
    };
  })();
  return cached;
}

/**
 * A document from the fixture's CA, dated 1 s before `now`, with the fixture's PCRs, nonce and the
 * enclave key as `public_key`; `fields` and `options` override any of it.
 */
export async function attestationFor(
  f: NitroFixture,
  fields: DevAttestationFields = {},
  options: DevSignOptions & { signer?: DevNitroSigner } = {},
): Promise<Uint8Array> {
  return buildDevAttestationDocument(
    options.signer ?? f.ca,
    {
      timestamp: f.now.getTime() - 1000,
      pcrs: { ...f.pcrs, 3: new Uint8Array(48), 4: new Uint8Array(48) },
      publicKey: f.enclave.publicKey,
      nonce: f.nonce,
      ...fields,
    },
    options,
  );
}

/** The four COSE_Sign1 elements of a document, and whether it was tagged. */
export function splitCose(document: Uint8Array): { parts: unknown[]; tagged: boolean } {
  // Decode a copy: decoded byte strings are views into the input, and callers mutate them.
  const value = decode(new Uint8Array(document), { preferMap: true, ignoreGlobalTags: true });
  if (value instanceof Tag) return { parts: value.contents as unknown[], tagged: true };
  return { parts: value as unknown[], tagged: false };
}

export function joinCose(parts: unknown[], tagged = false): Uint8Array {
  return encode(tagged ? new Tag(18, parts) : parts);
}

/** Changes one PCR0 byte of the payload and re-encodes it, keeping the original signature. */
export function tamperPayload(document: Uint8Array): Uint8Array {
  const { parts, tagged } = splitCose(document);
  const payload = decode(parts[2] as Uint8Array, { preferMap: true }) as Map<string, unknown>;
  const pcr0 = (payload.get("pcrs") as Map<number, Uint8Array>).get(0)!;
  pcr0[0] = pcr0[0]! ^ 0x01;
  return joinCose([parts[0], parts[1], encode(payload), parts[3]], tagged);
}

/** Flips one bit of the COSE signature. */
export function tamperSignature(document: Uint8Array): Uint8Array {
  const { parts, tagged } = splitCose(document);
  const signature = new Uint8Array(parts[3] as Uint8Array);
  signature[10] = signature[10]! ^ 0x80;
  return joinCose([parts[0], parts[1], parts[2], signature], tagged);
}

/**
 * A real attestation document produced by an AWS Nitro Enclave (us-east-2, module
 * i-0340e0cb833504eb6-enc019c12d31f78864d, 2026-02-02T20:43:47.502Z), published in public test
 * code. Signed by AWS under the Nitro root, so any edit breaks it. Its `public_key` is the five
 * bytes "dummy" and its `user_data` is nitriding-style (0x1220 multihash prefixes). Its chain is
 * valid from 2026-02-02T20:34:28Z to 2026-02-02T23:34:31Z.
 */
export const REAL_NITRO_ATTESTATION = {
  timestamp: 1770065027502,
  moduleId: "i-0340e0cb833504eb6-enc019c12d31f78864d",
  pcr0: "0x9baef83909784e4d2cb84466c02931bb8125e948b62029029e80bfa1698bfd7069408e4ab20d1c99c859e8f774cce0ff",
  base64:
    "hEShATgioFkRYL9pbW9kdWxlX2lkeCdpLTAzNDBlMGNiODMzNTA0ZWI2LWVuYzAxOWMxMmQzMWY3ODg2NGRmZGlnZXN0ZlNIQTM4NGl0aW1lc3RhbXAbAAABnCAY4a5kcGNyc7AAWDCbrvg5CXhOTSy4RGbAKTG7gSXpSLYgKQKegL+haYv9cGlAjkqyDRyZyFno93TM4P8BWDBLTVs2YbPvwSkgkAyA4Sbkzng8Ui3mwCoqW/evOiuTJ7hndvGI5L4cHEBKEp29pJMCWDB2mSXIrgxcLRqobeFJITscXexkJVe/DEJsZYHw5WKgQtHH0leEQ1FdED90zlUzdmYDWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEWDDrhfCKVvRbogcwyp8GFVfg2DYQALAzSLt6+xr5SbzWr3p7uGPpPoqJMm/3m7AhB0sFWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAHWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAJWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAKWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAALWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAANWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAOWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPWDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABrY2VydGlmaWNhdGVZAoAwggJ8MIICAaADAgECAhABnBLTH3iGTQAAAABpgQpXMAoGCCqGSM49BAMDMIGOMQswCQYDVQQGEwJVUzETMBEGA1UECAwKV2FzaGluZ3RvbjEQMA4GA1UEBwwHU2VhdHRsZTEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQLDANBV1MxOTA3BgNVBAMMMGktMDM0MGUwY2I4MzM1MDRlYjYudXMtZWFzdC0yLmF3cy5uaXRyby1lbmNsYXZlczAeFw0yNjAyMDIyMDM0MjhaFw0yNjAyMDIyMzM0MzFaMIGTMQswCQYDVQQGEwJVUzETMBEGA1UECAwKV2FzaGluZ3RvbjEQMA4GA1UEBwwHU2VhdHRsZTEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQLDANBV1MxPjA8BgNVBAMMNWktMDM0MGUwY2I4MzM1MDRlYjYtZW5jMDE5YzEyZDMxZjc4ODY0ZC51cy1lYXN0LTIuYXdzMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEIRgfhhB5tMtXQcYKgP+r1MujTkq+dYny718fOtRvjNCTdyNnKH0MumGahqRKkZV9J503d8ZJRfM5AO84D1l5IEZKQreGlR+GkKqohlf+Rpee9184bKLAGsOW3CGXTg0wox0wGzAMBgNVHRMBAf8EAjAAMAsGA1UdDwQEAwIGwDAKBggqhkjOPQQDAwNpADBmAjEAnza6P41FhzVtWRcJEFuNlfTaS5TeEiRErUf4bz9LgQpSCUeiJcJ1zOJioGRaFQNBAjEA43Z0yN7OXbuHqIYK+mBkdny3Pi3NgPEZnWobM1VDnEvFsYh73GghtXqUCXZENTW3aGNhYnVuZGxlhFkCFTCCAhEwggGWoAMCAQICEQD5MXVoG5Cv4R1GzLTk5/hWMAoGCCqGSM49BAMDMEkxCzAJBgNVBAYTAlVTMQ8wDQYDVQQKDAZBbWF6b24xDDAKBgNVBAsMA0FXUzEbMBkGA1UEAwwSYXdzLm5pdHJvLWVuY2xhdmVzMB4XDTE5MTAyODEzMjgwNVoXDTQ5MTAyODE0MjgwNVowSTELMAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYDVQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAAT8AlTrpgjB82hw4prakL5GODKSc26JS//2ctmJREtQUeU0pLH22+PAvFgaMrexdgcO3hLWmj/qIRtm51LPfdHdCV9vE3D0FwhD2dwQASHkz2MBKAlmRIfJeWKEME3FP/SjQjBAMA8GA1UdEwEB/wQFMAMBAf8wHQYDVR0OBBYEFJAltQ3ZBUfnlsOW+nKdz5mp30uWMA4GA1UdDwEB/wQEAwIBhjAKBggqhkjOPQQDAwNpADBmAjEAo38vkaHJvV7nuGJ8FpjSVQOOHwND+VtjqWKMPTmAlUWhHry/LjtV2K7ucbTD1q3zAjEAovObFgWycCil3UugabUBbmW0+96P4AYdalMZf5za9dlDvGH8K+sDy2/ujSMC89/2WQLDMIICvzCCAkSgAwIBAgIQGxOrmn5lTIa/b7OT2cCuSzAKBggqhkjOPQQDAzBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQLDANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczAeFw0yNjAxMjkyMTQ4MDdaFw0yNjAyMTgyMjQ4MDdaMGQxCzAJBgNVBAYTAlVTMQ8wDQYDVQQKDAZBbWF6b24xDDAKBgNVBAsMA0FXUzE2MDQGA1UEAwwtOTc3MjlmZDY3ZDQzZWFhMC51cy1lYXN0LTIuYXdzLm5pdHJvLWVuY2xhdmVzMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEHD6wRNdqBzB2DASkB6x0KWiiaVp4JJuIpC18B5jcc0aionkQLkAHn6XIs7zlIu5gKQ4xkxrOar8a7F+GGU3WhY2Es4Y33LuhvOrhicBflp6vLolaeM08yr7no+STKb9Oo4HVMIHSMBIGA1UdEwEB/wQIMAYBAf8CAQIwHwYDVR0jBBgwFoAUkCW1DdkFR+eWw5b6cp3PmanfS5YwHQYDVR0OBBYEFH5Llqyq2ZtZ7QgV7DpaN0eKDLHmMA4GA1UdDwEB/wQEAwIBhjBsBgNVHR8EZTBjMGGgX6BdhltodHRwOi8vYXdzLW5pdHJvLWVuY2xhdmVzLWNybC5zMy5hbWF6b25hd3MuY29tL2NybC9hYjQ5NjBjYy03ZDYzLTQyYmQtOWU5Zi01OTMzOGNiNjdmODQuY3JsMAoGCCqGSM49BAMDA2kAMGYCMQCE4Dk9Yx4YFmzMxZBfJFa3whMylwEtbYbL6t9ZmWVwN1NuOA1JgravYGMCSCWZ9y0CMQDEMOHvG0RMhSNNZlmE83FuaSxh4agc/VW5Q+V7Bl8Rv1OQ1l3jzeOI9L881ak0qK1ZAxkwggMVMIICm6ADAgECAhEA5pAlD3uWG4BhYvHF32fzATAKBggqhkjOPQQDAzBkMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQLDANBV1MxNjA0BgNVBAMMLTk3NzI5ZmQ2N2Q0M2VhYTAudXMtZWFzdC0yLmF3cy5uaXRyby1lbmNsYXZlczAeFw0yNjAyMDIwOTIzMzlaFw0yNjAyMDgwMzIzMzhaMIGJMTwwOgYDVQQDDDMxY2Q4YjE2MWJiMmNmMjE5LnpvbmFsLnVzLWVhc3QtMi5hd3Mubml0cm8tZW5jbGF2ZXMxDDAKBgNVBAsMA0FXUzEPMA0GA1UECgwGQW1hem9uMQswCQYDVQQGEwJVUzELMAkGA1UECAwCV0ExEDAOBgNVBAcMB1NlYXR0bGUwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAASQvJ0EWC5sNb8ah86TGL5kecgJKdNE6XEt/lNHjAxEZenbYZeNBi5s3DSZ+nvEZIJqMM22jS2+lybaExX+eYzbHt1t38y8wARSHErOuWnWPmweGHJuSR2duHtXBG6haDKjgeowgecwEgYDVR0TAQH/BAgwBgEB/wIBATAfBgNVHSMEGDAWgBR+S5asqtmbWe0IFew6WjdHigyx5jAdBgNVHQ4EFgQUPV7iXeIKB0wGSwQf6S6Cl3aAM6AwDgYDVR0PAQH/BAQDAgGGMIGABgNVHR8EeTB3MHWgc6Bxhm9odHRwOi8vY3JsLXVzLWVhc3QtMi1hd3Mtbml0cm8tZW5jbGF2ZXMuczMudXMtZWFzdC0yLmFtYXpvbmF3cy5jb20vY3JsL2U1ZjYwMDI2LTY1YjQtNDA3Yy04OTE2LTQ0N2U4YjIyNmFiMC5jcmwwCgYIKoZIzj0EAwMDaAAwZQIxAL38h0Kvy++dAsep32eR/L8B7dBeV2Sn8QODJHb/CKMXoC0tJWbrWh04DU3VE+6s3wIwdSwq+EksauCh3pJtHEj1xQZtkhn08jTZSw6AmedeSNiga57smGdumtgnzr3G9/GhWQLCMIICvjCCAkSgAwIBAgIUZEYieHg4gezbqJxQZXDIt+gIh+QwCgYIKoZIzj0EAwMwgYkxPDA6BgNVBAMMMzFjZDhiMTYxYmIyY2YyMTkuem9uYWwudXMtZWFzdC0yLmF3cy5uaXRyby1lbmNsYXZlczEMMAoGA1UECwwDQVdTMQ8wDQYDVQQKDAZBbWF6b24xCzAJBgNVBAYTAlVTMQswCQYDVQQIDAJXQTEQMA4GA1UEBwwHU2VhdHRsZTAeFw0yNjAyMDIxNzAwMTlaFw0yNjAyMDMxNzAwMTlaMIGOMQswCQYDVQQGEwJVUzETMBEGA1UECAwKV2FzaGluZ3RvbjEQMA4GA1UEBwwHU2VhdHRsZTEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQLDANBV1MxOTA3BgNVBAMMMGktMDM0MGUwY2I4MzM1MDRlYjYudXMtZWFzdC0yLmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEGBSuBBAAiA2IABA5B/v4BZOzzHUaYFs38aI53DflGpXGEIZzFN8N4Ka365Fbjv+me/ZhsDk0L2CMLxStZ714mzL4mbDwZu85AYCygMyup7kw2DAdLcMK+/XX8/ljw33yk2euTQmdre02uE6NmMGQwEgYDVR0TAQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8EBAMCAgQwHQYDVR0OBBYEFDipqpfOuG+0cVIDl+DM6tg2SFcIMB8GA1UdIwQYMBaAFD1e4l3iCgdMBksEH+kugpd2gDOgMAoGCCqGSM49BAMDA2gAMGUCMB3YnldpwIrj87KYyulmiFTLfWOSf0xOxc7IO+ofKbE2fIAv6kzRkVSMguQpqsD79gIxAP943d/s5wuFykYS7azLvaMITO+iDcGwjbYcmLSrTXwFi6XHwEsipLEz8a4XgxRINWpwdWJsaWNfa2V5RWR1bW15aXVzZXJfZGF0YVhEEiC3NVRlNueO4SvuotOE/No190kURsaFj3n6etXkrom0nxIgq/nXRTQi60GfwTkWBLBwqBvWph9NmuDucask13ZwwVRlbm9uY2VUASNFZ4mrze8BI0VniavN7wEjRWf/WGC4okyKcQRcYyXom069pczJWZjhZmCNEhEI9HyIO3NBHuawOCxFlsorSqEg3lmMl9G3IKL+aVe4VGXKF1yFM/8XJ9xNvrweVANatxbNZ3APd5/enQsIC4YHLhn4wjC7Hps=",
};
