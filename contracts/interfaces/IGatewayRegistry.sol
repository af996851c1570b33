// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

import {CompactSignature} from "../Types.sol";
import {IProofSettlement} from "./IProofSettlement.sol";
import {IValidatorSet} from "./IValidatorSet.sol";

/// @title IGatewayRegistry
/// @notice Allowlisted enclave measurements, enclave signing keys registered by operators with an OPG
/// bond, activated by a validator quorum after it checked the attestation document off-chain.
/// @dev Declares every external function of GatewayRegistry except the ownership functions it inherits
/// from OpenZeppelin's `Ownable2Step` (`owner`, `pendingOwner`, `transferOwnership`, `acceptOwnership`,
/// `renounceOwnership`): declaring them here as well would make GatewayRegistry override each one.
/// `eip712Domain` comes from `IERC5267`.
interface IGatewayRegistry is IERC5267 {
    /// @notice Where a measurement stands: never seen, allowed to register keys, or revoked for good.
    enum MeasurementStatus {
        Unknown,
        Allowed,
        Revoked
    }

    /// @notice Everything the registry holds on one enclave key.
    struct Enclave {
        address operator; // who registered the key, controls its bond and fee balance
        uint64 activeUntil; // unix seconds; 0 = not (yet / any longer) active
        bool slashed; // proven equivocating or leaving a signed receipt unsettled: banned for good
        bytes32 measurement; // keccak256(PCR0 ‖ PCR1 ‖ PCR2)
        bytes32 attestationHash; // keccak256 of the latest attestation document
        bytes32 keyConfigHash; // keccak256 of the enclave's OHTTP key config (0 when none)
        uint128 bond; // OPG bonded for this key
        uint64 approvalNonce; // bumps on approval, re-attestation, deactivation (also by a bond withdrawal request) and slashing: approvals can't be replayed
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

    /// @notice Thrown when the zero address is used where an address is required.
    error RegistryZeroAddress();
    /// @notice Thrown when a measurement is not (or no longer) allowed.
    /// @param measurement keccak256(PCR0 ‖ PCR1 ‖ PCR2)
    error RegistryMeasurementNotAllowed(bytes32 measurement);
    /// @notice Thrown when governance allows a measurement that was already allowed or revoked.
    /// @param measurement keccak256(PCR0 ‖ PCR1 ‖ PCR2)
    error RegistryMeasurementAlreadyKnown(bytes32 measurement);
    /// @notice Thrown when a key is registered a second time.
    /// @param key the enclave key
    error RegistryEnclaveAlreadyRegistered(address key);
    /// @notice Thrown when a key was never registered.
    /// @param key the enclave key
    error RegistryEnclaveNotRegistered(address key);
    /// @notice Thrown when a slashed (banned) key is approved, re-attested or bonded again.
    /// @param key the enclave key
    error RegistryEnclaveSlashed(address key);
    /// @notice Thrown when an approval is relayed after its deadline.
    /// @param key the enclave key
    /// @param deadline the approval's expiry (unix seconds)
    error RegistryApprovalExpired(address key, uint64 deadline);
    /// @notice Thrown when the registration is not signed by the key being registered.
    /// @param key the enclave key
    error RegistryInvalidKeySignature(address key);
    /// @notice Thrown when a bond is below the minimum (at registration or approval).
    /// @param bond the bond
    /// @param minBond the minimum
    error RegistryBondTooLow(uint256 bond, uint256 minBond);
    /// @notice Thrown when the caller is not the key's operator.
    /// @param caller the caller
    /// @param key the enclave key
    error RegistryNotOperator(address caller, address key);
    /// @notice Thrown when a bond is taken before its delay, or a key with a bond withdrawal pending is approved.
    /// @param key the enclave key
    /// @param unlockAt unix seconds from which the bond can be taken
    error RegistryBondLocked(address key, uint64 unlockAt);
    /// @notice Thrown when a bond would leave while batches of its key can still be challenged.
    /// @param key the enclave key
    /// @param openBatches the key's batches not yet Finalized or Rejected
    error RegistryBatchesOpen(address key, uint256 openBatches);
    /// @notice Thrown when there is no bond to request or no requested bond to take.
    /// @param key the enclave key
    error RegistryNoBondWithdrawal(address key);
    /// @notice Thrown when a retired key (one that was succeeded) is to be approved again.
    /// @param key the retired key
    error RegistryEnclaveRetired(address key);
    /// @notice Thrown when `successor` may not take over `predecessor`'s account: it is the predecessor
    /// itself or already retired, or the account's current successor is itself still unretired.
    /// @param predecessor the key whose account is handed on
    /// @param successor the proposed successor
    error RegistryInvalidSuccessor(address predecessor, address successor);
    /// @notice Thrown when a key that was never succeeded is to be closed (its bond withdrawal closes it).
    /// @param account the key
    error RegistryAccountNotRetired(address account);
    /// @notice Thrown when an account that takes no more batches (closed or slashed) is closed or handed on.
    /// @param account the key
    error RegistryAccountClosed(address account);
    /// @notice Thrown when someone other than the operator closes a retired account before its
    /// successor had `bondWithdrawDelay` to settle it.
    /// @param account the retired key
    /// @param closableAt unix seconds from which anyone may close it
    error RegistryAccountNotClosable(address account, uint64 closableAt);
    /// @notice Thrown when a settlement-only function is called by anyone else.
    /// @param caller the caller
    error RegistryOnlySettlement(address caller);
    /// @notice Thrown when the token moved a different amount than asked (fee-on-transfer tokens are rejected).
    /// @param expected the amount asked
    /// @param received the amount that arrived
    error RegistryTransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice Thrown when a basis-point parameter is above its hard bound.
    /// @param bps the value refused
    error RegistryInvalidBps(uint256 bps);
    /// @notice Thrown when the heartbeat interval is zero.
    /// @param interval the value refused
    error RegistryInvalidInterval(uint256 interval);

