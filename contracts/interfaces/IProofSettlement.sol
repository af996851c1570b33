// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {
    BatchHeader, BatchRef, BatchStatus, CompactSignature, EquivocationProof, FeeRate, ModelUsage, Receipt
} from "../Types.sol";

/// @title IProofSettlement
/// @notice Settles batches of enclave-signed receipts: one storage slot per batch, the rest in events.
interface IProofSettlement {
    // ---------------------------------------------------------------- errors
    /// @notice Thrown when the zero address is used where an address is required.
    error SettlementZeroAddress();
    /// @notice Thrown when a deposit or withdrawal amount is zero.
    error SettlementZeroAmount();
    /// @notice Thrown when the token moved a different amount than asked (fee-on-transfer tokens are rejected).
    error SettlementTransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice Thrown when the caller is not the operator of `gateway` in the registry.
    error SettlementNotOperator(address caller, address gateway);
    /// @notice Thrown when a gateway's spendable balance is below what is asked.
    error SettlementInsufficientBalance(address gateway, uint256 balance, uint256 needed);
    /// @notice Thrown when a withdrawal is taken before its delay or without a request.
    error SettlementWithdrawalLocked(address gateway, uint64 unlockAt);
    error SettlementNoWithdrawal(address gateway);
    /// @notice Thrown when the header's gateway key is not active in the registry.
    error SettlementGatewayInactive(address gateway);
    /// @notice Thrown when `batchSeq` is not the gateway's next one (replay, skip or reorder).
    error SettlementUnexpectedBatchSeq(address gateway, uint64 expected, uint64 got);
    /// @notice Thrown when `firstCallSeq` is not the gateway's next callSeq (gap or overlap).
    error SettlementUnexpectedCallSeq(address gateway, uint64 expected, uint64 got);
    /// @notice Thrown when `count` is 0 or above the governance maximum.
    error SettlementInvalidCount(uint32 count, uint32 maxBatchSize);
    /// @notice Thrown when usage entries are not strictly ascending by modelId, or sum to more calls than leaves.
    error SettlementInvalidUsage(uint256 index);
    /// @notice Thrown when firstServedAt > lastServedAt.
    error SettlementInvalidServedAt(uint64 firstServedAt, uint64 lastServedAt);
    /// @notice Thrown when the header's fee differs from the on-chain fee schedule applied to its usage.
    error SettlementFeeMismatch(uint256 expected, uint256 got);
    /// @notice Thrown when the enclave signature does not recover to the header's gateway (or is high-s).
    error SettlementInvalidSignature(address gateway, address recovered);
    /// @notice Thrown when a header passed back does not match what was stored for its batch.
    error SettlementUnknownBatch(address gateway, uint64 batchSeq);
    /// @notice Thrown when a batch is not in a status that allows the call.
    error SettlementInvalidStatus(address gateway, uint64 batchSeq, BatchStatus status);
    /// @notice Thrown when a challenge or rejection comes at or after the end of the challenge window.
    error SettlementWindowClosed(address gateway, uint64 batchSeq, uint64 windowEnd);
    /// @notice Thrown when finalize comes before the end of the challenge window.
    error SettlementWindowOpen(address gateway, uint64 batchSeq, uint64 windowEnd);
    /// @notice Thrown when an equivocation challenge does not prove two different leaves for one callSeq.
    error SettlementNotEquivocation();
    /// @notice Thrown when a receipt's signature does not recover to the batch's gateway.
    error SettlementInvalidReceiptSignature(address gateway, address recovered);
    /// @notice Thrown when a receipt belongs to another gateway or lies outside the batch's callSeq range.
    error SettlementReceiptOutOfBatch(address gateway, uint64 callSeq);
    /// @notice Thrown when a Merkle proof does not lead to the batch root.
    error SettlementInvalidProof();
    /// @notice Thrown when a list argument is empty (or two lists differ in length).
    error SettlementEmptyList();
    /// @notice Thrown when a registry-only hook is called by anyone else.
    error SettlementOnlyRegistry(address caller);
    /// @notice Thrown on a governance parameter outside its hard bounds.
    error SettlementInvalidParam(bytes32 name, uint256 value);
    /// @notice Thrown at deployment when the registry or validator set points at another settlement.
    error SettlementMiswired();
    /// @notice Thrown when a challenge is revealed without the caller's commitment from an earlier block.
    error SettlementNotCommitted(bytes32 commitment);
    /// @notice Thrown when the attesters given are not the recorded signers of the attestation.
    error SettlementWrongAttesters(uint48 attestationId);
    /// @notice Thrown when one finalize call mixes batches of different attestations.
    error SettlementMixedAttestations(uint48 first, uint48 other);

    // ---------------------------------------------------------------- events
    event Deposited(address indexed gateway, address indexed from, uint256 amount);
    event WithdrawRequested(address indexed gateway, uint256 amount, uint256 pending, uint64 unlockAt);
    event Withdrawn(address indexed gateway, address indexed to, uint256 amount);

