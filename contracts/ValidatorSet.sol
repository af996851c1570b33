// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {CompactSignature} from "./Types.sol";
import {IValidatorSet} from "./interfaces/IValidatorSet.sol";

/// @title ValidatorSet
/// @notice Governance-managed validators and quorum k. `verifyQuorum` is the only quorum check in
/// proofpath: the registry (enclave approval) and the settlement (attest, reject) both call it with
/// their own EIP-712 digests, so a signature for one contract or chain never counts for another.
/// @dev Rewards: each finalized fee's validator share is split equally among the validators of the
/// moment (an accumulator, O(1) per accrual); dust below one wei per validator is carried forward.
/// @custom:semver 0.1.0
contract ValidatorSet is IValidatorSet, Ownable2Step {
    using EnumerableSet for EnumerableSet.AddressSet;

    EnumerableSet.AddressSet private _validators;
    uint256 private _quorum;
    address private _settlement;

    uint256 private _rewardPerValidator; // accumulated wei per validator seat
    uint256 private _dust; // accrued but not yet divisible among validators
    mapping(address validator => uint256 debt) private _rewardDebt;
    mapping(address validator => uint256 credited) private _credited;

    constructor(address owner, address[] memory initialValidators, uint256 initialQuorum) Ownable(owner) {
        for (uint256 i; i < initialValidators.length; ++i) {
            _add(initialValidators[i]);
        }
        _setQuorum(initialQuorum);
    }

    function version() external pure returns (string memory) {
        return "0.1.0";
    }

    // ------------------------------------------------------------------ quorum

    /// @inheritdoc IValidatorSet
    function verifyQuorum(bytes32 digest, CompactSignature[] calldata sigs)
        external
        view
        returns (address[] memory signers)
    {
        uint256 n = sigs.length;
        uint256 k = _quorum;
        if (n < k) revert ValidatorQuorumNotReached(n, k);
        signers = new address[](n);
        address prev;
        for (uint256 i; i < n; ++i) {
            // tryRecover rejects high-s (malleable) and malformed signatures.
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, sigs[i].r, sigs[i].vs);
            if (err != ECDSA.RecoverError.NoError) revert ValidatorInvalidSignature(i);
            if (signer <= prev) revert ValidatorSignersNotAscending(i, signer);
            if (!_validators.contains(signer)) revert ValidatorUnknownSigner(i, signer);
            signers[i] = signer;
            prev = signer;
        }
    }

    function isValidator(address account) external view returns (bool) {
        return _validators.contains(account);
    }

    function quorum() external view returns (uint256) {
        return _quorum;
    }

    function validatorCount() external view returns (uint256) {
        return _validators.length();
    }

    function validators() external view returns (address[] memory) {
        return _validators.values();
    }

    // ------------------------------------------------------------------ governance

    function addValidator(address validator) external onlyOwner {
        _add(validator);
    }

    /// @notice Removes a validator; what it earned so far stays claimable.
    function removeValidator(address validator) external onlyOwner {
        if (!_validators.contains(validator)) revert ValidatorNotFound(validator);
        _credited[validator] += _rewardPerValidator - _rewardDebt[validator];
        _validators.remove(validator);
        uint256 n = _validators.length();
        if (_quorum > n) revert ValidatorInvalidQuorum(_quorum, n);
        emit ValidatorRemoved(validator);
    }

    function setQuorum(uint256 newQuorum) external onlyOwner {
        _setQuorum(newQuorum);
    }

    /// @notice Sets, once, the settlement contract allowed to accrue and pay rewards.
    function setSettlement(address settlement_) external onlyOwner {
        if (settlement_ == address(0)) revert ValidatorZeroAddress();
        if (_settlement != address(0)) revert ValidatorSettlementAlreadySet(_settlement);
        _settlement = settlement_;
        emit SettlementSet(settlement_);
    }

    function settlement() external view returns (address) {
        return _settlement;
    }

    // ------------------------------------------------------------------ rewards

    /// @inheritdoc IValidatorSet
    function rewardsOwed(address validator) public view returns (uint256) {
        uint256 owed = _credited[validator];
        if (_validators.contains(validator)) owed += _rewardPerValidator - _rewardDebt[validator];
        return owed;
    }

    /// @notice Accrued validator share that is not yet divisible among validators (under one wei each).
    function rewardDust() external view returns (uint256) {
        return _dust;
    }

    /// @inheritdoc IValidatorSet
    function accrueRewards(uint256 amount) external returns (uint256 allocated) {
        if (msg.sender != _settlement) revert ValidatorOnlySettlement(msg.sender);
        uint256 n = _validators.length();
        uint256 pool = amount + _dust;
        uint256 perValidator = pool / n; // n >= quorum >= 1
        _dust = pool - perValidator * n;
        _rewardPerValidator += perValidator;
        emit RewardsAccrued(amount, n, perValidator);
        return amount; // all of it is owed to validators, as shares or as carried dust
    }

    /// @inheritdoc IValidatorSet
    function takeRewards(address validator) external returns (uint256 amount) {
        if (msg.sender != _settlement) revert ValidatorOnlySettlement(msg.sender);
        amount = rewardsOwed(validator);
        _credited[validator] = 0;
        _rewardDebt[validator] = _rewardPerValidator;
        emit RewardsTaken(validator, amount);
    }

    // ------------------------------------------------------------------ internals

    function _add(address validator) private {
        if (validator == address(0)) revert ValidatorZeroAddress();
        if (!_validators.add(validator)) revert ValidatorAlreadyAdded(validator);
        _rewardDebt[validator] = _rewardPerValidator; // earns only from now on
        emit ValidatorAdded(validator);
    }

    function _setQuorum(uint256 newQuorum) private {
        uint256 n = _validators.length();
        if (newQuorum == 0 || newQuorum > n) revert ValidatorInvalidQuorum(newQuorum, n);
        _quorum = newQuorum;
        emit QuorumChanged(newQuorum);
    }
}
