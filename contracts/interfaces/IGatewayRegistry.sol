// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CompactSignature} from "../Types.sol";

/// @title IGatewayRegistry
/// @notice Allowlisted enclave measurements, enclave signing keys registered by operators with an OPG
/// bond, activated by a validator quorum after it checked the attestation document off-chain.
interface IGatewayRegistry {
    enum MeasurementStatus {
        Unknown,
        Allowed,
        Revoked
    }

    struct Enclave {
        address operator; // who registered the key, controls its bond and fee balance
        uint64 activeUntil; // unix seconds; 0 = not (yet / any longer) active
        bytes32 measurement; // keccak256(PCR0 ‖ PCR1 ‖ PCR2)
        bytes32 attestationHash; // keccak256 of the latest attestation document
        bytes32 keyConfigHash; // keccak256 of the enclave's OHTTP key config (0 when none)
        uint128 bond; // OPG bonded for this key
        uint64 approvalNonce; // bumps on every approval and re-attestation: approvals can't be replayed
        uint64 bondUnlockAt; // when a requested bond withdrawal can be taken (0 = none requested)
    }

    error RegistryZeroAddress();
    error RegistryMeasurementNotAllowed(bytes32 measurement);
    error RegistryMeasurementAlreadyKnown(bytes32 measurement);
    error RegistryEnclaveAlreadyRegistered(address key);
    error RegistryEnclaveNotRegistered(address key);
    error RegistryInvalidKeySignature(address key);
    error RegistryBondTooLow(uint256 bond, uint256 minBond);
    error RegistryNotOperator(address caller, address key);
    error RegistryBondLocked(address key, uint64 unlockAt);
    error RegistryNoBondWithdrawal(address key);
    error RegistryOnlySettlement(address caller);
    error RegistrySettlementAlreadySet(address settlement);
    error RegistryTransferAmountMismatch(uint256 expected, uint256 received);
    error RegistryInvalidBps(uint256 bps);
    error RegistryInvalidInterval(uint256 interval);

    event MeasurementAllowed(bytes32 indexed measurement);
    event MeasurementRevoked(bytes32 indexed measurement);
    event EnclaveRegistered(
        address indexed key,
        address indexed operator,
        bytes32 indexed measurement,
        bytes32 attestationHash,
        bytes32 keyConfigHash,
        uint256 bond
    );
    event EnclaveReattested(address indexed key, bytes32 attestationHash, uint64 approvalNonce);
    event EnclaveApproved(address indexed key, bytes32 indexed measurement, uint64 activeUntil, uint64 approvalNonce);
    event EnclaveDeactivated(address indexed key);
    event BondAdded(address indexed key, uint256 amount, uint256 bond);
    event BondWithdrawRequested(address indexed key, uint256 bond, uint64 unlockAt);
    event BondWithdrawn(address indexed key, address indexed to, uint256 amount);
    event BondSlashed(address indexed key, address indexed challenger, uint256 slashed, uint256 reward);
    event SettlementSet(address indexed settlement);
    event ParamsChanged(uint256 minBond, uint64 heartbeatInterval, uint64 bondWithdrawDelay, uint16 challengerRewardBps);
    event TreasuryChanged(address indexed treasury);

    /// @notice Hot path for ProofSettlement: the key's operator and whether it may submit now
    /// (approved, not expired, measurement not revoked).
    function gatewayStatus(address key) external view returns (address operator, bool active);

    function isActive(address key) external view returns (bool);
    function bondWithdrawDelay() external view returns (uint64);
    function enclave(address key) external view returns (Enclave memory);
    function measurementStatus(bytes32 measurement) external view returns (MeasurementStatus);

    /// @notice Settlement-only: slashes the key's whole bond (even when a withdrawal is pending),
    /// pays `challenger` its reward share and the treasury the rest, and deactivates the key.
    function slash(address key, address challenger) external returns (uint256 slashed);
}
