// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CompactSignature} from "../Types.sol";
import {IProofSettlement} from "./IProofSettlement.sol";

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
        bool slashed; // proven equivocating: banned for good
        bytes32 measurement; // keccak256(PCR0 ‖ PCR1 ‖ PCR2)
        bytes32 attestationHash; // keccak256 of the latest attestation document
        bytes32 keyConfigHash; // keccak256 of the enclave's OHTTP key config (0 when none)
        uint128 bond; // OPG bonded for this key
        uint64 approvalNonce; // bumps on approval, re-attestation, deactivation and slashing: approvals can't be replayed
        uint64 bondUnlockAt; // when a requested bond withdrawal can be taken (0 = none requested)
    }

    /// @notice Governance parameters of the registry.
    struct Params {
        uint128 minBond; // smallest bond a key registers or is approved with
        uint64 heartbeatInterval; // seconds an approval keeps a key active
        uint64 bondWithdrawDelay; // seconds between a bond withdrawal request and the withdrawal
        uint16 challengerRewardBps; // share of a slashed bond paid to the challenger (<= 10 %)
        uint16 rejectedSlashBps; // share of the bond taken when a quorum rejects one of the key's batches
    }

    error RegistryZeroAddress();
    error RegistryMeasurementNotAllowed(bytes32 measurement);
    error RegistryMeasurementAlreadyKnown(bytes32 measurement);
    error RegistryEnclaveAlreadyRegistered(address key);
    error RegistryEnclaveNotRegistered(address key);
    /// @notice Thrown when a slashed (banned) key is approved, re-attested or bonded again.
    error RegistryEnclaveSlashed(address key);
    /// @notice Thrown when an approval is relayed after its deadline.
    error RegistryApprovalExpired(address key, uint64 deadline);
    error RegistryInvalidKeySignature(address key);
    error RegistryBondTooLow(uint256 bond, uint256 minBond);
    error RegistryNotOperator(address caller, address key);
    error RegistryBondLocked(address key, uint64 unlockAt);
    /// @notice Thrown when a bond would leave while batches of its key can still be challenged.
    error RegistryBatchesOpen(address key, uint256 openBatches);
    error RegistryNoBondWithdrawal(address key);
    error RegistryOnlySettlement(address caller);
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
    /// @notice The key was proven equivocating: its whole bond is taken, `reward` to the challenger.
    event BondSlashed(address indexed key, address indexed challenger, uint256 slashed, uint256 reward);
    /// @notice A quorum rejected a batch of the key: `penalty` of its bond went to the treasury.
    event BondPenalized(address indexed key, uint256 penalty, uint256 bond);
    event ParamsChanged(
        uint256 minBond,
        uint64 heartbeatInterval,
        uint64 bondWithdrawDelay,
        uint16 challengerRewardBps,
        uint16 rejectedSlashBps
    );

    /// @notice The settlement this registry serves (fixed at deployment).
    /// @return the ProofSettlement
    function SETTLEMENT() external view returns (IProofSettlement);
    /// @notice Hot path for ProofSettlement: the key's operator and whether it may submit now.
    /// @param key the enclave key
    /// @return operator who registered the key
    /// @return active approved, not expired, measurement not revoked
    function gatewayStatus(address key) external view returns (address operator, bool active);
    /// @notice Whether `key` may submit now.
    /// @param key the enclave key
    /// @return true when approved, not expired, and its measurement is allowed
    function isActive(address key) external view returns (bool);
    /// @notice Seconds between a bond withdrawal request and the withdrawal (at the least).
    /// @return the delay
    function bondWithdrawDelay() external view returns (uint64);
    /// @notice Everything the registry holds on `key`.
    /// @param key the enclave key
    /// @return the record
    function enclave(address key) external view returns (Enclave memory);
    /// @notice Whether a measurement is unknown, allowed or revoked.
    /// @param measurement keccak256(PCR0 ‖ PCR1 ‖ PCR2)
    /// @return its status
    function measurementStatus(bytes32 measurement) external view returns (MeasurementStatus);
    /// @notice Settlement-only: slashes the key's whole bond (even when a withdrawal is pending), pays
    /// `challenger` its reward share and the treasury the rest, deactivates and bans the key.
    /// @param key the equivocating key
    /// @param challenger who proved it
    /// @return slashed the OPG taken
    function slash(address key, address challenger) external returns (uint256 slashed);
    /// @notice Settlement-only: a quorum rejected a batch of `key`; `rejectedSlashBps` of its bond goes
    /// to the treasury.
    /// @param key the key whose batch was rejected
    /// @return penalty the OPG taken
    function penalize(address key) external returns (uint256 penalty);
}
