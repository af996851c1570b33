/**
 * Validator-side signing for the contracts' EIP-712 messages: verdicts on batches (ProofSettlement)
 * and enclave approvals/registrations (GatewayRegistry). Quorum signatures must be sorted by signer,
 * strictly ascending, and compact (EIP-2098), which is what `quorumSignatures` returns.
 */
import {
  hashTypedData,
  parseSignature,
  signatureToCompactSignature,
  type Address,
  type Hex,
  type LocalAccount,
} from "viem";

/** ProofSettlement's `CompactSignature { r, vs }`. */
export interface CompactSig {
  r: Hex;
  vs: Hex;
}

export const VERDICT_ATTEST = 1;
export const VERDICT_REJECT = 2;

export const verdictTypes = {
  Verdict: [
    { name: "verdict", type: "uint8" },
    { name: "headerHashes", type: "bytes32[]" },
  ],
} as const;

export const enclaveApprovalTypes = {
  EnclaveApproval: [
    { name: "key", type: "address" },
    { name: "measurement", type: "bytes32" },
    { name: "attestationHash", type: "bytes32" },
    { name: "keyConfigHash", type: "bytes32" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint64" },
  ],
} as const;

export const enclaveRegistrationTypes = {
  EnclaveRegistration: [
    { name: "operator", type: "address" },
    { name: "measurement", type: "bytes32" },
    { name: "attestationHash", type: "bytes32" },
    { name: "keyConfigHash", type: "bytes32" },
  ],
} as const;

/** EIP-712 domain of GatewayRegistry. */
export function registryDomain(chainId: number | bigint, registry: Address) {
  return { name: "proofpath-registry", version: "1", chainId: BigInt(chainId), verifyingContract: registry } as const;
}

/** EIP-712 domain of ProofSettlement (same as the enclave's header domain). */
export function verdictDomain(chainId: number | bigint, settlement: Address) {
  return { name: "proofpath", version: "1", chainId: BigInt(chainId), verifyingContract: settlement } as const;
}

/** Digest validators sign to attest (1) or reject (2) the batches with these header hashes. */
export function verdictDigest(
  chainId: number | bigint,
  settlement: Address,
  verdict: 1 | 2,
  headerHashes: readonly Hex[],
): Hex {
  return hashTypedData({
    domain: verdictDomain(chainId, settlement),
    types: verdictTypes,
    primaryType: "Verdict",
    message: { verdict, headerHashes: [...headerHashes] },
  });
}

export interface EnclaveApprovalMessage {
  key: Address;
  measurement: Hex;
  attestationHash: Hex;
  keyConfigHash: Hex;
  nonce: bigint;
  /** Unix seconds after which the approval cannot be used. */
  deadline: bigint;
}

/** How long an enclave approval stays usable by default: long enough to gather a quorum and relay it. */
export const APPROVAL_TTL_SEC = 3600n;

/** Digest validators sign to approve an enclave key at its current approval nonce, until `deadline`. */
export function enclaveApprovalDigest(chainId: number | bigint, registry: Address, m: EnclaveApprovalMessage): Hex {
  return hashTypedData({
    domain: registryDomain(chainId, registry),
    types: enclaveApprovalTypes,
    primaryType: "EnclaveApproval",
    message: m,
  });
}

/** Digest the enclave key signs so that `operator` may register it. */
export function enclaveRegistrationDigest(
  chainId: number | bigint,
  registry: Address,
  m: { operator: Address; measurement: Hex; attestationHash: Hex; keyConfigHash: Hex },
): Hex {
  return hashTypedData({
    domain: registryDomain(chainId, registry),
    types: enclaveRegistrationTypes,
    primaryType: "EnclaveRegistration",
    message: m,
  });
}

/** Signs a raw digest and returns the EIP-2098 compact form the contracts take. */
export async function signCompact(account: LocalAccount, digest: Hex): Promise<CompactSig> {
  if (!account.sign) throw new Error(`account ${account.address} cannot sign raw digests`);
  const compact = signatureToCompactSignature(parseSignature(await account.sign({ hash: digest })));
  return { r: compact.r, vs: compact.yParityAndS };
}

/** Signs `digest` with every account and returns the signatures sorted by signer, ascending. */
export async function quorumSignatures(accounts: readonly LocalAccount[], digest: Hex): Promise<CompactSig[]> {
  const sorted = [...accounts].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  return Promise.all(sorted.map((a) => signCompact(a, digest)));
}

/** Sorts already-made (signer, signature) pairs into quorum order. */
export function sortBySigner(pairs: readonly { signer: Address; sig: CompactSig }[]): CompactSig[] {
  return [...pairs].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1)).map((p) => p.sig);
}
