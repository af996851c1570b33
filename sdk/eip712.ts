/**
 * EIP-712 domain, types and signing for proofpath. Digests are computed from the struct hashes of
 * `hashing.ts` (the same code the contracts are checked against), so what is signed is exactly
 * what `ProofSettlement` hashes; tests check them against viem's `hashTypedData`.
 */
import {
  parseSignature,
  recoverAddress,
  signatureToCompactSignature,
  compactSignatureToSignature,
  serializeSignature,
  type Address,
  type Hex,
  type LocalAccount,
} from "viem";
import {
  bytesToHex32,
  hashHeaderInto,
  hashReceiptInto,
  hashVoidInto,
  keccak256Into,
  writeHex,
  type BatchHeaderFields,
  type ReceiptFields,
} from "./hashing.js";

/** The settlement contract's EIP-712 domain. */
export interface SettlementDomain {
  name: "proofpath";
  version: "1";
  chainId: number | bigint;
  verifyingContract: Address;
}

/**
 * EIP-712 domain of the settlement contract at `verifyingContract` on `chainId`. Frozen: its
 * separator is cached per object, so build a new domain instead of mutating one.
 */
export function settlementDomain(chainId: number | bigint, verifyingContract: Address): SettlementDomain {
  return Object.freeze({ name: "proofpath", version: "1", chainId, verifyingContract });
}

/** viem `types` for `ModelUsage`. */
export const modelUsageTypes = {
  ModelUsage: [
    { name: "modelId", type: "bytes32" },
    { name: "calls", type: "uint32" },
    { name: "inputTokens", type: "uint64" },
    { name: "outputTokens", type: "uint64" },
  ],
} as const;

/** viem `types` for `BatchHeader` (primaryType "BatchHeader"). */
export const batchHeaderTypes = {
  BatchHeader: [
    { name: "gateway", type: "address" },
    { name: "batchSeq", type: "uint64" },
    { name: "firstCallSeq", type: "uint64" },
    { name: "count", type: "uint32" },
    { name: "root", type: "bytes32" },
    { name: "usage", type: "ModelUsage[]" },
    { name: "fee", type: "uint256" },
    { name: "firstServedAt", type: "uint64" },
    { name: "lastServedAt", type: "uint64" },
    { name: "daURI", type: "string" },
  ],
  ...modelUsageTypes,
} as const;

/** viem `types` for `Receipt` (primaryType "Receipt"). */
export const receiptTypes = {
  Receipt: [
    { name: "gateway", type: "address" },
    { name: "callSeq", type: "uint64" },
    { name: "modelId", type: "bytes32" },
    { name: "requestHash", type: "bytes32" },
    { name: "responseHash", type: "bytes32" },
    { name: "inputTokens", type: "uint32" },
    { name: "outputTokens", type: "uint32" },
    { name: "servedAt", type: "uint64" },
  ],
} as const;

/** viem `types` for `VoidReceipt` (primaryType "VoidReceipt"). */
export const voidReceiptTypes = {
  VoidReceipt: [
    { name: "gateway", type: "address" },
    { name: "callSeq", type: "uint64" },
  ],
} as const;

/** The contract's `CompactSignature` (EIP-2098): `vs` = yParity << 255 | s. */
export interface CompactSignature {
  r: Hex;
  vs: Hex;
}

/** A signature in both forms, with the digest that was signed. */
export interface SignedDigest {
  digest: Hex;
  /** 65-byte r ‖ s ‖ v signature. */
  signature: Hex;
  /** EIP-2098 form, as `submitBatch` / `challenge` take it. */
  compact: CompactSignature;
}

