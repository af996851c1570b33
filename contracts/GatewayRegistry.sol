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
/// quorum, having verified the attestation document off-chain, approves it for `heartbeatInterval`.
/// The key expires unless re-attested and re-approved; revoking a measurement disables every key on it.
/// @dev Key activity is mirrored into ProofSettlement (`syncGateway`) so settlement's hot path reads one
/// slot; a revocation bumps settlement's epoch, which makes each key re-check here once.
/// @custom:semver 0.1.0
contract GatewayRegistry is IGatewayRegistry, EIP712, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant REGISTRATION_TYPEHASH = keccak256(
        "EnclaveRegistration(address operator,bytes32 measurement,bytes32 attestationHash,bytes32 keyConfigHash)"
    );
    bytes32 public constant APPROVAL_TYPEHASH = keccak256(
        "EnclaveApproval(address key,bytes32 measurement,bytes32 attestationHash,bytes32 keyConfigHash,uint64 nonce)"
    );
    uint16 private constant _BPS = 10_000;

    IERC20 public immutable TOKEN;
    IValidatorSet public immutable VALIDATORS;

    IProofSettlement private _settlement;
    address private _treasury;
    uint128 private _minBond;
    uint64 private _heartbeatInterval;
    uint64 private _bondWithdrawDelay;
    uint16 private _challengerRewardBps;

    mapping(bytes32 measurement => MeasurementStatus status) private _measurements;
    mapping(address key => Enclave enclave) private _enclaves;

    constructor(
        IERC20 token,
        IValidatorSet validatorSet,
        address owner,
        address treasury,
        uint128 minBond,
        uint64 heartbeatInterval,
        uint64 bondWithdrawDelay,
        uint16 challengerRewardBps
    ) EIP712("proofpath-registry", "1") Ownable(owner) {
        if (address(token) == address(0) || address(validatorSet) == address(0)) revert RegistryZeroAddress();
        TOKEN = token;
        VALIDATORS = validatorSet;
        _setTreasury(treasury);
        _setParams(minBond, heartbeatInterval, bondWithdrawDelay, challengerRewardBps);
    }

    function version() external pure returns (string memory) {
        return "0.1.0";
    }

    // ------------------------------------------------------------------ governance

    /// @notice Sets, once, the settlement contract this registry mirrors keys into and that may slash.
    function setSettlement(IProofSettlement settlement) external onlyOwner {
        if (address(settlement) == address(0)) revert RegistryZeroAddress();
        if (address(_settlement) != address(0)) revert RegistrySettlementAlreadySet(address(_settlement));
        _settlement = settlement;
        if (_bondWithdrawDelay < _settlementWindow()) revert RegistryInvalidInterval(_bondWithdrawDelay);
        emit SettlementSet(address(settlement));
    }

    function allowMeasurement(bytes32 measurement) external onlyOwner {
        if (_measurements[measurement] != MeasurementStatus.Unknown) revert RegistryMeasurementAlreadyKnown(measurement);
        _measurements[measurement] = MeasurementStatus.Allowed;
        emit MeasurementAllowed(measurement);
    }

    /// @notice Revokes a measurement for good: every key on it stops settling at once.
    function revokeMeasurement(bytes32 measurement) external onlyOwner {
        if (_measurements[measurement] != MeasurementStatus.Allowed) revert RegistryMeasurementNotAllowed(measurement);
        _measurements[measurement] = MeasurementStatus.Revoked;
        emit MeasurementRevoked(measurement);
        _settlement.noteMeasurementRevoked();
    }

    function setParams(uint128 minBond, uint64 heartbeatInterval, uint64 bondWithdrawDelay, uint16 challengerRewardBps)
        external
        onlyOwner
    {
        _setParams(minBond, heartbeatInterval, bondWithdrawDelay, challengerRewardBps);
    }

    function setTreasury(address treasury) external onlyOwner {
        _setTreasury(treasury);
    }

    // ------------------------------------------------------------------ operators

    /// @notice Registers enclave key `key` for the caller (its operator) with a bond pulled from the
    /// caller. `keySig` is the key's EIP-712 signature over the registration, proving possession.
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
            bondUnlockAt: 0
        });
        emit EnclaveRegistered(key, msg.sender, measurement, attestationHash, keyConfigHash, bond);
        _pull(bond);
    }

    /// @notice Operator posts a fresh attestation document hash (heartbeat); validators then re-approve.
    function reattest(address key, bytes32 attestationHash) external {
        Enclave storage e = _operatorEnclave(key);
        e.attestationHash = attestationHash;
        uint64 nonce = ++e.approvalNonce;
        emit EnclaveReattested(key, attestationHash, nonce);
    }

    /// @notice Validator quorum approves `key` for one heartbeat interval from now.
    function approveEnclave(address key, CompactSignature[] calldata sigs) external {
        Enclave storage e = _enclaves[key];
        if (e.operator == address(0)) revert RegistryEnclaveNotRegistered(key);
        VALIDATORS.verifyQuorum(approvalDigest(key), sigs);
        if (_measurements[e.measurement] != MeasurementStatus.Allowed) revert RegistryMeasurementNotAllowed(e.measurement);
        if (e.bond < _minBond) revert RegistryBondTooLow(e.bond, _minBond);
        if (e.bondUnlockAt != 0) revert RegistryBondLocked(key, e.bondUnlockAt);
        uint64 activeUntil = uint64(_time()) + _heartbeatInterval;
        e.activeUntil = activeUntil;
        uint64 nonce = e.approvalNonce++;
        emit EnclaveApproved(key, e.measurement, activeUntil, nonce);
        _settlement.syncGateway(key, uint40(activeUntil));
    }

    /// @notice Operator retires a key at once.
    function deactivate(address key) external {
        Enclave storage e = _operatorEnclave(key);
        _deactivate(key, e);
    }

    /// @notice Anyone tops up a key's bond.
    function addBond(address key, uint256 amount) external nonReentrant {
        Enclave storage e = _enclaves[key];
        if (e.operator == address(0)) revert RegistryEnclaveNotRegistered(key);
        e.bond = SafeCast.toUint128(uint256(e.bond) + amount);
        emit BondAdded(key, amount, e.bond);
        _pull(amount);
    }

    /// @notice Operator asks for the whole bond back: the key is deactivated now, and the bond can be
    /// taken after `bondWithdrawDelay` (it stays slashable until then).
    function requestBondWithdraw(address key) external {
        Enclave storage e = _operatorEnclave(key);
        if (e.bond == 0) revert RegistryNoBondWithdrawal(key);
        _deactivate(key, e);
        uint64 unlockAt = uint64(_time()) + _bondWithdrawDelay;
        e.bondUnlockAt = unlockAt;
        emit BondWithdrawRequested(key, e.bond, unlockAt);
    }

    function withdrawBond(address key, address to) external nonReentrant {
        Enclave storage e = _operatorEnclave(key);
        if (to == address(0)) revert RegistryZeroAddress();
        if (e.bondUnlockAt == 0 || e.bond == 0) revert RegistryNoBondWithdrawal(key);
        if (_time() < e.bondUnlockAt) revert RegistryBondLocked(key, e.bondUnlockAt);
        uint256 amount = e.bond;
        e.bond = 0;
        e.bondUnlockAt = 0;
        emit BondWithdrawn(key, to, amount);
        TOKEN.safeTransfer(to, amount);
    }

    // ------------------------------------------------------------------ settlement

    /// @inheritdoc IGatewayRegistry
    function slash(address key, address challenger) external nonReentrant returns (uint256 slashed) {
        if (msg.sender != address(_settlement)) revert RegistryOnlySettlement(msg.sender);
        Enclave storage e = _enclaves[key];
        slashed = e.bond;
        uint256 reward = (slashed * _challengerRewardBps) / _BPS;
        e.bond = 0;
        e.bondUnlockAt = 0;
        _deactivate(key, e);
        emit BondSlashed(key, challenger, slashed, reward);
        if (reward != 0) TOKEN.safeTransfer(challenger, reward);
        if (slashed - reward != 0) TOKEN.safeTransfer(_treasury, slashed - reward);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IGatewayRegistry
    function gatewayStatus(address key) external view returns (address operator, bool active) {
        Enclave storage e = _enclaves[key];
        return (e.operator, _isActive(e));
    }

    function isActive(address key) external view returns (bool) {
        return _isActive(_enclaves[key]);
    }

    function enclave(address key) external view returns (Enclave memory) {
        return _enclaves[key];
    }

    function measurementStatus(bytes32 measurement) external view returns (MeasurementStatus) {
        return _measurements[measurement];
    }

    /// @notice How long a requested bond withdrawal waits; never shorter than the settlement's challenge window.
    function bondWithdrawDelay() external view returns (uint64) {
        return _bondWithdrawDelay;
    }

    /// @notice The EIP-712 digest validators sign to approve `key` at its current nonce.
    function approvalDigest(address key) public view returns (bytes32) {
        Enclave storage e = _enclaves[key];
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    APPROVAL_TYPEHASH, key, e.measurement, e.attestationHash, e.keyConfigHash, e.approvalNonce
                )
            )
        );
    }

    /// @notice The EIP-712 digest an enclave key signs to be registered by `operator`.
    function registrationDigest(address operator, bytes32 measurement, bytes32 attestationHash, bytes32 keyConfigHash)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(REGISTRATION_TYPEHASH, operator, measurement, attestationHash, keyConfigHash))
        );
    }

    function params()
        external
        view
        returns (
            uint128 minBond,
            uint64 heartbeatInterval,
            uint64 bondWithdrawDelay,
            uint16 challengerRewardBps,
            address treasury,
            address settlement
        )
    {
        return (_minBond, _heartbeatInterval, _bondWithdrawDelay, _challengerRewardBps, _treasury, address(_settlement));
    }

    // ------------------------------------------------------------------ internals

    /// @dev Clock read in one place, so tests can override it.
    function _time() internal view virtual returns (uint256) {
        return block.timestamp;
    }

    function _settlementWindow() private view returns (uint256) {
        return _settlement.challengeWindow();
    }

    function _isActive(Enclave storage e) private view returns (bool) {
        return e.activeUntil > _time() && _measurements[e.measurement] == MeasurementStatus.Allowed;
    }

    function _operatorEnclave(address key) private view returns (Enclave storage e) {
        e = _enclaves[key];
        if (e.operator == address(0)) revert RegistryEnclaveNotRegistered(key);
        if (e.operator != msg.sender) revert RegistryNotOperator(msg.sender, key);
    }

    function _deactivate(address key, Enclave storage e) private {
        e.activeUntil = 0;
        emit EnclaveDeactivated(key);
        _settlement.syncGateway(key, 0);
    }

    /// @dev Pulls `amount` from the caller; short-paying (fee-on-transfer) tokens are rejected.
    function _pull(uint256 amount) private {
        if (amount == 0) return;
        uint256 before = TOKEN.balanceOf(address(this));
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = TOKEN.balanceOf(address(this)) - before;
        if (received != amount) revert RegistryTransferAmountMismatch(amount, received);
    }

    function _setParams(uint128 minBond, uint64 heartbeatInterval, uint64 bondWithdrawDelay, uint16 challengerRewardBps)
        private
    {
        if (heartbeatInterval == 0) revert RegistryInvalidInterval(heartbeatInterval);
        // A bond must stay slashable for as long as any batch it backs can be challenged.
        if (address(_settlement) != address(0) && bondWithdrawDelay < _settlementWindow()) {
            revert RegistryInvalidInterval(bondWithdrawDelay);
        }
        if (challengerRewardBps > _BPS) revert RegistryInvalidBps(challengerRewardBps);
        (_minBond, _heartbeatInterval, _bondWithdrawDelay, _challengerRewardBps) =
            (minBond, heartbeatInterval, bondWithdrawDelay, challengerRewardBps);
        emit ParamsChanged(minBond, heartbeatInterval, bondWithdrawDelay, challengerRewardBps);
    }

    function _setTreasury(address treasury) private {
        if (treasury == address(0)) revert RegistryZeroAddress();
        _treasury = treasury;
        emit TreasuryChanged(treasury);
    }
}
