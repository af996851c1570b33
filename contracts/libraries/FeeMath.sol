// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FeeRate, ModelUsage} from "../Types.sol";

/// @title FeeMath
/// @notice The fee schedule applied to one usage entry. Each term is rounded down; with the widths of
/// FeeRate and ModelUsage no term can overflow uint256.
library FeeMath {
    function entryFee(FeeRate memory rate, ModelUsage calldata u) internal pure returns (uint256) {
        return entryFee(rate.perCall, rate.perKiloInputToken, rate.perKiloOutputToken, u);
    }

    function entryFee(uint256 perCall, uint256 perKiloInputToken, uint256 perKiloOutputToken, ModelUsage calldata u)
        internal
        pure
        returns (uint256)
    {
        // Widths: calls < 2^32, tokens < 2^64, rates < 2^64, so no product or sum can overflow.
        unchecked {
            return uint256(u.calls) * perCall + (uint256(u.inputTokens) * perKiloInputToken) / 1000
                + (uint256(u.outputTokens) * perKiloOutputToken) / 1000;
        }
    }
}
