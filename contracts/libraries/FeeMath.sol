// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FeeRate, ModelUsage} from "../Types.sol";

/// @title FeeMath
/// @notice The fee schedule applied to one usage entry. Each term is rounded down; with the widths of
/// FeeRate and ModelUsage no term can overflow uint256.
library FeeMath {
    function entryFee(FeeRate memory rate, ModelUsage calldata u) internal pure returns (uint256) {
        return uint256(u.calls) * rate.perCall + (uint256(u.inputTokens) * rate.perKiloInputToken) / 1000
            + (uint256(u.outputTokens) * rate.perKiloOutputToken) / 1000;
    }
}