    /// @notice Governance allowed enclaves built from the image with `measurement` to register.
    /// @param measurement keccak256(PCR0 ‖ PCR1 ‖ PCR2)
    event MeasurementAllowed(bytes32 indexed measurement);
    /// @notice Governance revoked `measurement` for good: every key on it stopped settling.
    /// @param measurement keccak256(PCR0 ‖ PCR1 ‖ PCR2)
    event MeasurementRevoked(bytes32 indexed measurement);
    /// @notice `operator` registered `key` with a bond; it settles once a validator quorum approves it.
    /// @param key the enclave key
    /// @param operator who registered it
    /// @param measurement the enclave's measurement
    /// @param attestationHash keccak256 of its attestation document
    /// @param keyConfigHash keccak256 of its OHTTP key config (0 when none)
    /// @param bond OPG bonded
    event EnclaveRegistered(
        address indexed key,
        address indexed operator,
        bytes32 indexed measurement,
        bytes32 attestationHash,
        bytes32 keyConfigHash,
        uint256 bond
    );
    /// @notice The operator posted a fresh attestation document; approvals of the previous one are void.
    /// @param key the enclave key
    /// @param attestationHash keccak256 of the new attestation document
    /// @param approvalNonce the nonce the next approval must be signed at
    event EnclaveReattested(address indexed key, bytes32 attestationHash, uint64 approvalNonce);
    /// @notice A validator quorum approved `key` until `activeUntil`.
    /// @param key the enclave key
    /// @param measurement its measurement
    /// @param activeUntil unix seconds until which it may settle
    /// @param approvalNonce the nonce the approval was signed at
    event EnclaveApproved(address indexed key, bytes32 indexed measurement, uint64 activeUntil, uint64 approvalNonce);
    /// @notice `key` stopped settling (deactivated, bond withdrawal requested, or slashed); its
    /// outstanding approvals are void.
    /// @param key the enclave key
    event EnclaveDeactivated(address indexed key);
    /// @notice Emitted when `successor` takes over signing for `predecessor`'s account.
    /// @param predecessor the retired key whose account is handed on
    /// @param successor the key that signs the account's batches from now on
    /// @param previous the account's previous (retired) successor, 0 when the predecessor itself signed
    event EnclaveSucceeded(address indexed predecessor, address indexed successor, address previous);
    /// @notice A retired key's account takes no more batches: every receipt its key signed at or above
    /// `nextCallSeq` was never settled, and proves against its bond (`ProofSettlement.challengeOrphanedReceipt`).
    /// @param account the retired key
    /// @param closedBy its operator, or anyone once the successor's time ran out
    /// @param nextCallSeq the account's end: callSeqs below it are settled
    event AccountClosed(address indexed account, address indexed closedBy, uint64 nextCallSeq);
    /// @notice `amount` OPG was added to `key`'s bond.
    /// @param key the enclave key
    /// @param amount OPG added
    /// @param bond the whole bond now
    event BondAdded(address indexed key, uint256 amount, uint256 bond);
    /// @notice The operator asked for `key`'s bond back (the key is deactivated).
    /// @param key the enclave key
    /// @param bond the bond requested
    /// @param unlockAt unix seconds from which it can be taken, once every batch of the key is final
    event BondWithdrawRequested(address indexed key, uint256 bond, uint64 unlockAt);
    /// @notice `key`'s bond was paid to `to`.
    /// @param key the enclave key
    /// @param to who received it
    /// @param amount OPG paid
    event BondWithdrawn(address indexed key, address indexed to, uint256 amount);
    /// @notice The key was proven equivocating, or to have signed a receipt its closed account never
    /// settled: its whole bond is taken, `reward` to the challenger.
    /// @param key the enclave key, banned for good
    /// @param challenger who proved it
    /// @param slashed the OPG taken
    /// @param reward the part of it paid to the challenger (the rest to the treasury)
    event BondSlashed(address indexed key, address indexed challenger, uint256 slashed, uint256 reward);
    /// @notice A quorum rejected a batch of the key: `penalty` of its bond went to the treasury.
    /// @param key the enclave key
    /// @param penalty the OPG taken
    /// @param bond the bond left
    event BondPenalized(address indexed key, uint256 penalty, uint256 bond);
    /// @notice Governance set the bond, heartbeat and penalty parameters.
    /// @param minBond smallest bond a key registers or is approved with
    /// @param heartbeatInterval seconds an approval keeps a key active
    /// @param bondWithdrawDelay seconds between a bond withdrawal request and the withdrawal
    /// @param challengerRewardBps share of a slashed bond paid to the challenger
    /// @param rejectedSlashBps share of the bond taken when a quorum rejects one of the key's batches
    event ParamsChanged(
        uint256 minBond,
        uint64 heartbeatInterval,
        uint64 bondWithdrawDelay,
        uint16 challengerRewardBps,
        uint16 rejectedSlashBps
    );

