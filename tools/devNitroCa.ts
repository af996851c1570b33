/**
 * DEVELOPMENT ONLY: a throwaway "Nitro" certificate authority and an attestation document
 * builder, for tests and the local demo (`npm start`), where no real Nitro Enclave exists.
 *
 * The chain is structurally real (root CA P-384 → intermediate CA → signing certificate, ECDSA
 * P-384 / SHA-384, COSE_Sign1 ES384 over an NSM-shaped CBOR payload), so documents built here go
 * through exactly the checks of real ones. Its root is NEVER trusted by default: a verifier
 * accepts these documents only when it is explicitly given `ca.rootPem` as `trustedRoot`.
 * It lives in tools/ (dev tools, not in the package): production code must not import this module.
 */
import "./reflectMetadata.js";
import * as x509 from "@peculiar/x509";
import { encode, Tag } from "cbor2";
import { createHash, webcrypto } from "node:crypto";
import type { Hex } from "viem";
import { bytesParameter, hex, plainBytes } from "../validator/attestation/bytes.js";
import { sha256Fingerprint } from "../validator/attestation/certificateChain.js";
import { COSE_ALG_ES384, COSE_HEADER_ALG, COSE_SIGN1_TAG } from "../validator/attestation/coseSign1.js";
import { coseSign1SigStructure } from "../validator/attestation/coseSignature.js";
import { encodeNitridingUserData, encodeProofpathUserData } from "../validator/attestation/userData.js";

/** Says what this CA is, wherever its certificates are shown. */
export const DEV_NITRO_CA_NOTICE =
  "proofpath DEVELOPMENT Nitro CA: not AWS, never trusted by default, for tests and the local demo only";

// Node's WebCrypto (also what @peculiar/x509 uses by default, through globalThis.crypto).
const subtle = webcrypto.subtle;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const P384 = { name: "ECDSA", namedCurve: "P-384" } as const;
const ES384 = { name: "ECDSA", hash: "SHA-384" } as const;
const DAY_MS = 86_400_000;
/** Subject prefix of every certificate here: says "not AWS" wherever a chain is printed. */
const DEV_NAME = "C=US, O=proofpath DEVELOPMENT (not AWS), OU=dev";

/** A validity window; each bound defaults relative to the CA's `now`. */
export type DevValidity = { notBefore?: Date | undefined; notAfter?: Date | undefined };

/** What signs documents: the signing certificate, the bundle up to the root, and its key. */
export type DevNitroSigner = {
  /** DER of the signing (leaf) certificate. */
  certificate: Uint8Array;
  /** DER certificates, root first, ending with the leaf's issuer. */
  cabundle: Uint8Array[];
  /** P-384 private key of the signing certificate. */
  privateKey: CryptoKey;
};

export type DevNitroCa = DevNitroSigner & {
  /** The development root, to pass as `trustedRoot` (explicitly, never by default). */
  rootPem: string;
  rootDer: Uint8Array;
  /** SHA-256 of `rootDer`. */
  rootSha256: Hex;
  /** Issues another signing certificate from the intermediate (for instance an expired one). */
  issueSigner(validity?: DevValidity): Promise<DevNitroSigner>;
};

export type CreateDevNitroCaOptions = {
  /** Reference time for default validity windows. Default: now. */
  now?: Date | undefined;
  /** Default: now − 1 day … now + 10 years. */
  root?: DevValidity | undefined;
  /** Default: now − 1 day … now + 30 days. */
  intermediate?: DevValidity | undefined;
  /** Default: now − 1 hour … now + 3 hours (like the NSM's short-lived certificates). */
  leaf?: DevValidity | undefined;
};

function serial(): string {
  // Positive, 16 bytes, as the NSM's serials.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString("hex");
}

function der(cert: x509.X509Certificate): Uint8Array {
  return new Uint8Array(cert.rawData);
}

async function issueCa({
  name,
  keys,
  issuer,
  validity,
  pathLength,
}: {
  name: string;
  keys: CryptoKeyPair;
  issuer: { name: string; keys: CryptoKeyPair } | undefined;
  validity: ValidityWindow;
  pathLength: number;
}): Promise<x509.X509Certificate> {
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false),
  ];
  if (issuer === undefined) {
    return x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name,
      keys,
      signingAlgorithm: ES384,
      extensions,
      ...validity,
    });
  }
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey, false));
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: name,
    issuer: issuer.name,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: ES384,
    extensions,
    ...validity,
  });
}

