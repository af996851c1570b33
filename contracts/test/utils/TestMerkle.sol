// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @title TestMerkle
/// @notice Test-only Merkle tree over leaves in memory: sorted-pair (commutative) keccak, as
/// OpenZeppelin `MerkleProof` verifies. Levels pair neighbours (2j, 2j+1); an odd last node moves up
/// unchanged. The layout is independent of the SDK's: any tree `MerkleProof` accepts will do here.
/// A tree is its levels, `levels[0]` the leaves and `levels[last]` the one-node root level.
library TestMerkle {
    function build(bytes32[] memory leaves) internal pure returns (bytes32[][] memory levels) {
        require(leaves.length != 0, "TestMerkle: no leaves");
        uint256 depth = 1;
        for (uint256 w = leaves.length; w > 1; w = (w + 1) / 2) {
            ++depth;
        }
        levels = new bytes32[][](depth);
        levels[0] = leaves;
        for (uint256 h = 1; h < depth; ++h) {
            levels[h] = _up(levels[h - 1]);
        }
    }

    function root(bytes32[][] memory levels) internal pure returns (bytes32) {
        return levels[levels.length - 1][0];
    }

    /// @notice Sibling path of leaf `index`, bottom-up (levels where the node had no sibling add nothing).
    function proof(bytes32[][] memory levels, uint256 index) internal pure returns (bytes32[] memory path) {
        require(index < levels[0].length, "TestMerkle: index out of range");
        bytes32[] memory buf = new bytes32[](levels.length);
        uint256 len;
        for (uint256 h; h + 1 < levels.length; ++h) {
            uint256 sib = index ^ 1;
            if (sib < levels[h].length) buf[len++] = levels[h][sib];
            index /= 2;
        }
        path = new bytes32[](len);
        for (uint256 i; i < len; ++i) {
            path[i] = buf[i];
        }
    }

    function _up(bytes32[] memory level) private pure returns (bytes32[] memory next) {
        uint256 n = level.length;
        next = new bytes32[]((n + 1) / 2);
        for (uint256 j; j < n / 2; ++j) {
            next[j] = Hashes.commutativeKeccak256(level[2 * j], level[2 * j + 1]);
        }
        if (n % 2 == 1) next[n / 2] = level[n - 1];
    }
}
