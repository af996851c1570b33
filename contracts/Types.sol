// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Usage of one model inside a batch. Entries are sorted by strictly ascending `modelId`.
struct ModelUsage {
    bytes32 modelId; // model identifier (keccak of its name/version)
    uint32 calls; // served calls of this model in the batch (void leaves are not calls)
    uint64 inputTokens; // sum of input tokens over those calls
    uint64 outputTokens; // sum of output tokens over those calls
}

/// @notice The header of a batch of receipts, signed by the enclave key (EIP-712).
struct BatchHeader {
    address gateway; // the enclave signing key's address
    uint64 batchSeq; // per-gateway, contiguous from 0
    uint64 firstCallSeq; // callSeq of the first leaf; leaves cover [firstCallSeq, firstCallSeq + count)
    uint32 count; // number of leaves (served receipts + void leaves)
    bytes32 root; // Merkle root (OpenZeppelin sorted-pair, double-hashed leaves)
    ModelUsage[] usage; // per-model usage, strictly ascending modelId
    uint256 fee; // OPG fee; must equal the on-chain fee schedule applied to `usage`
    uint64 firstServedAt; // unix ms of the earliest served call
    uint64 lastServedAt; // unix ms of the latest served call
    string daURI; // where validators fetch the receipts
}

/// @notice One served call, produced inside the enclave. Its EIP-712 struct hash `h` gives the
/// Merkle leaf `keccak256(bytes.concat(h))`, and the enclave's EIP-712 signature over `h` is the
/// receipt a user holds.
struct Receipt {
    address gateway;
    uint64 callSeq;
    bytes32 modelId;
    bytes32 requestHash;
    bytes32 responseHash;
    uint32 inputTokens;
    uint32 outputTokens;
    uint64 servedAt; // unix ms
}

/// @notice Lifecycle of a batch. Statuses only move forward:
/// None -> Submitted -> Attested -> Finalized, or Submitted/Attested -> Rejected. The challenge window
/// starts at attestation (when a validator quorum holds the receipts), not at submission.
enum BatchStatus {
    None,
    Submitted,
    Attested,
    Finalized,
    Rejected
}

/// @notice Points at one settled batch; `headerHash` is the EIP-712 struct hash of its header.
struct BatchRef {
    address gateway;
    uint64 batchSeq;
    bytes32 headerHash;
}

/// @notice A compact (EIP-2098) ECDSA signature: `vs` carries the parity bit in its top bit.
struct CompactSignature {
    bytes32 r;
    bytes32 vs;
}

/// @notice Fee schedule: fee = calls * perCall + inputTokens * perKiloInput / 1000
/// + outputTokens * perKiloOutput / 1000, per usage entry (each term rounded down).
struct FeeRate {
    uint64 perCall; // OPG wei per served call
    uint64 perKiloInputToken; // OPG wei per 1,000 input tokens
    uint64 perKiloOutputToken; // OPG wei per 1,000 output tokens
}

/// @notice Evidence that an enclave equivocated: it signed `signedReceipt` for a callSeq, and the
/// settled batch holds a different leaf for that callSeq (`settledReceipt`, or a void leaf when
/// `settledIsVoid`), proven by `proof` against the batch root.
struct EquivocationProof {
    Receipt signedReceipt;
    CompactSignature receiptSig;
    Receipt settledReceipt;
    bool settledIsVoid;
    bytes32[] proof;
}
