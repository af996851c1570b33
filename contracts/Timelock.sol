// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title Timelock
/// @notice OpenZeppelin's TimelockController, unchanged, built with the project so deployments have its
/// artifact. `scripts/deploy.ts` makes it the owner of ValidatorSet, GatewayRegistry and
/// ProofSettlement: every governance change is queued on-chain and runs only after `minDelay`, which
/// the deploy script keeps longer than the longest in-flight horizon (withdrawal delay, bond withdrawal
/// delay, challenge window, validator exit delay), so gateways and validators can leave before a change
/// they reject.
contract Timelock is TimelockController {
    /// @param minDelay seconds between scheduling and executing an operation
    /// @param proposers who may schedule (and cancel) operations, e.g. a governance multisig
    /// @param executors who may execute ready operations (address(0): anyone)
    /// @param admin optional admin for role set-up (address(0): none, the timelock administers itself)
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
