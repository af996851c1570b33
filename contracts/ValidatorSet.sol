// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {CompactSignature} from "./Types.sol";
import {IValidatorSet} from "./interfaces/IValidatorSet.sol";
import {IProofSettlement} from "./interfaces/IProofSettlement.sol";

/// @title ValidatorSet
/// @notice Staked validators and the quorum check. Governance admits a validator; it (or anyone for it)
/// stakes at least `minStake` to join the active set; it leaves by `requestExit`, and its stake stays
/// locked and slashable for `exitDelay`, which is never shorter than the settlement's challenge window.
/// A quorum is the configured k but never less than a strict majority of the active set, so two
/// disjoint quorums cannot exist. Anyone proves a validator signed an attest and a reject verdict for
/// the same header (commit, then reveal in a later block, so the proof cannot be copied from the
/// mempool): its whole stake is slashed and it is banned.
/// @custom:semver 0.2.0
contract ValidatorSet is IValidatorSet, Ownable2Step, ReentrancyGuardTransient {
    using EnumerableSet for EnumerableSet.AddressSet;
    using SafeERC20 for IERC20;

    uint16 private constant _BPS = 10_000;
    /// @inheritdoc IValidatorSet
    uint16 public constant MAX_PROVER_REWARD_BPS = 1_000;
    /// @inheritdoc IValidatorSet
    uint64 public constant MIN_EXIT_DELAY = 1 hours;
    uint8 private constant _VERDICT_ATTEST = 1;
    uint8 private constant _VERDICT_REJECT = 2;

    /// @inheritdoc IValidatorSet
    IERC20 public immutable TOKEN;
    /// @inheritdoc IValidatorSet
    address public immutable SETTLEMENT;

    EnumerableSet.AddressSet private _active;
    mapping(address account => Validator record) private _validators;
    mapping(bytes32 commitment => uint256 blockNumber) private _commits;
    uint256 private _quorum;
    uint128 private _minStake;
    uint64 private _exitDelay;
    uint16 private _proverRewardBps;

    /// @param token the OPG token validators stake
    /// @param settlement the ProofSettlement this set serves (its address is known before it is deployed)
    /// @param owner governance (a TimelockController in production)
    /// @param admitted validators admitted at launch (they still have to stake)
    /// @param quorum_ the configured k (a strict majority applies when larger)
    /// @param minStake smallest stake of an active validator
    /// @param exitDelay_ seconds a leaving validator's stake stays locked
    /// @param proverRewardBps share of a slashed stake paid to whoever proved the fault
    constructor(
        IERC20 token,
        address settlement,
        address owner,
        address[] memory admitted,
        uint256 quorum_,
        uint128 minStake,
        uint64 exitDelay_,
        uint16 proverRewardBps
    ) Ownable(owner) {
        if (address(token) == address(0) || settlement == address(0)) revert ValidatorZeroAddress();
        TOKEN = token;
        SETTLEMENT = settlement;
        for (uint256 i; i < admitted.length; ++i) {
            _admit(admitted[i]);
        }
        _setQuorum(quorum_);
        _setStakeParams(minStake, exitDelay_, proverRewardBps);
    }

    /// @inheritdoc IValidatorSet
    function version() external pure returns (string memory) {
        return "0.2.0";
    }

    // ------------------------------------------------------------------ quorum

    /// @inheritdoc IValidatorSet
    function verifyQuorum(bytes32 digest, CompactSignature[] calldata sigs)
        external
        view
        returns (address[] memory signers)
    {
        uint256 n = sigs.length;
        uint256 k = quorum();
        if (n < k) revert ValidatorQuorumNotReached(n, k);
        signers = new address[](n);
        address prev;
        for (uint256 i; i < n; ++i) {
            // tryRecover rejects high-s (malleable) and malformed signatures.
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, sigs[i].r, sigs[i].vs);
            if (err != ECDSA.RecoverError.NoError) revert ValidatorInvalidSignature(i);
            if (signer <= prev) revert ValidatorSignersNotAscending(i, signer);
            if (!_active.contains(signer)) revert ValidatorUnknownSigner(i, signer);
            signers[i] = signer;
            prev = signer;
        }
    }

    /// @inheritdoc IValidatorSet
    function quorum() public view returns (uint256 k) {
        uint256 majority = _active.length() / 2 + 1;
        return _quorum > majority ? _quorum : majority;
    }

    /// @inheritdoc IValidatorSet
    function isValidator(address account) external view returns (bool) {
        return _active.contains(account);
    }

    /// @inheritdoc IValidatorSet
    function validatorCount() external view returns (uint256 n) {
        return _active.length();
    }

    /// @inheritdoc IValidatorSet
    function validators() external view returns (address[] memory list) {
        return _active.values();
    }

    /// @inheritdoc IValidatorSet
    function validator(address account) external view returns (Validator memory v) {
        return _validators[account];
    }

    /// @inheritdoc IValidatorSet
    function exitDelay() external view returns (uint64) {
        return _exitDelay;
    }

    /// @inheritdoc IValidatorSet
    function params()
        external
        view
        returns (uint256 configuredQuorum, uint128 minStake, uint64 exitDelay_, uint16 proverRewardBps)
    {
        return (_quorum, _minStake, _exitDelay, _proverRewardBps);
    }

    // ------------------------------------------------------------------ validators

    /// @inheritdoc IValidatorSet
    function stake(address account, uint256 amount) external nonReentrant {
        Validator storage v = _validators[account];
        ValidatorStatus st = v.status;
        if (st != ValidatorStatus.Admitted && st != ValidatorStatus.Active) revert ValidatorInvalidStatus(account, st);
        uint256 total = uint256(v.stake) + amount;
        if (total < _minStake) revert ValidatorStakeTooLow(total, _minStake);
        v.stake = SafeCast.toUint128(total);
        emit StakeAdded(account, msg.sender, amount, total);
        if (st == ValidatorStatus.Admitted) {
            v.status = ValidatorStatus.Active;
            _active.add(account);
            emit ValidatorJoined(account, total);
        }
        _pull(amount);
    }

    /// @inheritdoc IValidatorSet
    function requestExit() external {
        Validator storage v = _validators[msg.sender];
        if (v.status != ValidatorStatus.Active) revert ValidatorInvalidStatus(msg.sender, v.status);
        _exit(msg.sender, v);
    }

    /// @inheritdoc IValidatorSet
    function withdrawStake(address to) external nonReentrant {
        if (to == address(0)) revert ValidatorZeroAddress();
        Validator storage v = _validators[msg.sender];
        if (v.status != ValidatorStatus.Exiting) revert ValidatorInvalidStatus(msg.sender, v.status);
        if (block.timestamp < v.unlockAt) revert ValidatorStakeLocked(msg.sender, v.unlockAt);
        uint256 amount = v.stake;
        delete _validators[msg.sender];
        emit StakeWithdrawn(msg.sender, to, amount);
        if (amount != 0) TOKEN.safeTransfer(to, amount);
    }

    // ------------------------------------------------------------------ slashing

    /// @inheritdoc IValidatorSet
    function commitSlash(bytes32 commitment) external {
        if (_commits[commitment] == 0) _commits[commitment] = block.number;
        emit SlashCommitted(commitment, msg.sender);
    }

    /// @inheritdoc IValidatorSet
    function slashContradiction(
        bytes32[] calldata attestHashes,
        CompactSignature calldata attestSig,
        bytes32[] calldata rejectHashes,
        CompactSignature calldata rejectSig,
        uint256 i,
        uint256 j,
        bytes32 salt
    ) external nonReentrant returns (uint256 slashed) {
        IProofSettlement settlement = IProofSettlement(SETTLEMENT);
        address signer =
            ECDSA.recover(settlement.verdictDigest(_VERDICT_ATTEST, attestHashes), attestSig.r, attestSig.vs);
        address other =
            ECDSA.recover(settlement.verdictDigest(_VERDICT_REJECT, rejectHashes), rejectSig.r, rejectSig.vs);
        if (signer != other || attestHashes[i] != rejectHashes[j]) revert ValidatorNotContradicting();
        _useCommitment(keccak256(abi.encode(msg.sender, signer, attestHashes[i], salt)));
        Validator storage v = _validators[signer];
        if (v.status != ValidatorStatus.Active && v.status != ValidatorStatus.Exiting) {
            revert ValidatorInvalidStatus(signer, v.status);
        }
        slashed = _slash(signer, v, _BPS, msg.sender);
    }

    /// @inheritdoc IValidatorSet
    function slashAttesters(address[] calldata attesters, uint16 bps, address rewardTo)
        external
        nonReentrant
        returns (uint256 total)
    {
        if (msg.sender != SETTLEMENT) revert ValidatorOnlySettlement(msg.sender);
        for (uint256 i; i < attesters.length; ++i) {
            Validator storage v = _validators[attesters[i]];
            // An attester already banned or gone has nothing left here.
            if (v.status == ValidatorStatus.Active || v.status == ValidatorStatus.Exiting) {
                total += _slash(attesters[i], v, bps, rewardTo);
            }
        }
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IValidatorSet
    function addValidator(address account) external onlyOwner {
        _admit(account);
    }

    /// @inheritdoc IValidatorSet
    function removeValidator(address account) external onlyOwner {
        Validator storage v = _validators[account];
        if (v.status == ValidatorStatus.Active) _exit(account, v);
        else if (v.status == ValidatorStatus.Admitted) {
            delete _validators[account];
            emit ValidatorDismissed(account);
        }
        else revert ValidatorInvalidStatus(account, v.status);
    }

    /// @inheritdoc IValidatorSet
    function setQuorum(uint256 newQuorum) external onlyOwner {
        _setQuorum(newQuorum);
    }

    /// @inheritdoc IValidatorSet
    function setStakeParams(uint128 minStake, uint64 exitDelay_, uint16 proverRewardBps) external onlyOwner {
        _setStakeParams(minStake, exitDelay_, proverRewardBps);
    }

    // ------------------------------------------------------------------ internals

    function _admit(address account) private {
        if (account == address(0)) revert ValidatorZeroAddress();
        Validator storage v = _validators[account];
        if (v.status != ValidatorStatus.None) revert ValidatorInvalidStatus(account, v.status);
        v.status = ValidatorStatus.Admitted;
        emit ValidatorAdmitted(account);
    }

    function _exit(address account, Validator storage v) private {
        _active.remove(account);
        v.status = ValidatorStatus.Exiting;
        uint64 unlockAt = SafeCast.toUint64(block.timestamp) + _exitDelay;
        v.unlockAt = unlockAt;
        emit ValidatorExiting(account, unlockAt);
    }

    /// @dev Takes `bps` of the stake: the reward to `prover`, the rest to the settlement's treasury. A full
    /// slash bans; a stake left below the minimum makes an active validator leave.
    function _slash(address account, Validator storage v, uint256 bps, address prover) private returns (uint256 amount) {
        amount = (uint256(v.stake) * bps) / _BPS;
        v.stake -= SafeCast.toUint128(amount);
        bool banned = bps == _BPS;
        if (banned) {
            _active.remove(account);
            v.status = ValidatorStatus.Banned;
            v.stake = 0;
        } else if (v.status == ValidatorStatus.Active && v.stake < _minStake) {
            _exit(account, v);
        }
        uint256 reward = (amount * _proverRewardBps) / _BPS;
        emit ValidatorSlashed(account, prover, amount, reward, banned);
        if (reward != 0) TOKEN.safeTransfer(prover, reward);
        if (amount - reward != 0) TOKEN.safeTransfer(IProofSettlement(SETTLEMENT).treasury(), amount - reward);
    }

    function _useCommitment(bytes32 commitment) private {
        uint256 at = _commits[commitment];
        if (at == 0 || at >= block.number) revert ValidatorNotCommitted(commitment);
        delete _commits[commitment];
    }

    function _pull(uint256 amount) private {
        if (amount == 0) return;
        uint256 before = TOKEN.balanceOf(address(this));
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = TOKEN.balanceOf(address(this)) - before;
        if (received != amount) revert ValidatorTransferAmountMismatch(amount, received);
    }

    function _setQuorum(uint256 newQuorum) private {
        if (newQuorum == 0) revert ValidatorInvalidParam("quorum", newQuorum);
        _quorum = newQuorum;
        emit QuorumChanged(newQuorum);
    }

    function _setStakeParams(uint128 minStake, uint64 exitDelay_, uint16 proverRewardBps) private {
        if (minStake == 0) revert ValidatorInvalidParam("minStake", minStake);
        if (exitDelay_ < MIN_EXIT_DELAY) revert ValidatorInvalidParam("exitDelay", exitDelay_);
        // Once the settlement exists, a stake must stay slashable for a whole challenge window.
        if (SETTLEMENT.code.length != 0 && exitDelay_ < IProofSettlement(SETTLEMENT).challengeWindow()) {
            revert ValidatorInvalidParam("exitDelay", exitDelay_);
        }
        if (proverRewardBps > MAX_PROVER_REWARD_BPS) revert ValidatorInvalidParam("proverRewardBps", proverRewardBps);
        (_minStake, _exitDelay, _proverRewardBps) = (minStake, exitDelay_, proverRewardBps);
        emit StakeParamsChanged(minStake, exitDelay_, proverRewardBps);
    }
}
