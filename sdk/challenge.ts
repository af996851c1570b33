/**
 * Commit–reveal for the protocol's proofs of fault. A challenger first commits to a hash that binds
 * its own address to the evidence, and reveals the evidence in a later block: a copy of the reveal
 * sent from the mempool by anyone else has no commitment of its own and earns nothing.
 *  - equivocation (ProofSettlement.commitChallenge / challengeEquivocation):
 *    keccak256(abi.encode(challenger, headerHash, receiptStructHash, salt))
 *  - orphaned receipt (ProofSettlement.commitChallenge / challengeOrphanedReceipt):
 *    keccak256(abi.encode(challenger, receiptStructHash, salt))
 *  - contradicting verdicts (ValidatorSet.commitSlash / slashContradiction):
 *    keccak256(abi.encode(prover, validator, headerHash, salt))
 */
import { encodeAbiParameters, keccak256, toHex, type Address, type Hex } from "viem";

const FOUR = [{ type: "address" }, { type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }] as const;
const THREE = [{ type: "address" }, { type: "bytes32" }, { type: "bytes32" }] as const;
const PROVER = [{ type: "address" }, { type: "address" }, { type: "bytes32" }, { type: "bytes32" }] as const;

/** A fresh random salt: keeps the commitment from revealing the evidence (Web Crypto: Node and browsers). */
export function newSalt(): Hex {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/** What `challenger` commits to before revealing that the enclave signed `receiptHash` against `headerHash`. */
export function challengeCommitment(challenger: Address, headerHash: Hex, receiptHash: Hex, salt: Hex): Hex {
  return keccak256(encodeAbiParameters(FOUR, [challenger, headerHash, receiptHash, salt]));
}

/**
 * What `challenger` commits to before revealing that the enclave signed `receiptHash` for a callSeq its
 * closed account never settled (at or above its end).
 */
export function orphanCommitment(challenger: Address, receiptHash: Hex, salt: Hex): Hex {
  return keccak256(encodeAbiParameters(THREE, [challenger, receiptHash, salt]));
}

/** What `prover` commits to before revealing that `validator` signed contradicting verdicts on `headerHash`. */
export function slashCommitment(prover: Address, validator: Address, headerHash: Hex, salt: Hex): Hex {
  return keccak256(encodeAbiParameters(PROVER, [prover, validator, headerHash, salt]));
}
