// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {CompactSignature} from "./Types.sol";
import {IGatewayRegistry} from "./interfaces/IGatewayRegistry.sol";
import {IProofSettlement} from "./interfaces/IProofSettlement.sol";
import {IValidatorSet} from "./interfaces/IValidatorSet.sol";

/// @title GatewayRegistry
/// @notice Which enclaves may settle. Governance allowlists enclave measurements (keccak of PCR0..2);
/// an operator registers an enclave signing key (the key itself signs the registration, proving the
/// operator holds it) with its measurement, attestation-document hash and an OPG bond; a validator
/// quorum, having verified the attestation document off-chain, approves it (before the approval's
/// deadline) for `heartbeatInterval`. The key expires unless re-attested and re-approved; revoking a
/// measurement disables every key on it. Deactivation, a bond withdrawal request and slashing
/// invalidate every outstanding approval; a slashed key is banned for good. A bond leaves only once
/// every batch of its key is final (Finalized or Rejected), so it is slashable for as long as any
/// batch can be challenged. A quorum-rejected batch costs the key `rejectedSlashBps` of its bond.
/// @dev Key activity is mirrored into ProofSettlement (`syncGateway`) so settlement's hot path reads one
/// slot; a revocation bumps settlement's epoch, which makes each key re-check here once. Slashed and
/// penalized OPG goes to the settlement's treasury (less a slash's challenger reward).
/// @custom:semver 0.2.0
contract GatewayRegistry is IGatewayRegistry, EIP712, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IGatewayRegistry
    bytes32 public constant REGISTRATION_TYPEHASH = keccak256(
        "EnclaveRegistration(address operator,bytes32 measurement,bytes32 attestationHash,bytes32 keyConfigHash)"
    );
    /// @inheritdoc IGatewayRegistry
    bytes32 public constant APPROVAL_TYPEHASH = keccak256(
        "EnclaveApproval(address key,bytes32 measurement,bytes32 attestationHash,bytes32 keyConfigHash,uint64 nonce,uint64 deadline)"
    );
    uint16 private constant _BPS = 10_000;
    /// @inheritdoc IGatewayRegistry
    uint16 public constant MAX_CHALLENGER_REWARD_BPS = 1_000;

    /// @inheritdoc IGatewayRegistry
    IERC20 public immutable TOKEN;
    /// @inheritdoc IGatewayRegistry
    IValidatorSet public immutable VALIDATORS;
    /// @inheritdoc IGatewayRegistry
    IProofSettlement public immutable SETTLEMENT;

    uint128 private _minBond;
    uint64 private _heartbeatInterval;
    uint64 private _bondWithdrawDelay;
    uint16 private _challengerRewardBps;
    uint16 private _rejectedSlashBps;

    mapping(bytes32 measurement => MeasurementStatus status) private _measurements;
    mapping(address key => Enclave enclave) private _enclaves;
    /// @dev Per key: who signs for its account instead, since when, and whether the account is closed.
    /// Set once a key is succeeded, which retires it for good. One slot, read by `signsFor`.
    struct Succession {
        address successor; // 0 = the key itself (not retired)
        uint40 retiredAt; // unix seconds of the first succession
        bool closed; // no batch is ever settled for the account again
    }

    mapping(address key => Succession succession) private _successions;

    /// @param token the OPG token bonds are posted in
    /// @param validatorSet the validators whose quorum approves keys
    /// @param settlement the ProofSettlement (its address is known before it is deployed)
    /// @param owner governance (a TimelockController in production)
    /// @param p bond, heartbeat and penalty parameters
    constructor(IERC20 token, IValidatorSet validatorSet, IProofSettlement settlement, address owner, Params memory p)
        EIP712("proofpath-registry", "1")
        Ownable(owner)
    {
        if (address(token) == address(0) || address(validatorSet) == address(0) || address(settlement) == address(0)) {
            revert RegistryZeroAddress();
        }
        TOKEN = token;
        VALIDATORS = validatorSet;
        SETTLEMENT = settlement;
        _setParams(p);
    }

    /// @inheritdoc IGatewayRegistry
    function version() external pure returns (string memory) {
        return "0.2.0";
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IGatewayRegistry
    function allowMeasurement(bytes32 measurement) external onlyOwner {
        if (_measurements[measurement] != MeasurementStatus.Unknown) revert RegistryMeasurementAlreadyKnown(measurement);
        _measurements[measurement] = MeasurementStatus.Allowed;
        emit MeasurementAllowed(measurement);
    }

    /// @inheritdoc IGatewayRegistry
    function revokeMeasurement(bytes32 measurement) external onlyOwner {
        if (_measurements[measurement] != MeasurementStatus.Allowed) revert RegistryMeasurementNotAllowed(measurement);
        _measurements[measurement] = MeasurementStatus.Revoked;
        emit MeasurementRevoked(measurement);
        SETTLEMENT.noteMeasurementRevoked();
    }

    /// @inheritdoc IGatewayRegistry
    function setParams(Params calldata p) external onlyOwner {
        _setParams(p);
    }

    // ------------------------------------------------------------------ operators

    /// @inheritdoc IGatewayRegistry
    function registerEnclave(
        address key,
        bytes32 measurement,
        bytes32 attestationHash,
        bytes32 keyConfigHash,
        uint256 bond,
        CompactSignature calldata keySig
    ) external nonReentrant {
        if (key == address(0)) revert RegistryZeroAddress();
        if (_measurements[measurement] != MeasurementStatus.Allowed) revert RegistryMeasurementNotAllowed(measurement);
        if (_enclaves[key].operator != address(0)) revert RegistryEnclaveAlreadyRegistered(key);
        if (bond < _minBond) revert RegistryBondTooLow(bond, _minBond);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(REGISTRATION_TYPEHASH, msg.sender, measurement, attestationHash, keyConfigHash))
        );
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, keySig.r, keySig.vs);
        if (err != ECDSA.RecoverError.NoError || signer != key) revert RegistryInvalidKeySignature(key);

        _enclaves[key] = Enclave({
            operator: msg.sender,
            activeUntil: 0,
            measurement: measurement,
            attestationHash: attestationHash,
            keyConfigHash: keyConfigHash,
            bond: SafeCast.toUint128(bond),
            approvalNonce: 0,
            bondUnlockAt: 0,
            slashed: false
        });
        emit EnclaveRegistered(key, msg.sender, measurement, attestationHash, keyConfigHash, bond);
        _pull(bond);
    }

    /// @inheritdoc IGatewayRegistry
    function reattest(address key, bytes32 attestationHash) external {
        Enclave storage e = _operatorEnclave(key);
        if (e.slashed) revert RegistryEnclaveSlashed(key);
        e.attestationHash = attestationHash;
        uint64 nonce = ++e.approvalNonce;
        emit EnclaveReattested(key, attestationHash, nonce);
    }

    /// @inheritdoc IGatewayRegistry
    function approveEnclave(address key, uint64 deadline, CompactSignature[] calldata sigs) external {
        Enclave storage e = _enclaves[key];
        if (e.operator == address(0)) revert RegistryEnclaveNotRegistered(key);
        if (e.slashed) revert RegistryEnclaveSlashed(key);
        if (_successions[key].successor != address(0)) revert RegistryEnclaveRetired(key);
        if (_time() > deadline) revert RegistryApprovalExpired(key, deadline);
        VALIDATORS.verifyQuorum(approvalDigest(key, deadline), sigs);
        if (_measurements[e.measurement] != MeasurementStatus.Allowed) revert RegistryMeasurementNotAllowed(e.measurement);
        if (e.bond < _minBond) revert RegistryBondTooLow(e.bond, _minBond);
        if (e.bondUnlockAt != 0) revert RegistryBondLocked(key, e.bondUnlockAt);
        uint64 activeUntil = SafeCast.toUint64(_time()) + _heartbeatInterval;
        e.activeUntil = activeUntil;
        uint64 nonce = e.approvalNonce++;
        emit EnclaveApproved(key, e.measurement, activeUntil, nonce);
        SETTLEMENT.syncGateway(key, SafeCast.toUint40(activeUntil));
    }

    /// @inheritdoc IGatewayRegistry
    function deactivate(address key) external {
        Enclave storage e = _operatorEnclave(key);
        _deactivate(key, e);
    }

    /// @inheritdoc IGatewayRegistry
    function succeed(address predecessor, address successor) external {
        Enclave storage p = _operatorEnclave(predecessor);
        Enclave storage s = _operatorEnclave(successor); // same operator: it stays liable for both
        if (p.slashed) revert RegistryEnclaveSlashed(predecessor);
        if (s.slashed) revert RegistryEnclaveSlashed(successor);
        if (p.bondUnlockAt != 0) revert RegistryBondLocked(predecessor, p.bondUnlockAt);
        Succession storage acct = _successions[predecessor];
        if (acct.closed) revert RegistryAccountClosed(predecessor);
        if (successor == predecessor || _successions[successor].successor != address(0)) {
            revert RegistryInvalidSuccessor(predecessor, successor);
        }
        address current = acct.successor;
        if (current == address(0)) {
            _deactivate(predecessor, p); // retired: it never signs again (approveEnclave refuses it)
            acct.retiredAt = SafeCast.toUint40(_time());
        } else if (_successions[current].successor == address(0) && !_enclaves[current].slashed) {
            // Only a retired (or slashed: banned, never retired) successor hands the account on: one
            // unretired signer per account, and none left stranded when its successor is banned.
            revert RegistryInvalidSuccessor(predecessor, successor);
        }
        acct.successor = successor;
        emit EnclaveSucceeded(predecessor, successor, current);
    }

    /// @inheritdoc IGatewayRegistry
    function closeAccount(address account) external {
        Enclave storage e = _enclaves[account];
        if (e.operator == address(0)) revert RegistryEnclaveNotRegistered(account);
        Succession storage acct = _successions[account];
        if (acct.successor == address(0)) revert RegistryAccountNotRetired(account);
        if (acct.closed || e.slashed) revert RegistryAccountClosed(account);
        // The operator closes once its successor settled the account; anyone may once the successor
        // had `bondWithdrawDelay` to do so, so a user holding a receipt above the end can prove it.
        if (msg.sender != e.operator) {
            uint64 closableAt = uint64(acct.retiredAt) + _bondWithdrawDelay;
            if (_time() < closableAt) revert RegistryAccountNotClosable(account, closableAt);
        }
        _close(account, acct);
    }

    /// @inheritdoc IGatewayRegistry
    function addBond(address key, uint256 amount) external nonReentrant {
        Enclave storage e = _enclaves[key];
        if (e.operator == address(0)) revert RegistryEnclaveNotRegistered(key);
        if (e.slashed) revert RegistryEnclaveSlashed(key);
        e.bond = SafeCast.toUint128(uint256(e.bond) + amount);
        emit BondAdded(key, amount, e.bond);
        _pull(amount);
    }

    /// @inheritdoc IGatewayRegistry
    function requestBondWithdraw(address key) external {
        Enclave storage e = _operatorEnclave(key);
        if (e.bond == 0) revert RegistryNoBondWithdrawal(key);
        _deactivate(key, e);
        uint64 unlockAt = SafeCast.toUint64(_time()) + _bondWithdrawDelay;
        e.bondUnlockAt = unlockAt;
        emit BondWithdrawRequested(key, e.bond, unlockAt);
        // A retired account closes for good: once the bond is out it must not take batches again.
        Succession storage acct = _successions[key];
        if (acct.successor != address(0) && !acct.closed) _close(key, acct);
    }

    /// @inheritdoc IGatewayRegistry
    function withdrawBond(address key, address to) external nonReentrant {
        Enclave storage e = _operatorEnclave(key);
        if (to == address(0)) revert RegistryZeroAddress();
        if (e.bondUnlockAt == 0 || e.bond == 0) revert RegistryNoBondWithdrawal(key);
        if (_time() < e.bondUnlockAt) revert RegistryBondLocked(key, e.bondUnlockAt);
        uint256 open = SETTLEMENT.openBatches(key);
        if (open != 0) revert RegistryBatchesOpen(key, open);
        uint256 amount = e.bond;
        e.bond = 0;
        e.bondUnlockAt = 0;
        emit BondWithdrawn(key, to, amount);
        TOKEN.safeTransfer(to, amount);
    }

    // ------------------------------------------------------------------ settlement

    /// @inheritdoc IGatewayRegistry
    function slash(address key, address challenger) external nonReentrant returns (uint256 slashed) {
        if (msg.sender != address(SETTLEMENT)) revert RegistryOnlySettlement(msg.sender);
        Enclave storage e = _enclaves[key];
        slashed = e.bond;
        uint256 reward = (slashed * _challengerRewardBps) / _BPS;
        e.bond = 0;
        e.bondUnlockAt = 0;
        e.slashed = true;
        _deactivate(key, e);
        emit BondSlashed(key, challenger, slashed, reward);
        if (reward != 0) TOKEN.safeTransfer(challenger, reward);
        if (slashed - reward != 0) TOKEN.safeTransfer(SETTLEMENT.treasury(), slashed - reward);
    }

    /// @inheritdoc IGatewayRegistry
    function penalize(address key) external nonReentrant returns (uint256 penalty) {
        if (msg.sender != address(SETTLEMENT)) revert RegistryOnlySettlement(msg.sender);
        Enclave storage e = _enclaves[key];
        penalty = (uint256(e.bond) * _rejectedSlashBps) / _BPS;
        if (penalty == 0) return 0;
        e.bond -= uint128(penalty); // penalty <= bond (rejectedSlashBps <= 10,000, see _setParams): fits
        emit BondPenalized(key, penalty, e.bond);
        TOKEN.safeTransfer(SETTLEMENT.treasury(), penalty);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IGatewayRegistry
    function gatewayStatus(address key) external view returns (address operator, bool active) {
        Enclave storage e = _enclaves[key];
        return (e.operator, _isActive(e));
    }

    /// @inheritdoc IGatewayRegistry
    function isActive(address key) external view returns (bool) {
        return _isActive(_enclaves[key]);
    }

    /// @inheritdoc IGatewayRegistry
    function successorOf(address key) external view returns (address) {
        return _successions[key].successor;
    }

    /// @inheritdoc IGatewayRegistry
    function succession(address key) external view returns (address successor, uint64 retiredAt, bool closed) {
        Succession storage acct = _successions[key];
        return (acct.successor, acct.retiredAt, acct.closed);
    }

    /// @inheritdoc IGatewayRegistry
    function accountClosed(address account) external view returns (bool) {
        Enclave storage e = _enclaves[account];
        if (e.slashed) return true;
        // A revoked image's receipts could not settle, and its signatures prove nothing (the flaw may
        // have let the key out): they never count against an operator that ran it while allowed.
        if (_measurements[e.measurement] != MeasurementStatus.Allowed) return false;
        return e.bondUnlockAt != 0 || _successions[account].closed;
    }

    /// @inheritdoc IGatewayRegistry
    function signsFor(address account, address signer) external view returns (bool) {
        Enclave storage a = _enclaves[account];
        Succession storage acct = _successions[account];
        return signer != address(0) && acct.successor == signer && !acct.closed && !a.slashed && a.bondUnlockAt == 0
            && _measurements[a.measurement] == MeasurementStatus.Allowed && _isActive(_enclaves[signer]);
    }

    /// @inheritdoc IGatewayRegistry
    function enclave(address key) external view returns (Enclave memory) {
        return _enclaves[key];
    }

    /// @inheritdoc IGatewayRegistry
    function measurementStatus(bytes32 measurement) external view returns (MeasurementStatus) {
        return _measurements[measurement];
    }

    /// @inheritdoc IGatewayRegistry
    function bondWithdrawDelay() external view returns (uint64) {
        return _bondWithdrawDelay;
    }

    /// @inheritdoc IGatewayRegistry
    function approvalDigest(address key, uint64 deadline) public view returns (bytes32) {
        Enclave storage e = _enclaves[key];
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    APPROVAL_TYPEHASH,
                    key,
                    e.measurement,
                    e.attestationHash,
                    e.keyConfigHash,
                    e.approvalNonce,
                    deadline
                )
            )
        );
    }

    /// @inheritdoc IGatewayRegistry
    function registrationDigest(address operator, bytes32 measurement, bytes32 attestationHash, bytes32 keyConfigHash)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(REGISTRATION_TYPEHASH, operator, measurement, attestationHash, keyConfigHash))
        );
    }

    /// @inheritdoc IGatewayRegistry
    function params() external view returns (Params memory p) {
        return Params(_minBond, _heartbeatInterval, _bondWithdrawDelay, _challengerRewardBps, _rejectedSlashBps);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Clock read in one place, so tests can override it.
    function _time() internal view virtual returns (uint256) {
        return block.timestamp;
    }

    function _isActive(Enclave storage e) private view returns (bool) {
        return e.activeUntil > _time() && _measurements[e.measurement] == MeasurementStatus.Allowed;
    }

    function _operatorEnclave(address key) private view returns (Enclave storage e) {
        e = _enclaves[key];
        if (e.operator == address(0)) revert RegistryEnclaveNotRegistered(key);
        if (e.operator != msg.sender) revert RegistryNotOperator(msg.sender, key);
    }

    /// @dev Closes a retired account at its current end.
    function _close(address account, Succession storage acct) private {
        acct.closed = true;
        (uint64 nextCallSeq,) = SETTLEMENT.nextSeqs(account);
        emit AccountClosed(account, msg.sender, nextCallSeq);
    }

    /// @dev Deactivates the key and bumps its nonce, so no approval signed before can re-activate it.
    function _deactivate(address key, Enclave storage e) private {
        e.activeUntil = 0;
        ++e.approvalNonce;
        emit EnclaveDeactivated(key);
        SETTLEMENT.syncGateway(key, 0);
    }

    /// @dev Pulls `amount` from the caller; short-paying (fee-on-transfer) tokens are rejected.
    function _pull(uint256 amount) private {
        if (amount == 0) return;
        uint256 before = TOKEN.balanceOf(address(this));
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = TOKEN.balanceOf(address(this)) - before;
        if (received != amount) revert RegistryTransferAmountMismatch(amount, received);
    }

    function _setParams(Params memory p) private {
        if (p.heartbeatInterval == 0) revert RegistryInvalidInterval(p.heartbeatInterval);
        if (p.challengerRewardBps > MAX_CHALLENGER_REWARD_BPS) revert RegistryInvalidBps(p.challengerRewardBps);
        if (p.rejectedSlashBps > _BPS) revert RegistryInvalidBps(p.rejectedSlashBps);
        (_minBond, _heartbeatInterval, _bondWithdrawDelay, _challengerRewardBps, _rejectedSlashBps) =
            (p.minBond, p.heartbeatInterval, p.bondWithdrawDelay, p.challengerRewardBps, p.rejectedSlashBps);
        emit ParamsChanged(p.minBond, p.heartbeatInterval, p.bondWithdrawDelay, p.challengerRewardBps, p.rejectedSlashBps);
    }
}