const utf8 = new TextEncoder();
const DOMAIN_BUF = new Uint8Array(5 * 32);
const DOMAIN_VIEW = new DataView(DOMAIN_BUF.buffer);
keccak256Into(
  utf8.encode("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
  DOMAIN_BUF,
  0,
);
const DIGEST_BUF = new Uint8Array(66);
DIGEST_BUF[0] = 0x19;
DIGEST_BUF[1] = 0x01;
const OUT = new Uint8Array(32);
const separators = new WeakMap<SettlementDomain, Uint8Array>();

function separatorBytes(domain: SettlementDomain): Uint8Array {
  let sep = separators.get(domain);
  if (sep) return sep;
  keccak256Into(utf8.encode(domain.name), DOMAIN_BUF, 32);
  keccak256Into(utf8.encode(domain.version), DOMAIN_BUF, 64);
  const chainId = BigInt(domain.chainId);
  if (chainId < 0n || chainId >= 1n << 64n) throw new RangeError(`chainId: ${chainId} out of range`);
  DOMAIN_VIEW.setBigUint64(96 + 24, chainId);
  DOMAIN_BUF.fill(0, 128, 140);
  writeHex(DOMAIN_BUF, 140, domain.verifyingContract, 20, "verifyingContract");
  sep = new Uint8Array(32);
  keccak256Into(DOMAIN_BUF, sep, 0);
  separators.set(domain, sep); // domains are long-lived objects: hash each once
  return sep;
}

/** EIP-712 domain separator of `domain`. */
export function domainSeparator(domain: SettlementDomain): Hex {
  return bytesToHex32(separatorBytes(domain));
}

// DIGEST_BUF[34..66) holds the struct hash; the digest is keccak(0x1901 ‖ separator ‖ structHash).
function finishDigest(domain: SettlementDomain): Hex {
  DIGEST_BUF.set(separatorBytes(domain), 2);
  keccak256Into(DIGEST_BUF, OUT, 0);
  return bytesToHex32(OUT);
}

/** EIP-712 digest of any struct hash under `domain`: keccak256(0x1901 ‖ separator ‖ structHash). */
export function typedDataDigest(domain: SettlementDomain, structHash: Hex): Hex {
  writeHex(DIGEST_BUF, 34, structHash, 32, "structHash");
  return finishDigest(domain);
}

/** Full EIP-712 digest of a batch header (what the enclave key signs). */
export function headerDigest(domain: SettlementDomain, header: BatchHeaderFields): Hex {
  hashHeaderInto(header, DIGEST_BUF, 34);
  return finishDigest(domain);
}

/** Full EIP-712 digest of a receipt (what the enclave key signs for the user). */
export function receiptDigest(domain: SettlementDomain, receipt: ReceiptFields): Hex {
  hashReceiptInto(receipt, DIGEST_BUF, 34);
  return finishDigest(domain);
}

/** Full EIP-712 digest of a void receipt. */
export function voidReceiptDigest(domain: SettlementDomain, gateway: Address, callSeq: bigint | number): Hex {
  hashVoidInto(gateway, callSeq, DIGEST_BUF, 34);
  return finishDigest(domain);
}

/** Converts a 65-byte signature to the EIP-2098 `{ r, vs }` the contract takes. */
export function toCompactSignature(signature: Hex): CompactSignature {
  const { r, yParityAndS } = signatureToCompactSignature(parseSignature(signature));
  return { r, vs: yParityAndS };
}

/** Converts an EIP-2098 `{ r, vs }` back to a 65-byte signature. */
export function fromCompactSignature(compact: CompactSignature): Hex {
  return serializeSignature(compactSignatureToSignature({ r: compact.r, yParityAndS: compact.vs }));
}

async function signDigest(account: LocalAccount, digest: Hex): Promise<SignedDigest> {
  if (!account.sign)
    throw new TypeError("signHeader/signReceipt: the account cannot sign raw digests (use a viem local account)");
  const signature = await account.sign({ hash: digest });
  return { digest, signature, compact: toCompactSignature(signature) };
}

/** Signs a batch header with the enclave's local account. */
export function signHeader(
  account: LocalAccount,
  domain: SettlementDomain,
  header: BatchHeaderFields,
): Promise<SignedDigest> {
  return signDigest(account, headerDigest(domain, header));
}

/** Signs a receipt with the enclave's local account. */
export function signReceipt(
  account: LocalAccount,
  domain: SettlementDomain,
  receipt: ReceiptFields,
): Promise<SignedDigest> {
  return signDigest(account, receiptDigest(domain, receipt));
}

/** Address that signed `header` under `domain` (either signature form). */
export function recoverHeaderSigner(
  domain: SettlementDomain,
  header: BatchHeaderFields,
  signature: Hex | CompactSignature,
): Promise<Address> {
  const sig = typeof signature === "string" ? signature : fromCompactSignature(signature);
  return recoverAddress({ hash: headerDigest(domain, header), signature: sig });
}

/** Address that signed `receipt` under `domain` (either signature form). */
export function recoverReceiptSigner(
  domain: SettlementDomain,
  receipt: ReceiptFields,
  signature: Hex | CompactSignature,
): Promise<Address> {
  const sig = typeof signature === "string" ? signature : fromCompactSignature(signature);
  return recoverAddress({ hash: receiptDigest(domain, receipt), signature: sig });
}