type ValidityWindow = { notBefore: Date; notAfter: Date };

function validityWindow(validity: DevValidity | undefined, notBefore: Date, notAfter: Date): ValidityWindow {
  return { notBefore: validity?.notBefore ?? notBefore, notAfter: validity?.notAfter ?? notAfter };
}

/**
 * Creates a development CA: root (self-signed) → intermediate → signing certificate, all
 * ECDSA P-384 with SHA-384, with the CA extensions real Nitro chains carry.
 *
 * @example
 * const ca = await createDevNitroCa();
 * const doc = await buildDevEnclaveAttestation(ca, { enclavePublicKey, pcrs });
 * verifyAttestation(doc, { trustedRoot: ca.rootPem, enclaveKey: { publicKey: enclavePublicKey } });
 */
export async function createDevNitroCa(options: CreateDevNitroCaOptions = {}): Promise<DevNitroCa> {
  const now = options.now ?? new Date();
  const t = now.getTime();
  const generate = () => subtle.generateKey(P384, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
  const [rootKeys, intermediateKeys] = await Promise.all([generate(), generate()]);

  const rootName = `${DEV_NAME}, CN=proofpath-dev.nitro-enclaves`;
  const intermediateName = `${DEV_NAME}, CN=intermediate.proofpath-dev.nitro-enclaves`;
  const root = await issueCa({
    name: rootName,
    keys: rootKeys,
    issuer: undefined,
    validity: validityWindow(options.root, new Date(t - DAY_MS), new Date(t + 3650 * DAY_MS)),
    pathLength: 2,
  });
  const intermediate = await issueCa({
    name: intermediateName,
    keys: intermediateKeys,
    issuer: { name: rootName, keys: rootKeys },
    validity: validityWindow(options.intermediate, new Date(t - DAY_MS), new Date(t + 30 * DAY_MS)),
    pathLength: 0,
  });
  const cabundle = [der(root), der(intermediate)];

  const issueSigner = async (validity?: DevValidity): Promise<DevNitroSigner> => {
    const keys = await generate();
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `${DEV_NAME}, CN=enclave-${serial().slice(0, 16)}.proofpath-dev`,
      issuer: intermediateName,
      publicKey: keys.publicKey,
      signingKey: intermediateKeys.privateKey,
      signingAlgorithm: ES384,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(intermediateKeys.publicKey, false),
      ],
      ...validityWindow(validity, new Date(t - 3_600_000), new Date(t + 3 * 3_600_000)),
    });
    return { certificate: der(leaf), cabundle: [...cabundle], privateKey: keys.privateKey };
  };

  const signer = await issueSigner(options.leaf);
  return {
    ...signer,
    rootPem: root.toString("pem"),
    rootDer: cabundle[0]!,
    rootSha256: sha256Fingerprint(cabundle[0]!),
    issueSigner,
  };
}

type BytesLike = Hex | Uint8Array;

/** The fields of a document; absent optional fields are written as null, as the NSM does. */
export type DevAttestationFields = {
  /** Default: a Nitro-like dev module id. */
  moduleId?: string | undefined;
  /** Unix ms or a Date. Default: now. */
  timestamp?: number | Date | undefined;
  /** Default: "SHA384". */
  digest?: string | undefined;
  /** PCR index → value. Default: {@link devPcrs}("proofpath-dev") for 0..2, zero for 3, 4 and 8. */
  pcrs?: Readonly<Record<number, BytesLike>> | ReadonlyMap<number, BytesLike> | undefined;
  publicKey?: BytesLike | null | undefined;
  userData?: BytesLike | null | undefined;
  nonce?: BytesLike | null | undefined;
  /** Overrides of the signer's certificate and bundle (to build broken chains). */
  certificate?: Uint8Array | undefined;
  cabundle?: Uint8Array[] | undefined;
};

export type DevSignOptions = {
  /** Protected header map. Default: `{1: -35}` (alg ES384). */
  protectedHeader?: Map<number, unknown> | undefined;
  /** Unprotected header map. Default: empty. */
  unprotectedHeader?: Map<unknown, unknown> | undefined;
  /** Wrap the message in CBOR tag 18. Default: false (the NSM emits it untagged). */
  tagged?: boolean | undefined;
  /** Edits the payload map just before it is encoded (to add, drop or retype fields). */
  editPayload?: ((payload: Map<string, unknown>) => void) | undefined;
};