    /// @notice One per batch: the whole header except what the stored hash already commits to.
    event BatchSubmitted(
        address indexed gateway,
        uint64 indexed batchSeq,
        uint64 indexed firstCallSeq,
        uint32 count,
        bytes32 root,
        uint256 fee,
        bytes32 headerHash,
        ModelUsage[] usage,
        uint64 firstServedAt,
        uint64 lastServedAt,
        string daURI
    );
    /// @notice One per `attest` call: the quorum that signed, recorded as attestation `attestationId`.
    event Attestation(uint48 indexed attestationId, bytes32 verdictDigest, address[] signers);
    /// @notice The batch was attested by attestation `attestationId`; its challenge window starts now.
    event BatchAttested(address indexed gateway, uint64 indexed batchSeq, uint48 indexed attestationId);
    event BatchRejected(
        address indexed gateway, uint64 indexed batchSeq, bool indexed equivocation, address challenger, uint256 refund
    );
    event BatchFinalized(address indexed gateway, uint64 indexed batchSeq, uint256 fee);
    /// @notice One per finalize call: how the finalized fees were split.
    event FeesDistributed(
        uint48 indexed attestationId, uint256 total, uint256 toValidators, uint256 toTreasury, uint256 burned
    );
    event ChallengeCommitted(bytes32 indexed commitment, address indexed challenger);
    event RewardsClaimed(address indexed validator, address indexed to, uint256 amount);

    event FeeRateChanged(uint64 perCall, uint64 perKiloInputToken, uint64 perKiloOutputToken);
    event ModelFeeRateChanged(
        bytes32 indexed modelId, bool enabled, uint64 perCall, uint64 perKiloInputToken, uint64 perKiloOutputToken
    );
    event MaxBatchSizeChanged(uint32 maxBatchSize);
    event WindowsChanged(uint32 challengeWindow, uint32 withdrawDelay);
    event FeeSplitChanged(uint16 validatorBps, uint16 treasuryBps, uint16 burnBps, uint16 rejectedRefundBps);
    event TreasuryChanged(address indexed treasury);
    event AttesterSlashChanged(uint16 attesterSlashBps);
    /// @notice The registry mirrored a key's activity into its account (see `syncGateway`).
    event GatewaySynced(address indexed gateway, uint40 activeUntil);
    event MeasurementRevocationNoted(uint16 revocationEpoch);

    // ---------------------------------------------------------------- deposits
    function deposit(address gateway, uint256 amount) external;
    function depositWithPermit(address gateway, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;
    function requestWithdraw(address gateway, uint256 amount) external;
    function withdraw(address gateway, address to) external;

    // ---------------------------------------------------------------- lifecycle
    function submitBatch(BatchHeader calldata header, CompactSignature calldata enclaveSig) external;
    function submitBatches(BatchHeader[] calldata headers, CompactSignature[] calldata enclaveSigs) external;
    function attest(BatchRef[] calldata batches, CompactSignature[] calldata sigs) external;
    function reject(BatchHeader[] calldata headers, CompactSignature[] calldata sigs) external;
    function commitChallenge(bytes32 commitment) external;
    function challengeEquivocation(
        BatchHeader calldata header,
        EquivocationProof calldata e,
        bytes32 salt,
        address[] calldata attesters
    ) external;
    function finalize(BatchHeader[] calldata headers, address[] calldata attesters) external;
    function claimRewards(address to) external returns (uint256 amount);

    // ---------------------------------------------------------------- registry hooks
    /// @notice Registry-only: mirrors the key's `activeUntil` into its account slot, so the hot path
    /// reads one slot instead of calling the registry.
    function syncGateway(address gateway, uint40 activeUntil) external;
    /// @notice Registry-only: a measurement was revoked; every key approved before this re-checks
    /// its measurement with the registry on its next submission.
    function noteMeasurementRevoked() external;

    // ---------------------------------------------------------------- views
    function verifyReceipt(BatchHeader calldata header, Receipt calldata receipt, bytes32[] calldata proof)
        external
        view
        returns (BatchStatus status);
    function batch(address gateway, uint64 batchSeq)
        external
        view
        returns (BatchStatus status, uint64 since, uint64 windowEnd, uint48 attestationId, bytes32 headerHashPrefix);
    function openBatches(address gateway) external view returns (uint256 open);
    function rewardsOwed(address validator) external view returns (uint256 amount);
    function treasury() external view returns (address);
    function challengeWindow() external view returns (uint32);
    function nextSeqs(address gateway) external view returns (uint64 nextCallSeq, uint64 nextBatchSeq);
    function balanceOf(address gateway) external view returns (uint256);
    function computeFee(ModelUsage[] calldata usage) external view returns (uint256);
    function verdictDigest(uint8 verdict, bytes32[] calldata headerHashes) external view returns (bytes32);
}
