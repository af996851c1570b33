// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CompactSignature} from "../Types.sol";

/// @title IValidatorSet
/// @notice Staked validators, the quorum k (always a strict majority of the active set), and the one
/// quorum check every contract uses. Validators are admitted by governance and bond OPG to take part;
/// their stake leaves only after an exit delay longer than any challenge window, and is slashed for
/// contradicting verdicts or for attesting a batch later proven equivocating.
interface IValidatorSet {
    /// @notice Where a validator stands. Admitted: governance let it in, not yet staked. Active: staked
    /// at least `minStake` and counted in quorums. Exiting: out of the set, stake locked until `unlockAt`.
    /// Banned: slashed for contradicting verdicts; never admitted again.
    enum ValidatorStatus {
        None,
        Admitted,
        Active,
        Exiting,
        Banned
    }

    struct Validator {
        ValidatorStatus status;
        uint64 unlockAt; // when an Exiting validator can take its stake
        uint128 stake; // OPG bonded
    }

    /// @notice Thrown when the zero address is used where an address is required.
    error ValidatorZeroAddress();
    /// @notice Thrown when a validator is not in the status a call needs.
    error ValidatorInvalidStatus(address validator, ValidatorStatus status);
    /// @notice Thrown when a stake would stay below the minimum.
    error ValidatorStakeTooLow(uint256 stake, uint256 minStake);
    /// @notice Thrown when a stake is taken before its exit delay has passed.
    error ValidatorStakeLocked(address validator, uint64 unlockAt);
    /// @notice Thrown when fewer than k signatures are given.
    error ValidatorQuorumNotReached(uint256 signatures, uint256 quorum);
    /// @notice Thrown when signers are not strictly ascending (this also rules out duplicates).
    error ValidatorSignersNotAscending(uint256 index, address signer);
    /// @notice Thrown when a signature does not recover to an active validator.
    error ValidatorUnknownSigner(uint256 index, address signer);
    /// @notice Thrown when a signature is malformed or malleable (high-s).
    error ValidatorInvalidSignature(uint256 index);
    /// @notice Thrown when a caller other than the settlement contract calls a settlement-only function.
    error ValidatorOnlySettlement(address caller);
    /// @notice Thrown on a parameter outside its hard bounds.
    error ValidatorInvalidParam(bytes32 name, uint256 value);
    /// @notice Thrown when the token moved a different amount than asked (fee-on-transfer tokens are rejected).
    error ValidatorTransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice Thrown when a slashing proof is revealed without an earlier commitment by the caller.
    error ValidatorNotCommitted(bytes32 commitment);
    /// @notice Thrown when two verdicts given as contradicting are not (different header or same verdict).
    error ValidatorNotContradicting();

    /// @notice Governance admitted `validator`; it becomes Active once it stakes `minStake`.
    event ValidatorAdmitted(address indexed validator);
    /// @notice `validator` entered the active set with `stake`.
    event ValidatorJoined(address indexed validator, uint256 stake);
    event StakeAdded(address indexed validator, address indexed from, uint256 amount, uint256 stake);
    /// @notice `validator` left the active set; its stake unlocks at `unlockAt`.
    event ValidatorExiting(address indexed validator, uint64 unlockAt);
    event StakeWithdrawn(address indexed validator, address indexed to, uint256 amount);
    /// @notice Governance withdrew the admission of a validator that never staked.
    event ValidatorDismissed(address indexed validator);
    /// @notice `amount` of `validator`'s stake was slashed: `reward` to `prover`, the rest to the treasury.
    event ValidatorSlashed(address indexed validator, address indexed prover, uint256 amount, uint256 reward, bool banned);
    event SlashCommitted(bytes32 indexed commitment, address indexed committer);
    event QuorumChanged(uint256 quorum);
    event StakeParamsChanged(uint256 minStake, uint64 exitDelay, uint16 proverRewardBps);

    /// @notice Reverts unless `sigs` are at least `quorum()` valid low-s signatures of distinct active
    /// validators over `digest`, signers strictly ascending. The only quorum check in proofpath.
    /// @param digest the EIP-712 digest signed
    /// @param sigs compact signatures, ascending by signer
    /// @return signers the recovered signers, ascending
    function verifyQuorum(bytes32 digest, CompactSignature[] calldata sigs)
        external
        view
        returns (address[] memory signers);

    /// @notice Settlement-only: slashes `bps` of each of `validators`' stakes (those that attested a batch
    /// proven equivocating); `rewardTo` gets the reward share, the treasury the rest.
    /// @param validators the attesting quorum, as recorded by the settlement
    /// @param bps share of each stake taken
    /// @param rewardTo who proved the equivocation
    /// @return total the OPG taken
    function slashAttesters(address[] calldata validators, uint16 bps, address rewardTo) external returns (uint256 total);

    /// @notice The settlement contract this set serves (fixed at deployment).
    function SETTLEMENT() external view returns (address);
    /// @notice Whether `account` is in the active set (counted in quorums).
    /// @param account the address asked about
    /// @return true when Active
    function isValidator(address account) external view returns (bool);
    /// @notice Signatures a quorum needs now: the configured k, and never fewer than a strict majority.
    /// @return k the number of signatures
    function quorum() external view returns (uint256 k);
    /// @notice Size of the active set.
    /// @return n active validators
    function validatorCount() external view returns (uint256 n);
    /// @notice The active set.
    /// @return list the active validators' addresses
    function validators() external view returns (address[] memory list);
    /// @notice The record of `account`.
    /// @param account the address asked about
    /// @return v its status, unlock time and stake
    function validator(address account) external view returns (Validator memory v);
    /// @notice How long a leaving validator's stake stays locked (and slashable).
    /// @return seconds of delay
    function exitDelay() external view returns (uint64);
}