    // ------------------------------------------------------------------ constants and wiring

    /// @notice EIP-712 type hash of the registration an enclave key signs: `EnclaveRegistration(address
    /// operator,bytes32 measurement,bytes32 attestationHash,bytes32 keyConfigHash)`.
    /// @return the type hash
    function REGISTRATION_TYPEHASH() external view returns (bytes32);
    /// @notice EIP-712 type hash of the approval validators sign: `EnclaveApproval(address key,bytes32
    /// measurement,bytes32 attestationHash,bytes32 keyConfigHash,uint64 nonce,uint64 deadline)`.
    /// @return the type hash
    function APPROVAL_TYPEHASH() external view returns (bytes32);
    /// @notice Hard bound: a challenger's reward is at most 10 % of a slashed bond, so an operator that
    /// proves its own equivocation recovers at most that.
    /// @return the bound in basis points
    function MAX_CHALLENGER_REWARD_BPS() external view returns (uint16);
    /// @notice The OPG token bonds are posted in.
    /// @return the token
    function TOKEN() external view returns (IERC20);
    /// @notice The validators whose quorum approves keys (fixed at deployment).
    /// @return the validator set
    function VALIDATORS() external view returns (IValidatorSet);
    /// @notice The settlement this registry mirrors keys into and that may slash (fixed at deployment).
    /// @return the ProofSettlement
    function SETTLEMENT() external view returns (IProofSettlement);
    /// @notice Semantic version of this deployment.
    /// @return the version, e.g. "0.2.0"
    function version() external pure returns (string memory);

    // ------------------------------------------------------------------ governance (owner)

