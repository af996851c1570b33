// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BatchStatus} from "../Types.sol";

/// @title BatchSlot
/// @notice The one storage slot a batch costs: the top 192 bits of its header hash, when it was
/// submitted (uint40 seconds) and its status (uint8). A header passed back later is accepted only if
/// its hash matches the stored 192 bits (finding a second header with the same prefix takes 2^192 work).
library BatchSlot {
    uint256 private constant _HASH_MASK = ~uint256(type(uint64).max);

    function pack(bytes32 headerHash, uint256 time, BatchStatus st) internal pure returns (bytes32) {
        return bytes32((uint256(headerHash) & _HASH_MASK) | (uint256(uint40(time)) << 8) | uint256(st));
    }

    function withStatus(bytes32 slot, BatchStatus st) internal pure returns (bytes32) {
        return bytes32((uint256(slot) & ~uint256(0xff)) | uint256(st));
    }

    function status(bytes32 slot) internal pure returns (BatchStatus) {
        return BatchStatus(uint8(uint256(slot)));
    }

    function submittedAt(bytes32 slot) internal pure returns (uint64) {
        return uint64(uint40(uint256(slot) >> 8));
    }

    function hashPrefix(bytes32 slot) internal pure returns (bytes32) {
        return bytes32(uint256(slot) & _HASH_MASK);
    }

    function matches(bytes32 slot, bytes32 headerHash) internal pure returns (bool) {
        return slot != 0 && hashPrefix(slot) == bytes32(uint256(headerHash) & _HASH_MASK);
    }
}
