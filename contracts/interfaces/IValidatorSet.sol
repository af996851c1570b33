// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CompactSignature} from "../Types.sol";

/// @title IValidatorSet
/// @notice The validators, the quorum k, and the one quorum check every contract uses. It also keeps
/// the validators' reward accounting (tokens stay in ProofSettlement, which pays out on claim).
interface IValidatorSet {
    /// @notice Thrown when an address that is already a validator is added again.
    error ValidatorAlreadyAdded(address validator);
    /// @notice Thrown when an address that is not a validator is removed.
    error ValidatorNotFound(address validator);
    /// @notice Thrown when the zero address is used where an address is required.
    error ValidatorZeroAddress();
    /// @notice Thrown when quorum is 0 or larger than the number of validators.
    error ValidatorInvalidQuorum(uint256 quorum, uint256 validators);
    /// @notice Thrown when fewer than k signatures are given.
    error ValidatorQuorumNotReached(uint256 signatures, uint256 quorum);
    /// @notice Thrown when signers are not strictly ascending (this also rules out duplicates).
    error ValidatorSignersNotAscending(uint256 index, address signer);
    /// @notice Thrown when a signature does not recover to a current validator.
    error ValidatorUnknownSigner(uint256 index, address signer);
    /// @notice Thrown when a signature is malformed or malleable (high-s).
    error ValidatorInvalidSignature(uint256 index);
    /// @notice Thrown when a caller other than the settlement contract calls a settlement-only function.
    error ValidatorOnlySettlement(address caller);
    /// @notice Thrown when the settlement address is set twice.
    error ValidatorSettlementAlreadySet(address settlement);

    event ValidatorAdded(address indexed validator);
    event ValidatorRemoved(address indexed validator);
    event QuorumChanged(uint256 quorum);
    event SettlementSet(address indexed settlement);
    event RewardsAccrued(uint256 amount, uint256 validators, uint256 rewardPerValidator);
    event RewardsTaken(address indexed validator, uint256 amount);

    /// @notice Reverts unless `sigs` are at least k valid low-s signatures of distinct current
    /// validators over `digest`, with signers strictly ascending. The only quorum check in proofpath.
    /// @return signers the recovered signers, ascending.
    function verifyQuorum(bytes32 digest, CompactSignature[] calldata sigs)
        external
        view
        returns (address[] memory signers);

    function isValidator(address account) external view returns (bool);
    function quorum() external view returns (uint256);
    function validatorCount() external view returns (uint256);
    function validators() external view returns (address[] memory);

    /// @notice Rewards owed to `validator` and not yet claimed.
    function rewardsOwed(address validator) external view returns (uint256);

    /// @notice Settlement-only: shares `amount` equally among the current validators.
    /// @return allocated the part of `amount` now owed to validators (the rest is carried as dust).
    function accrueRewards(uint256 amount) external returns (uint256 allocated);

    /// @notice Settlement-only: zeroes and returns what `validator` is owed, for payout.
    function takeRewards(address validator) external returns (uint256 amount);
}