    /// @notice Allows enclaves built from the image with `measurement` to register.
    /// @param measurement keccak256(PCR0 ‖ PCR1 ‖ PCR2)
    function allowMeasurement(bytes32 measurement) external;
    /// @notice Revokes a measurement for good: every key on it stops settling at once.
    /// @param measurement an allowed measurement
    function revokeMeasurement(bytes32 measurement) external;
    /// @notice Sets the bond, heartbeat and penalty parameters (within their hard bounds).
    /// @param p the new parameters
    function setParams(Params calldata p) external;

    // ------------------------------------------------------------------ operators

    /// @notice Registers enclave key `key` for the caller (its operator) with a bond pulled from the
    /// caller. `keySig` is the key's EIP-712 signature over the registration, proving possession.
    /// @param key the enclave key
    /// @param measurement an allowed measurement, keccak256(PCR0 ‖ PCR1 ‖ PCR2)
    /// @param attestationHash keccak256 of the enclave's attestation document
    /// @param keyConfigHash keccak256 of the enclave's OHTTP key config (0 when none)
    /// @param bond OPG pulled from the caller, at least the minimum bond
    /// @param keySig the key's signature over `registrationDigest(msg.sender, measurement, attestationHash, keyConfigHash)`
    function registerEnclave(
        address key,
        bytes32 measurement,
        bytes32 attestationHash,
        bytes32 keyConfigHash,
        uint256 bond,
        CompactSignature calldata keySig
    ) external;
    /// @notice Operator posts a fresh attestation document hash (heartbeat); validators then re-approve.
    /// Outstanding approvals of the previous document are void.
    /// @param key the enclave key
    /// @param attestationHash keccak256 of the new attestation document
    function reattest(address key, bytes32 attestationHash) external;
    /// @notice Validator quorum approves `key` for one heartbeat interval from now. Anyone may relay.
    /// @param key the enclave key
    /// @param deadline the approval's expiry (unix seconds), part of what the validators signed
    /// @param sigs a validator quorum's signatures over `approvalDigest(key, deadline)`
    function approveEnclave(address key, uint64 deadline, CompactSignature[] calldata sigs) external;
    /// @notice Operator retires a key at once; outstanding approvals are void.
    /// @param key the enclave key
    function deactivate(address key) external;
    /// @notice Operator hands `predecessor`'s account (its callSeqs, batches, fee balance) to `successor`,
    /// a key of the same operator, after the predecessor's enclave died: the successor settles the
    /// predecessor's durable receipts in its callSeq sequence, signing as itself. The predecessor is
    /// retired (deactivated now, never approved again), so one account never has two signers. An account
    /// whose successor died too is handed on again, once that successor was itself succeeded (retired) or
    /// slashed (banned: it never signs again and can never be retired).
    /// The predecessor's bond stays liable for every batch of its account; requesting it back ends the
    /// succession (see `signsFor`).
    /// @param predecessor the dead key (not slashed, no bond withdrawal requested)
    /// @param successor a registered, unslashed, unretired key of the same operator
    function succeed(address predecessor, address successor) external;
    /// @notice Closes a retired key's account: it takes no more batches, and a receipt its key signed at
    /// or above the account's `nextCallSeq` is then proof against its bond (never settled, nobody else to
    /// blame). The operator closes once its successor settled every durable receipt; anyone may once
    /// `bondWithdrawDelay` has passed since the key was retired, so an operator cannot keep an account
    /// open to dodge those proofs. (A bond withdrawal request closes any account too, for its delay; a
    /// retired account's for good.)
    /// @param account a retired (succeeded) key, not slashed, not closed
    function closeAccount(address account) external;
    /// @notice Anyone tops up a key's bond (not a slashed key's).
    /// @param key the enclave key
    /// @param amount OPG pulled from the caller
    function addBond(address key, uint256 amount) external;
    /// @notice Operator asks for the whole bond back: the key is deactivated now (outstanding approvals
    /// void), and the bond can be taken after `bondWithdrawDelay` once every batch of the key is final
    /// (it stays slashable until then). Its account is closed meanwhile (`accountClosed`); a retired key's
    /// for good (`AccountClosed`), so no batch settles past that end once the bond is out.
    /// @param key the enclave key
    function requestBondWithdraw(address key) external;
    /// @notice Operator takes a requested bond after the delay, once no batch of the key can be challenged.
    /// @param key the enclave key
    /// @param to receives the bond
    function withdrawBond(address key, address to) external;

    // ------------------------------------------------------------------ settlement hooks

