// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {CompactSignature} from "../Types.sol";

/// @title IValidatorSet
/// @notice Staked validators, the quorum k (always a strict majority of the active set), and the one
/// quorum check every contract uses. Validators are admitted by governance and bond OPG to take part;
/// their stake leaves only after an exit delay at least as long as the challenge window, and is slashed
/// for contradicting verdicts or for attesting a batch later proven equivocating.
/// @dev Declares every external function of ValidatorSet except the ownership functions it inherits from
/// OpenZeppelin's `Ownable2Step` (`owner`, `pendingOwner`, `transferOwnership`, `acceptOwnership`,
/// `renounceOwnership`): declaring them here as well would make ValidatorSet override each one.
interface IValidatorSet {
    /// @notice Where a validator stands. Admitted: governance let it in, not yet staked. Active: staked
    /// at least `minStake` and counted in quorums. Exiting: out of the set, stake locked until `unlockAt`.
    /// Banned: its whole stake was slashed (contradicting verdicts, or an attester slash of 100 %); never
    /// admitted again.
    enum ValidatorStatus {
        None,
        Admitted,
        Active,
        Exiting,
        Banned
    }

    /// @notice The record of one validator.
    struct Validator {
        ValidatorStatus status;
        uint64 unlockAt; // when an Exiting validator can take its stake
        uint128 stake; // OPG bonded
    }

    /// @notice Thrown when the zero address is used where an address is required.
    error ValidatorZeroAddress();
    /// @notice Thrown when a validator is not in the status a call needs.
    /// @param validator the validator
    /// @param status its status
    error ValidatorInvalidStatus(address validator, ValidatorStatus status);
    /// @notice Thrown when a stake would stay below the minimum.
    /// @param stake the stake it would have
    /// @param minStake the minimum
    error ValidatorStakeTooLow(uint256 stake, uint256 minStake);
    /// @notice Thrown when a stake is taken before its exit delay has passed.
    /// @param validator the validator
    /// @param unlockAt unix seconds from which the stake can be taken
    error ValidatorStakeLocked(address validator, uint64 unlockAt);
    /// @notice Thrown when fewer than k signatures are given.
    /// @param signatures the number given
    /// @param quorum the number needed
    error ValidatorQuorumNotReached(uint256 signatures, uint256 quorum);
    /// @notice Thrown when signers are not strictly ascending (this also rules out duplicates).
    /// @param index the signature out of order
    /// @param signer its signer
    error ValidatorSignersNotAscending(uint256 index, address signer);
    /// @notice Thrown when a signature does not recover to an active validator.
    /// @param index the signature
    /// @param signer its signer
    error ValidatorUnknownSigner(uint256 index, address signer);
    /// @notice Thrown when a signature is malformed or malleable (high-s).
    /// @param index the signature
    error ValidatorInvalidSignature(uint256 index);
    /// @notice Thrown when a caller other than the settlement contract calls a settlement-only function.
    /// @param caller the caller
    error ValidatorOnlySettlement(address caller);
    /// @notice Thrown on a parameter outside its hard bounds.
    /// @param name the parameter
    /// @param value the value refused
    error ValidatorInvalidParam(bytes32 name, uint256 value);
    /// @notice Thrown when the token moved a different amount than asked (fee-on-transfer tokens are rejected).
    /// @param expected the amount asked
    /// @param received the amount that arrived
    error ValidatorTransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice Thrown when a slashing proof is revealed without an earlier commitment by the caller.
    /// @param commitment the commitment the reveal hashes to
    error ValidatorNotCommitted(bytes32 commitment);
    /// @notice Thrown when two verdicts given as contradicting are not: different signers, or different
    /// headers at the indexes given.
    error ValidatorNotContradicting();

