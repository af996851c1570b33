/**
 * Enclave approval: a validator signs GatewayRegistry's `EnclaveApproval` for a registered key only
 * after verifying the AWS Nitro attestation document that key's registration committed to:
 *  - the key is registered and its measurement is on the registry's allowlist;
 *  - keccak256(document) is the registered `attestationHash`;
 *  - the document verifies (./attestation): chain to the trusted root, COSE signature, freshness,
 *    PCR0..2 giving the registered measurement, the enclave key bound by `public_key` or nitriding
 *    `user_data` (the latter holds SHA-256 of the public key, so the enclave posts its public key,
 *    which must be the registered address's), and the registered `keyConfigHash` bound by the
 *    proofpath `user_data` tail (nitriding 68 bytes ‖ 0x1b20 ‖ keyConfigHash): users encrypt to the
 *    key config the registry names, so it must be the attested enclave's, never the operator's word.
 *  - the key was never slashed, and the approval's deadline lies in the next `APPROVAL_TTL_SEC` of
 *    chain time (all k approvals of one quorum must cover the same deadline, so the operator picks it).
 * The digest is built here from the fields just checked (and the registry's approval nonce), not
 * read from the RPC, so the signature covers exactly what was verified.
 */
import type { Address, Hex, LocalAccount } from "viem";
import { gatewayRegistryAbi } from "../sdk/abis.js";
import { APPROVAL_TTL_SEC, enclaveApprovalDigest, signCompact, type CompactSig } from "../sdk/approvals.js";
import { attestationHash, normalizeEnclaveKey, verifyAttestation, type TrustedRoot } from "./attestation/index.js";
import { rpc, type ValidatorChain } from "./chain.js";
import { ApprovalRefusedError } from "./errors.js";

const MEASUREMENT_ALLOWED = 1; // IGatewayRegistry.MeasurementStatus.Allowed
const ZERO_HASH = `0x${"00".repeat(32)}`;

export interface ApprovalSigner {
  chain: Pick<ValidatorChain, "publicClient" | "registry">;
  chainId: number;
  account: LocalAccount;
  trustedRoot: TrustedRoot;
  maxAgeSec: number;
}

export interface EnclaveApproval {
  signer: Address;
  sig: CompactSig;
  /** The registry's approval nonce the signature is for (a re-attestation bumps it). */
  nonce: bigint;
  /** Unix seconds (chain time) after which the approval cannot be used. */
  deadline: bigint;
  measurement: Hex;
  attestationHash: Hex;
}

/**
 * Verifies `document` for the registered enclave `key` and signs its approval until `deadline` (chain
 * time; default `APPROVAL_TTL_SEC` after the latest block); throws ApprovalRefusedError or an AttestationError.
 * `publicKey` (65-byte uncompressed secp256k1) is the key's public key, needed when the document binds
 * the key by nitriding `user_data` (a SHA-256 of the public key) rather than by `public_key`.
 */
export async function approveEnclave(
  p: ApprovalSigner,
  key: Address,
  document: Uint8Array,
  at: Date = new Date(),
  deadline?: bigint,
  publicKey?: Hex,
): Promise<EnclaveApproval> {
  if (publicKey !== undefined) {
    let owner: Address | undefined;
    try {
      owner = normalizeEnclaveKey({ publicKey }).address;
    } catch {
      throw new ApprovalRefusedError({ enclave: key, reason: "publicKey is not a secp256k1 public key" });
    }
    if (owner.toLowerCase() !== key.toLowerCase()) {
      throw new ApprovalRefusedError({ enclave: key, reason: `publicKey belongs to ${owner}, not to the enclave key` });
    }
  }
  const { publicClient } = p.chain;
  const registry = await p.chain.registry();
  const e = await rpc("enclave", () =>
    publicClient.readContract({ address: registry, abi: gatewayRegistryAbi, functionName: "enclave", args: [key] }),
  );
  if (BigInt(e.operator) === 0n) throw new ApprovalRefusedError({ enclave: key, reason: "not registered" });
  if (e.slashed) throw new ApprovalRefusedError({ enclave: key, reason: "slashed for equivocation: banned for good" });
  const chainNow = (await rpc("getBlock", () => publicClient.getBlock({ blockTag: "latest" }))).timestamp;
  deadline ??= chainNow + APPROVAL_TTL_SEC;
  if (deadline <= chainNow || deadline > chainNow + APPROVAL_TTL_SEC) {
    throw new ApprovalRefusedError({
      enclave: key,
      reason: `deadline ${deadline} is not within the next ${APPROVAL_TTL_SEC} s of chain time (now ${chainNow})`,
    });
  }
  const status = await rpc("measurementStatus", () =>
    publicClient.readContract({
      address: registry,
      abi: gatewayRegistryAbi,
      functionName: "measurementStatus",
      args: [e.measurement],
    }),
  );
  if (status !== MEASUREMENT_ALLOWED)
    throw new ApprovalRefusedError({ enclave: key, reason: `measurement ${e.measurement} is not allowed` });
  if (e.keyConfigHash === ZERO_HASH) {
    throw new ApprovalRefusedError({
      enclave: key,
      reason: "no OHTTP key config registered (keyConfigHash = 0): the attestation must bind the one users encrypt to",
    });
  }
  const docHash = attestationHash(document);
  if (docHash !== e.attestationHash.toLowerCase()) {
    throw new ApprovalRefusedError({
      enclave: key,
      reason: `document hash ${docHash} is not the registered attestationHash ${e.attestationHash}`,
    });
  }
  verifyAttestation(document, {
    trustedRoot: p.trustedRoot,
    at,
    maxAgeSec: p.maxAgeSec,
    allowedMeasurements: [e.measurement],
    enclaveKey: { address: key, publicKey },
    keyConfigHash: e.keyConfigHash,
  });
  const m = {
    key,
    measurement: e.measurement,
    attestationHash: e.attestationHash,
    keyConfigHash: e.keyConfigHash,
    nonce: e.approvalNonce,
    deadline,
  };
  const sig = await signCompact(p.account, enclaveApprovalDigest(p.chainId, registry, m));
  return {
    signer: p.account.address,
    sig,
    nonce: e.approvalNonce,
    deadline,
    measurement: e.measurement,
    attestationHash: e.attestationHash,
  };
}
