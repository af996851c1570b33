// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BatchStatus} from "../Types.sol";

/// @title BatchSlot
/// @notice The one storage slot a batch costs: the top 160 bits of its header hash, the id of the
/// attestation that attested it (uint48, 0 before), a time (uint40 seconds: of submission, then of
/// attestation, which starts the challenge window; finalizing or rejecting keeps it) and its status
/// (uint8). A header passed back later is accepted only if its hash matches the stored 160 bits (a
/// second header with the same prefix takes 2^160 work, as much as a second key for an Ethereum address).
/// @dev Bits: 255..96 header hash prefix, 95..48 attestation id, 47..8 time, 7..0 status. The readers'
/// narrowing casts cut out their bit field on purpose.
library BatchSlot {
    uint256 private constant _HASH_MASK = ~uint256(type(uint96).max);

    /// @notice The slot of a batch submitted at `time`: status `st`, no attestation.
    function pack(bytes32 headerHash, uint40 time, BatchStatus st) internal pure returns (bytes32) {
        return bytes32((uint256(headerHash) & _HASH_MASK) | (uint256(time) << 8) | uint256(st));
    }

    /// @notice The slot once attestation `id` attested it at `time`: status Attested.
    function attested(bytes32 slot, uint48 id, uint40 time) internal pure returns (bytes32) {
        return bytes32(
            (uint256(slot) & _HASH_MASK) | (uint256(id) << 48) | (uint256(time) << 8) | uint256(BatchStatus.Attested)
        );
    }

    function withStatus(bytes32 slot, BatchStatus st) internal pure returns (bytes32) {
        return bytes32((uint256(slot) & ~uint256(0xff)) | uint256(st));
    }

    /// @notice The batch's status.
    function status(bytes32 slot) internal pure returns (BatchStatus) {
        return BatchStatus(uint8(uint256(slot))); // bits 0..7
    }

    /// @notice When the batch was submitted, or, once attested, when it was attested.
    function since(bytes32 slot) internal pure returns (uint64) {
        return uint64(uint40(uint256(slot) >> 8)); // bits 8..47
    }

    /// @notice The attestation that attested the batch (0 before).
    function attestationId(bytes32 slot) internal pure returns (uint48) {
        return uint48(uint256(slot) >> 48); // bits 48..95
    }

    function hashPrefix(bytes32 slot) internal pure returns (bytes32) {
        return bytes32(uint256(slot) & _HASH_MASK);
    }

    function matches(bytes32 slot, bytes32 headerHash) internal pure returns (bool) {
        return slot != 0 && hashPrefix(slot) == bytes32(uint256(headerHash) & _HASH_MASK);
    }
}