    /// @notice Governance admitted `validator`; it becomes Active once it stakes `minStake`.
    /// @param validator the validator
    event ValidatorAdmitted(address indexed validator);
    /// @notice `validator` entered the active set with `stake`.
    /// @param validator the validator
    /// @param stake its stake
    event ValidatorJoined(address indexed validator, uint256 stake);
    /// @notice `from` staked `amount` OPG for `validator`.
    /// @param validator the validator
    /// @param from who paid
    /// @param amount OPG added
    /// @param stake the whole stake now
    event StakeAdded(address indexed validator, address indexed from, uint256 amount, uint256 stake);
    /// @notice `validator` left the active set; its stake unlocks at `unlockAt`.
    /// @param validator the validator
    /// @param unlockAt unix seconds from which the stake can be taken
    event ValidatorExiting(address indexed validator, uint64 unlockAt);
    /// @notice `validator` took its stake; its record is gone.
    /// @param validator the validator
    /// @param to who received the stake
    /// @param amount OPG paid
    event StakeWithdrawn(address indexed validator, address indexed to, uint256 amount);
    /// @notice Governance withdrew the admission of a validator that never staked.
    /// @param validator the validator
    event ValidatorDismissed(address indexed validator);
    /// @notice `amount` of `validator`'s stake was slashed: `reward` to `prover`, the rest to the treasury.
    /// @param validator the validator
    /// @param prover who proved the fault (for an attester slash, the equivocation's challenger)
    /// @param amount the OPG taken
    /// @param reward the part of it paid to `prover`
    /// @param banned true when the whole stake was taken and the validator is banned
    event ValidatorSlashed(address indexed validator, address indexed prover, uint256 amount, uint256 reward, bool banned);
    /// @notice `committer` committed to a slashing proof, to reveal in a later block.
    /// @param commitment the hash committed to
    /// @param committer the caller
    event SlashCommitted(bytes32 indexed commitment, address indexed committer);
    /// @notice Governance set the configured k.
    /// @param quorum the new k (a strict majority of the active set applies when larger)
    event QuorumChanged(uint256 quorum);
    /// @notice Governance set the stake parameters.
    /// @param minStake smallest stake of an active validator
    /// @param exitDelay seconds a leaving validator's stake stays locked
    /// @param proverRewardBps share of a slashed stake paid to the prover
    event StakeParamsChanged(uint256 minStake, uint64 exitDelay, uint16 proverRewardBps);

    // ------------------------------------------------------------------ constants and wiring

    /// @notice Hard bound: a prover's reward is at most 10 % of a slashed stake.
    /// @return the bound in basis points
    function MAX_PROVER_REWARD_BPS() external view returns (uint16);
    /// @notice Hard bound: a stake stays locked at least one hour after its validator leaves.
    /// @return the bound in seconds
    function MIN_EXIT_DELAY() external view returns (uint64);
    /// @notice The OPG token validators stake.
    /// @return the token
    function TOKEN() external view returns (IERC20);
    /// @notice The settlement contract this set serves (fixed at deployment).
    /// @return the ProofSettlement's address
    function SETTLEMENT() external view returns (address);
    /// @notice Semantic version of this deployment.
    /// @return the version, e.g. "0.2.0"
    function version() external pure returns (string memory);

    // ------------------------------------------------------------------ quorum

    /// @notice Reverts unless `sigs` are at least `quorum()` valid low-s signatures of distinct active
    /// validators over `digest`, signers strictly ascending. The only quorum check in proofpath.
    /// @param digest the EIP-712 digest signed
    /// @param sigs compact signatures, ascending by signer
    /// @return signers the recovered signers, ascending
    function verifyQuorum(bytes32 digest, CompactSignature[] calldata sigs)
        external
        view
        returns (address[] memory signers);
    /// @notice Signatures a quorum needs now: the configured k, and never fewer than a strict majority.
    /// @return k the number of signatures
    function quorum() external view returns (uint256 k);
    /// @notice Whether `account` is in the active set (counted in quorums).
    /// @param account the address asked about
    /// @return true when Active
    function isValidator(address account) external view returns (bool);
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
    /// @notice All parameters at once.
    /// @return configuredQuorum the k governance set (see `quorum()` for the one in force)
    /// @return minStake smallest stake of an active validator
    /// @return exitDelay_ seconds a leaving validator's stake stays locked
    /// @return proverRewardBps share of a slashed stake paid to the prover
    function params()
        external
        view
        returns (uint256 configuredQuorum, uint128 minStake, uint64 exitDelay_, uint16 proverRewardBps);

