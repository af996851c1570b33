// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BatchHeader, ModelUsage, Receipt} from "../Types.sol";

/// @title Hashing
/// @notice EIP-712 struct hashes of headers and receipts, and the Merkle leaves built from them.
/// The SDK (`sdk/hashing.ts`) implements the same functions; tests check they agree.
library Hashing {
    bytes32 internal constant MODEL_USAGE_TYPEHASH =
        keccak256("ModelUsage(bytes32 modelId,uint32 calls,uint64 inputTokens,uint64 outputTokens)");

    bytes32 internal constant BATCH_HEADER_TYPEHASH = keccak256(
        "BatchHeader(address gateway,uint64 batchSeq,uint64 firstCallSeq,uint32 count,bytes32 root,ModelUsage[] usage,uint256 fee,uint64 firstServedAt,uint64 lastServedAt,string daURI)"
        "ModelUsage(bytes32 modelId,uint32 calls,uint64 inputTokens,uint64 outputTokens)"
    );

    bytes32 internal constant RECEIPT_TYPEHASH = keccak256(
        "Receipt(address gateway,uint64 callSeq,bytes32 modelId,bytes32 requestHash,bytes32 responseHash,uint32 inputTokens,uint32 outputTokens,uint64 servedAt)"
    );

    /// @dev A callSeq that was allocated but never served (e.g. lost in a crash) is settled as a void leaf.
    bytes32 internal constant VOID_RECEIPT_TYPEHASH = keccak256("VoidReceipt(address gateway,uint64 callSeq)");

    /// @notice EIP-712 struct hash of a batch header.
    function hashHeader(BatchHeader calldata h) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                BATCH_HEADER_TYPEHASH,
                h.gateway,
                h.batchSeq,
                h.firstCallSeq,
                h.count,
                h.root,
                hashUsage(h.usage),
                h.fee,
                h.firstServedAt,
                h.lastServedAt,
                keccak256(bytes(h.daURI))
            )
        );
    }

    /// @notice EIP-712 hash of a `ModelUsage[]` array: keccak of the concatenated struct hashes.
    function hashUsage(ModelUsage[] calldata usage) internal pure returns (bytes32 result) {
        uint256 n = usage.length;
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            ModelUsage calldata u = usage[i];
            hashes[i] = keccak256(abi.encode(MODEL_USAGE_TYPEHASH, u.modelId, u.calls, u.inputTokens, u.outputTokens));
        }
        assembly ("memory-safe") {
            result := keccak256(add(hashes, 0x20), mul(n, 0x20))
        }
    }

    /// @notice EIP-712 struct hash of a receipt (what the enclave signs for the user).
    function hashReceipt(Receipt calldata r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                RECEIPT_TYPEHASH,
                r.gateway,
                r.callSeq,
                r.modelId,
                r.requestHash,
                r.responseHash,
                r.inputTokens,
                r.outputTokens,
                r.servedAt
            )
        );
    }

    /// @notice EIP-712 struct hash of a void receipt.
    function hashVoid(address gateway, uint64 callSeq) internal pure returns (bytes32) {
        return keccak256(abi.encode(VOID_RECEIPT_TYPEHASH, gateway, callSeq));
    }

    /// @notice Merkle leaf of a struct hash: hashed once more, so a leaf is never a 64-byte preimage
    /// of an inner node (OpenZeppelin StandardMerkleTree style).
    function leaf(bytes32 structHash) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            mstore(0x00, structHash)
            result := keccak256(0x00, 0x20)
        }
    }
}
