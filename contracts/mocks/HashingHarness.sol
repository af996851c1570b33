// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BatchHeader, ModelUsage, Receipt} from "../Types.sol";
import {Hashing} from "../libraries/Hashing.sol";

/// @title HashingHarness
/// @notice Test-only: exposes `Hashing` and OpenZeppelin `MerkleProof` so the SDK can be checked
/// against the exact on-chain code. The batch variants keep property tests to few eth_calls.
contract HashingHarness {
    function hashHeader(BatchHeader calldata h) external pure returns (bytes32) {
        return Hashing.hashHeader(h);
    }

    function hashUsage(ModelUsage[] calldata usage) external pure returns (bytes32) {
        return Hashing.hashUsage(usage);
    }

    function hashReceipt(Receipt calldata r) external pure returns (bytes32) {
        return Hashing.hashReceipt(r);
    }

    function hashVoid(address gateway, uint64 callSeq) external pure returns (bytes32) {
        return Hashing.hashVoid(gateway, callSeq);
    }

    function leaf(bytes32 structHash) external pure returns (bytes32) {
        return Hashing.leaf(structHash);
    }

    /// @notice The leaf a contract computes itself from a receipt: `leaf(hashReceipt(r))`.
    function receiptLeaf(Receipt calldata r) external pure returns (bytes32) {
        return Hashing.leaf(Hashing.hashReceipt(r));
    }

    /// @notice Leaves of many receipts in one call.
    function receiptLeaves(Receipt[] calldata rs) external pure returns (bytes32[] memory out) {
        out = new bytes32[](rs.length);
        for (uint256 i; i < rs.length; ++i) {
            out[i] = Hashing.leaf(Hashing.hashReceipt(rs[i]));
        }
    }

    function verifyCalldata(bytes32[] calldata proof, bytes32 root, bytes32 leaf_) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, leaf_);
    }

    function processProof(bytes32[] calldata proof, bytes32 leaf_) external pure returns (bytes32) {
        return MerkleProof.processProof(proof, leaf_);
    }

    /// @notice `verifyCalldata` over many (proof, root, leaf) triples in one call.
    function verifyMany(bytes32[][] calldata proofs, bytes32[] calldata roots, bytes32[] calldata leaves)
        external
        pure
        returns (bool[] memory ok)
    {
        require(proofs.length == roots.length && roots.length == leaves.length, "length mismatch");
        ok = new bool[](roots.length);
        for (uint256 i; i < roots.length; ++i) {
            ok[i] = MerkleProof.verifyCalldata(proofs[i], roots[i], leaves[i]);
        }
    }
}