    /// @notice Settlement-only: slashes the key's whole bond (even when a withdrawal is pending), pays
    /// `challenger` its reward share and the treasury the rest, deactivates and bans the key.
    /// @param key the equivocating key (or the key of an orphaned receipt)
    /// @param challenger who proved it
    /// @return slashed the OPG taken
    function slash(address key, address challenger) external returns (uint256 slashed);
    /// @notice Settlement-only: a quorum rejected a batch of `key`; `rejectedSlashBps` of its bond goes
    /// to the treasury.
    /// @param key the key whose batch was rejected
    /// @return penalty the OPG taken
    function penalize(address key) external returns (uint256 penalty);

    // ------------------------------------------------------------------ views

    /// @notice The key's operator and whether it may settle now. (ProofSettlement does not call this on
    /// its hot path: the registry mirrors activity into it with `syncGateway`.)
    /// @param key the enclave key
    /// @return operator who registered the key
    /// @return active approved, not expired, measurement not revoked
    function gatewayStatus(address key) external view returns (address operator, bool active);
    /// @notice Whether `key` may settle now.
    /// @param key the enclave key
    /// @return true when approved, not expired, and its measurement is allowed
    function isActive(address key) external view returns (bool);
    /// @notice The key that signs for `key`'s account instead of it (0 when none: `key` is not retired).
    /// @param key the enclave key
    /// @return the successor
    function successorOf(address key) external view returns (address);
    /// @notice The succession of `key`'s account.
    /// @param key the enclave key
    /// @return successor who signs for its account (0: the key itself, not retired)
    /// @return retiredAt unix seconds of its retirement (0: not retired)
    /// @return closed whether the account was closed (`closeAccount`)
    function succession(address key) external view returns (address successor, uint64 retiredAt, bool closed);
    /// @notice Whether no batch can ever be settled for `account` again, so that a receipt its key signed
    /// at or above the account's `nextCallSeq` is orphaned: its bond withdrawal was requested, it was
    /// closed after retirement, or it was slashed. False while the key's measurement is revoked (unless
    /// slashed): its receipts could not settle and its signatures prove nothing, so none is orphaned.
    /// @param account the enclave key whose account is asked about
    /// @return true when the account is closed
    function accountClosed(address account) external view returns (bool);
    /// @notice Whether `signer` may sign batches for `account` as its successor now: it is the account's
    /// successor and active, the account not closed, its key not slashed, its bond not being withdrawn and
    /// its measurement still allowed. (ProofSettlement asks only when a header's signer is not its gateway.)
    /// @param account the predecessor key whose account a batch settles
    /// @param signer the key that signed the batch header
    /// @return true when the signature counts as the account's
    function signsFor(address account, address signer) external view returns (bool);
    /// @notice Everything the registry holds on `key`.
    /// @param key the enclave key
    /// @return the record
    function enclave(address key) external view returns (Enclave memory);
    /// @notice Whether a measurement is unknown, allowed or revoked.
    /// @param measurement keccak256(PCR0 ‖ PCR1 ‖ PCR2)
    /// @return its status
    function measurementStatus(bytes32 measurement) external view returns (MeasurementStatus);
    /// @notice Seconds between a bond withdrawal request and the withdrawal (at the least).
    /// @return the delay
    function bondWithdrawDelay() external view returns (uint64);
    /// @notice The EIP-712 digest validators sign to approve `key` at its current nonce until `deadline`.
    /// @param key the enclave key
    /// @param deadline the approval's expiry (unix seconds)
    /// @return the digest
    function approvalDigest(address key, uint64 deadline) external view returns (bytes32);
    /// @notice The EIP-712 digest an enclave key signs to be registered by `operator`.
    /// @param operator who will register the key
    /// @param measurement the enclave's measurement
    /// @param attestationHash keccak256 of its attestation document
    /// @param keyConfigHash keccak256 of its OHTTP key config (0 when none)
    /// @return the digest
    function registrationDigest(address operator, bytes32 measurement, bytes32 attestationHash, bytes32 keyConfigHash)
        external
        view
        returns (bytes32);
    /// @notice The bond, heartbeat and penalty parameters.
    /// @return p the parameters in force
    function params() external view returns (Params memory p);
}