    // ------------------------------------------------------------------ validators

    /// @notice Stakes `amount` OPG (pulled from the caller) for `account`: an Admitted validator joins
    /// the active set with it (the stake must reach `minStake` in this call); an Active one adds to its
    /// stake (which must still be at least `minStake` afterwards).
    /// @param account the validator staked for
    /// @param amount OPG pulled from the caller
    function stake(address account, uint256 amount) external;
    /// @notice An active validator leaves the set now; its stake unlocks after `exitDelay`.
    function requestExit() external;
    /// @notice A validator that left takes its stake once unlocked; governance must admit it again to return.
    /// @param to receives the stake
    function withdrawStake(address to) external;

    // ------------------------------------------------------------------ slashing

    /// @notice First step of a slashing proof: commits to `keccak256(abi.encode(prover, validator,
    /// headerHash, salt))`. The proof is revealed in a later block, so copying it earns nothing.
    /// @param commitment the hash committed to
    function commitSlash(bytes32 commitment) external;
    /// @notice Proves that one validator signed an attest verdict and a reject verdict that both cover
    /// the same header: its whole stake is slashed (the caller, who committed first, gets
    /// `proverRewardBps`, the treasury the rest) and it is banned for good.
    /// @param attestHashes header hashes of the attest verdict
    /// @param attestSig the validator's signature over the attest verdict
    /// @param rejectHashes header hashes of the reject verdict
    /// @param rejectSig the validator's signature over the reject verdict
    /// @param i index of the shared header in `attestHashes`
    /// @param j index of the shared header in `rejectHashes`
    /// @param salt the salt of the caller's commitment
    /// @return slashed the OPG taken
    function slashContradiction(
        bytes32[] calldata attestHashes,
        CompactSignature calldata attestSig,
        bytes32[] calldata rejectHashes,
        CompactSignature calldata rejectSig,
        uint256 i,
        uint256 j,
        bytes32 salt
    ) external returns (uint256 slashed);
    /// @notice Settlement-only: slashes `bps` of each of `validators`' stakes (those that attested a batch
    /// proven equivocating; one already banned or gone is skipped); `rewardTo` gets the reward share, the
    /// treasury the rest.
    /// @param validators the attesting quorum, as recorded by the settlement
    /// @param bps share of each stake taken
    /// @param rewardTo who proved the equivocation
    /// @return total the OPG taken
    function slashAttesters(address[] calldata validators, uint16 bps, address rewardTo) external returns (uint256 total);

    // ------------------------------------------------------------------ governance (owner)

    /// @notice Admits `account`; it joins the active set once it stakes.
    /// @param account the validator admitted
    function addValidator(address account) external;
    /// @notice Removes a validator: an active one leaves the set now and its stake unlocks after
    /// `exitDelay`; an admitted one that never staked is forgotten.
    /// @param account the validator removed
    function removeValidator(address account) external;
    /// @notice Sets the configured k (the quorum is never below a strict majority of the active set).
    /// @param newQuorum at least 1
    function setQuorum(uint256 newQuorum) external;
    /// @notice Sets the stake parameters.
    /// @param minStake smallest stake of an active validator (> 0)
    /// @param exitDelay_ at least `MIN_EXIT_DELAY` and the settlement's challenge window
    /// @param proverRewardBps at most `MAX_PROVER_REWARD_BPS`
    function setStakeParams(uint128 minStake, uint64 exitDelay_, uint16 proverRewardBps) external;
}