/** Deterministic fake 48-byte PCR0..2 for a label: SHA-384(label ‖ ":" ‖ index). */
export function devPcrs(label: string): { 0: Hex; 1: Hex; 2: Hex } {
  const pcr = (i: number) => hex(createHash("sha384").update(`${label}:${i}`).digest());
  return { 0: pcr(0), 1: pcr(1), 2: pcr(2) };
}

function optional(value: BytesLike | null | undefined, name: string): Uint8Array | null {
  return value === undefined || value === null ? null : bytesParameter(value, name);
}

/**
 * Builds and signs an attestation document with any field values, exactly as given (no
 * validation: tests use it to produce invalid documents too).
 */
export async function buildDevAttestationDocument(
  signer: DevNitroSigner,
  fields: DevAttestationFields = {},
  options: DevSignOptions = {},
): Promise<Uint8Array> {
  const zero = new Uint8Array(48);
  const pcrs = fields.pcrs ?? { ...devPcrs("proofpath-dev"), 3: zero, 4: zero, 8: zero };
  const pcrEntries: [number, BytesLike][] =
    pcrs instanceof Map ? [...pcrs] : Object.entries(pcrs).map(([k, v]) => [Number(k), v as BytesLike]);
  const timestamp = fields.timestamp instanceof Date ? fields.timestamp.getTime() : (fields.timestamp ?? Date.now());

  const payload = new Map<string, unknown>([
    ["module_id", fields.moduleId ?? "i-0dev0proofpath00-enc0000000000000000"],
    ["digest", fields.digest ?? "SHA384"],
    ["timestamp", timestamp],
    ["pcrs", new Map(pcrEntries.map(([i, v]) => [i, bytesParameter(v, `pcrs[${i}]`)]))],
    ["certificate", plainBytes(fields.certificate ?? signer.certificate)],
    ["cabundle", (fields.cabundle ?? signer.cabundle).map(plainBytes)],
    ["public_key", optional(fields.publicKey, "publicKey")],
    ["user_data", optional(fields.userData, "userData")],
    ["nonce", optional(fields.nonce, "nonce")],
  ]);
  options.editPayload?.(payload);
  const payloadBytes = encode(payload);

  const protectedHeader = encode(options.protectedHeader ?? new Map([[COSE_HEADER_ALG, COSE_ALG_ES384]]));
  const signature = new Uint8Array(
    await subtle.sign(ES384, signer.privateKey, new Uint8Array(coseSign1SigStructure(protectedHeader, payloadBytes))),
  );
  const message = [protectedHeader, options.unprotectedHeader ?? new Map(), payloadBytes, signature];
  return encode(options.tagged ? new Tag(COSE_SIGN1_TAG, message) : message);
}

/**
 * Builds the document a development enclave would present for its signing key: the given PCRs,
 * the key bound by `public_key` (65-byte uncompressed) or by nitriding `user_data`, and an
 * optional nonce. With `keyConfigHash`, `user_data` is the 102-byte proofpath layout (nitriding ‖
 * 0x1b20 ‖ keyConfigHash), which binds the enclave's OHTTP key config; with the `public_key`
 * binding, its signing-key slot holds the same key's hash.
 */
export async function buildDevEnclaveAttestation(
  signer: DevNitroSigner,
  {
    enclavePublicKey,
    pcrs,
    binding = "public_key",
    nonce,
    timestamp,
    tlsCertificateHash,
    keyConfigHash,
  }: {
    /** 65-byte uncompressed secp256k1 public key of the enclave signing key. */
    enclavePublicKey: BytesLike;
    pcrs?: DevAttestationFields["pcrs"];
    binding?: "public_key" | "user_data";
    nonce?: BytesLike | undefined;
    timestamp?: number | Date | undefined;
    tlsCertificateHash?: BytesLike | undefined;
    /** keccak256 of the enclave's OHTTP key config, bound in proofpath `user_data`. */
    keyConfigHash?: BytesLike | undefined;
  },
): Promise<Uint8Array> {
  const key = bytesParameter(enclavePublicKey, "enclavePublicKey");
  const userData =
    keyConfigHash !== undefined
      ? encodeProofpathUserData({ signingPublicKey: key, keyConfigHash, tlsCertificateHash })
      : binding === "user_data"
        ? encodeNitridingUserData({ signingPublicKey: key, tlsCertificateHash })
        : undefined;
  return buildDevAttestationDocument(signer, {
    pcrs,
    nonce,
    timestamp,
    ...(binding === "public_key" ? { publicKey: key } : {}),
    ...(userData !== undefined ? { userData } : {}),
  });
}
