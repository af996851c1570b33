// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

import {
    BatchHeader, BatchRef, BatchStatus, CompactSignature, EquivocationProof, FeeRate, ModelUsage, Receipt
} from "../Types.sol";
import {IGatewayRegistry} from "./IGatewayRegistry.sol";
import {IValidatorSet} from "./IValidatorSet.sol";

/// @title IProofSettlement
/// @notice Settles batches of enclave-signed receipts: one storage slot per batch, the rest in events.
/// @dev Declares every external function of ProofSettlement except the ownership functions it inherits
/// from OpenZeppelin's `Ownable2Step` (`owner`, `pendingOwner`, `transferOwnership`, `acceptOwnership`,
/// `renounceOwnership`): declaring them here as well would make ProofSettlement override each one.
/// `eip712Domain` comes from `IERC5267`.
interface IProofSettlement is IERC5267 {
    // ---------------------------------------------------------------- errors

    /// @notice Thrown when the zero address is used where an address is required.
    error SettlementZeroAddress();
    /// @notice Thrown when a deposit or withdrawal amount, or the rewards claimed, is zero.
    error SettlementZeroAmount();
    /// @notice Thrown when the token moved a different amount than asked (fee-on-transfer tokens are rejected).
    /// @param expected the amount asked
    /// @param received the amount that arrived
    error SettlementTransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice Thrown when the caller is not the operator of `gateway` in the registry.
    /// @param caller the caller
    /// @param gateway the enclave key
    error SettlementNotOperator(address caller, address gateway);
    /// @notice Thrown when a gateway's spendable balance is below what is asked.
    /// @param gateway the enclave key
    /// @param balance its spendable balance
    /// @param needed the amount asked (a withdrawal or a batch's fee)
    error SettlementInsufficientBalance(address gateway, uint256 balance, uint256 needed);
    /// @notice Thrown when a pending withdrawal is taken before its delay has passed.
    /// @param gateway the enclave key
    /// @param unlockAt unix seconds from which it can be taken
    error SettlementWithdrawalLocked(address gateway, uint64 unlockAt);
    /// @notice Thrown when a withdrawal is taken without a pending request.
    /// @param gateway the enclave key
    error SettlementNoWithdrawal(address gateway);
    /// @notice Thrown when the header's gateway key is not active in the registry.
    /// @param gateway the enclave key
    error SettlementGatewayInactive(address gateway);
    /// @notice Thrown when `batchSeq` is not the gateway's next one (replay, skip or reorder).
    /// @param gateway the enclave key
    /// @param expected the gateway's next batchSeq
    /// @param got the header's batchSeq
    error SettlementUnexpectedBatchSeq(address gateway, uint64 expected, uint64 got);
    /// @notice Thrown when `firstCallSeq` is not the gateway's next callSeq (gap or overlap).
    /// @param gateway the enclave key
    /// @param expected the gateway's next callSeq
    /// @param got the header's firstCallSeq
    error SettlementUnexpectedCallSeq(address gateway, uint64 expected, uint64 got);
    /// @notice Thrown when `count` is 0 or above the governance maximum.
    /// @param count the header's count
    /// @param maxBatchSize the governance maximum
    error SettlementInvalidCount(uint32 count, uint32 maxBatchSize);
    /// @notice Thrown when usage entries are not strictly ascending by modelId, or sum to more calls than leaves.
    /// @param index the first entry out of order, or the number of entries when the calls exceed the count
    error SettlementInvalidUsage(uint256 index);
    /// @notice Thrown when firstServedAt > lastServedAt.
    /// @param firstServedAt the header's firstServedAt
    /// @param lastServedAt the header's lastServedAt
    error SettlementInvalidServedAt(uint64 firstServedAt, uint64 lastServedAt);
    /// @notice Thrown when the header's fee differs from the on-chain fee schedule applied to its usage.
    /// @param expected the fee the schedule asks
    /// @param got the header's fee
    error SettlementFeeMismatch(uint256 expected, uint256 got);
    /// @notice Thrown when the enclave signature recovers neither to the header's gateway nor to the
    /// gateway's active successor (`IGatewayRegistry.signsFor`).
    /// @dev A malformed or high-s signature reverts with OpenZeppelin's `ECDSA` errors instead.
    /// @param gateway the header's gateway
    /// @param recovered the address the signature recovers to
    error SettlementInvalidSignature(address gateway, address recovered);
    /// @notice Thrown when a header passed back does not match what was stored for its batch.
    /// @param gateway the header's gateway
    /// @param batchSeq the header's batchSeq
    error SettlementUnknownBatch(address gateway, uint64 batchSeq);
    /// @notice Thrown when a batch is not in a status that allows the call.
    /// @param gateway the enclave key
    /// @param batchSeq the batch
    /// @param status its status
    error SettlementInvalidStatus(address gateway, uint64 batchSeq, BatchStatus status);
    /// @notice Thrown when a challenge or rejection comes at or after the end of the challenge window.
    /// @param gateway the enclave key
    /// @param batchSeq the batch
    /// @param windowEnd unix seconds the window ended
    error SettlementWindowClosed(address gateway, uint64 batchSeq, uint64 windowEnd);
    /// @notice Thrown when finalize comes before the end of the challenge window.
    /// @param gateway the enclave key
    /// @param batchSeq the batch
    /// @param windowEnd unix seconds the window ends
    error SettlementWindowOpen(address gateway, uint64 batchSeq, uint64 windowEnd);
    /// @notice Thrown when an equivocation challenge does not prove two different leaves for one callSeq.
    error SettlementNotEquivocation();
    /// @notice Thrown when a receipt's signature does not recover to the batch's gateway.
    /// @param gateway the batch's gateway
    /// @param recovered the address the signature recovers to
    error SettlementInvalidReceiptSignature(address gateway, address recovered);
    /// @notice Thrown when a receipt belongs to another gateway or lies outside the batch's callSeq range.
    /// @param gateway the receipt's gateway
    /// @param callSeq the receipt's callSeq
    error SettlementReceiptOutOfBatch(address gateway, uint64 callSeq);
    /// @notice Thrown when a Merkle proof does not lead to the batch root.
    error SettlementInvalidProof();
    /// @notice Thrown when a list argument is empty (or two lists differ in length).
    error SettlementEmptyList();
    /// @notice Thrown when a registry-only hook is called by anyone else.
    /// @param caller the caller
    error SettlementOnlyRegistry(address caller);
    /// @notice Thrown on a governance parameter outside its hard bounds.
    /// @param name the parameter
    /// @param value the value refused
    error SettlementInvalidParam(bytes32 name, uint256 value);
    /// @notice Thrown at deployment when the registry or validator set points at another settlement.
    error SettlementMiswired();
    /// @notice Thrown when an orphaned-receipt proof names an account that may still settle it.
    /// @param gateway the receipt's gateway (account)
    error SettlementAccountOpen(address gateway);
    /// @notice Thrown when an orphaned-receipt proof names a callSeq the account has settled (a different
    /// settled leaf is proven with `challengeEquivocation`).
    /// @param gateway the receipt's gateway (account)
    /// @param callSeq the receipt's callSeq
    /// @param nextCallSeq the account's end: callSeqs below it are settled
    error SettlementReceiptNotOrphaned(address gateway, uint64 callSeq, uint64 nextCallSeq);
    /// @notice Thrown when a proven orphaned receipt finds no bond left to take (slashed or withdrawn).
    /// @param gateway the receipt's gateway (account)
    error SettlementNothingToSlash(address gateway);
    /// @notice Thrown when a challenge is revealed without the caller's commitment from an earlier block.
    /// @param commitment the commitment the reveal hashes to
    error SettlementNotCommitted(bytes32 commitment);
    /// @notice Thrown when the attesters given are not the recorded signers of the attestation.
    /// @param attestationId the attestation
    error SettlementWrongAttesters(uint48 attestationId);
    /// @notice Thrown when one finalize call mixes batches of different attestations.
    /// @param first the attestation of the first batch
    /// @param other the attestation of a later batch
    error SettlementMixedAttestations(uint48 first, uint48 other);

    // ---------------------------------------------------------------- events

    /// @notice `from` added `amount` OPG to `gateway`'s fee balance.
    /// @param gateway the enclave key funded
    /// @param from who paid
    /// @param amount OPG added
    event Deposited(address indexed gateway, address indexed from, uint256 amount);
    /// @notice The operator moved `amount` of `gateway`'s balance into its pending withdrawal.
    /// @param gateway the enclave key
    /// @param amount OPG moved by this request
    /// @param pending the whole pending withdrawal now
    /// @param unlockAt unix seconds from which it can be taken
    event WithdrawRequested(address indexed gateway, uint256 amount, uint256 pending, uint64 unlockAt);
    /// @notice The pending withdrawal of `gateway` was paid to `to`.
    /// @param gateway the enclave key
    /// @param to who received it
    /// @param amount OPG paid
    event Withdrawn(address indexed gateway, address indexed to, uint256 amount);

    /// @notice One per batch: every field of the header and its EIP-712 struct hash (the batch's slot
    /// stores only a 160-bit prefix of that hash).
    /// @param gateway the enclave key
    /// @param batchSeq the gateway's batch sequence number
    /// @param firstCallSeq the callSeq of the first leaf
    /// @param count the number of leaves
    /// @param root the Merkle root of the leaves
    /// @param fee the OPG fee moved into escrow
    /// @param headerHash the EIP-712 struct hash of the header
    /// @param usage per-model usage, ascending modelId
    /// @param firstServedAt unix ms of the earliest served call
    /// @param lastServedAt unix ms of the latest served call
    /// @param daURI where validators fetch the receipts
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
    /// @param attestationId the attestation's id (from 1)
    /// @param verdictDigest the EIP-712 digest the quorum signed
    /// @param signers the signers, ascending (pass them to `finalize` and `challengeEquivocation`)
    event Attestation(uint48 indexed attestationId, bytes32 verdictDigest, address[] signers);
    /// @notice The batch was attested by attestation `attestationId`; its challenge window starts now.
    /// @param gateway the enclave key
    /// @param batchSeq the batch
    /// @param attestationId the attestation
    event BatchAttested(address indexed gateway, uint64 indexed batchSeq, uint48 indexed attestationId);
    /// @notice The batch was rejected: by a validator quorum, or by a proof that the enclave equivocated.
    /// @param gateway the enclave key
    /// @param batchSeq the batch
    /// @param equivocation true when proven equivocating, false when rejected by a quorum
    /// @param challenger who proved the equivocation (address(0) for a quorum rejection)
    /// @param refund OPG of the fee returned to the gateway's balance (0 after equivocation)
    event BatchRejected(
        address indexed gateway, uint64 indexed batchSeq, bool indexed equivocation, address challenger, uint256 refund
    );
    /// @notice The batch is final; its fee is split in the call's `FeesDistributed`.
    /// @param gateway the enclave key
    /// @param batchSeq the batch
    /// @param fee the batch's escrowed fee
    event BatchFinalized(address indexed gateway, uint64 indexed batchSeq, uint256 fee);
    /// @notice One per finalize call: how the finalized fees were split.
    /// @param attestationId the attestation whose batches were finalized
    /// @param total the fees of those batches
    /// @param toValidators credited in equal parts to the attestation's signers
    /// @param toTreasury paid to the treasury (with the rounding remainders)
    /// @param burned sent to `BURN_ADDRESS`
    event FeesDistributed(
        uint48 indexed attestationId, uint256 total, uint256 toValidators, uint256 toTreasury, uint256 burned
    );
    /// @notice A receipt the gateway's key signed was proven never settled: its callSeq is at or above the
    /// closed account's end. The key's bond was slashed (`challenger` got the registry's reward share).
    /// @param gateway the account (and the key that signed the receipt)
    /// @param callSeq the orphaned receipt's callSeq
    /// @param nextCallSeq the account's end
    /// @param challenger who proved it
    /// @param slashed the OPG taken from the bond
    event OrphanedReceiptProven(
        address indexed gateway, uint64 callSeq, uint64 nextCallSeq, address indexed challenger, uint256 slashed
    );
    /// @notice `challenger` committed to an equivocation or orphaned-receipt proof, to reveal in a later block.
    /// @param commitment the hash committed to
    /// @param challenger the caller
    event ChallengeCommitted(bytes32 indexed commitment, address indexed challenger);
    /// @notice `validator` took its fee rewards.
    /// @param validator the validator
    /// @param to who received them
    /// @param amount OPG paid
    event RewardsClaimed(address indexed validator, address indexed to, uint256 amount);

    /// @notice Governance set the default fee rate.
    /// @param perCall OPG wei per served call
    /// @param perKiloInputToken OPG wei per 1,000 input tokens
    /// @param perKiloOutputToken OPG wei per 1,000 output tokens
    event FeeRateChanged(uint64 perCall, uint64 perKiloInputToken, uint64 perKiloOutputToken);
    /// @notice Governance set (or removed) the rate of one model.
    /// @param modelId the model
    /// @param enabled false when the model is back on the default rate
    /// @param perCall OPG wei per served call
    /// @param perKiloInputToken OPG wei per 1,000 input tokens
    /// @param perKiloOutputToken OPG wei per 1,000 output tokens
    event ModelFeeRateChanged(
        bytes32 indexed modelId, bool enabled, uint64 perCall, uint64 perKiloInputToken, uint64 perKiloOutputToken
    );
    /// @notice Governance set the largest `count` a batch may have.
    /// @param maxBatchSize the new maximum
    event MaxBatchSizeChanged(uint32 maxBatchSize);
    /// @notice Governance set the challenge window and the withdrawal delay.
    /// @param challengeWindow seconds after attestation during which a batch can be rejected or challenged
    /// @param withdrawDelay seconds between a withdrawal request and the withdrawal
    event WindowsChanged(uint32 challengeWindow, uint32 withdrawDelay);
    /// @notice Governance set how fees are split.
    /// @param validatorBps share of a finalized fee for the attesting quorum
    /// @param treasuryBps share of a finalized fee for the treasury
    /// @param burnBps share of a finalized fee burned
    /// @param rejectedRefundBps share of a quorum-rejected batch's fee refunded to the gateway
    event FeeSplitChanged(uint16 validatorBps, uint16 treasuryBps, uint16 burnBps, uint16 rejectedRefundBps);
    /// @notice Governance set the treasury.
    /// @param treasury the new treasury
    event TreasuryChanged(address indexed treasury);
    /// @notice Governance set the share of an attester's stake slashed for attesting an equivocating batch.
    /// @param attesterSlashBps the new share
    event AttesterSlashChanged(uint16 attesterSlashBps);
    /// @notice The registry mirrored a key's activity into its account (see `syncGateway`).
    /// @param gateway the enclave key
    /// @param activeUntil unix seconds until which it may submit (0: not active)
    event GatewaySynced(address indexed gateway, uint40 activeUntil);
    /// @notice The registry revoked a measurement; every key re-checks with it on its next submission.
    /// @param revocationEpoch the new epoch
    event MeasurementRevocationNoted(uint16 revocationEpoch);

    // ---------------------------------------------------------------- constants and wiring

    /// @notice EIP-712 type hash of a validator verdict over many batches at once:
    /// `Verdict(uint8 verdict,bytes32[] headerHashes)`.
    /// @return the type hash
    function VERDICT_TYPEHASH() external view returns (bytes32);
    /// @notice The verdict that attests batches.
    /// @return 1
    function VERDICT_ATTEST() external view returns (uint8);
    /// @notice The verdict that rejects batches.
    /// @return 2
    function VERDICT_REJECT() external view returns (uint8);
    /// @notice Where burned OPG is sent (OPG need not implement `burn`).
    /// @return the address 0x000000000000000000000000000000000000dEaD
    function BURN_ADDRESS() external view returns (address);
    /// @notice Hard bound on the per-call rate (0.1 OPG), default or per model.
    /// @return the bound in OPG wei
    function MAX_PER_CALL() external view returns (uint64);
    /// @notice Hard bound on the per-1k-token rates (0.1 OPG), default or per model.
    /// @return the bound in OPG wei
    function MAX_PER_KILO_TOKEN() external view returns (uint64);
    /// @notice Hard bound: the treasury takes at most half of a finalized fee.
    /// @return the bound in basis points
    function MAX_TREASURY_BPS() external view returns (uint16);
    /// @notice The OPG token fees are paid in.
    /// @return the token
    function TOKEN() external view returns (IERC20);
    /// @notice The GatewayRegistry (fixed at deployment; it points back at this contract).
    /// @return the registry
    function REGISTRY() external view returns (IGatewayRegistry);
    /// @notice The ValidatorSet (fixed at deployment; it points back at this contract).
    /// @return the validator set
    function VALIDATORS() external view returns (IValidatorSet);
    /// @notice Semantic version of this deployment.
    /// @return the version, e.g. "0.2.0"
    function version() external pure returns (string memory);

    // ---------------------------------------------------------------- deposits

    /// @notice Adds `amount` OPG (pulled from the caller) to `gateway`'s fee balance. Anyone may fund any gateway.
    /// @param gateway the enclave key funded
    /// @param amount OPG pulled from the caller
    function deposit(address gateway, uint256 amount) external;
    /// @notice `deposit` with an EIP-2612 permit. A front-run permit does not block the deposit.
    /// @param gateway the enclave key funded
    /// @param amount OPG pulled from the caller
    /// @param deadline the permit's deadline
    /// @param v the permit signature's v
    /// @param r the permit signature's r
    /// @param s the permit signature's s
    function depositWithPermit(address gateway, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;
    /// @notice Operator-only: moves `amount` from the spendable balance into a pending withdrawal that
    /// can be taken after the withdrawal delay (the delay restarts with every request).
    /// @param gateway the enclave key
    /// @param amount OPG moved
    function requestWithdraw(address gateway, uint256 amount) external;
    /// @notice Operator-only: pays the pending withdrawal of `gateway` to `to` once unlocked.
    /// @param gateway the enclave key
    /// @param to receives the withdrawal
    function withdraw(address gateway, address to) external;

    // ---------------------------------------------------------------- lifecycle

    /// @notice Settles a batch header signed by the enclave key `header.gateway`, or, once that key was
    /// retired by key succession, by its active successor (`IGatewayRegistry.signsFor`). Anyone may relay.
    /// Checks: the EIP-712 signature (low-s) is the gateway's and the gateway active, or the successor's,
    /// `batchSeq`/`firstCallSeq` are the gateway's next ones (gap-free, each callSeq settled once),
    /// 1 <= count <= max, usage sorted and not above count, fee equals the schedule, balance covers it.
    /// @param header the batch header
    /// @param enclaveSig the enclave key's signature over `headerDigest(header)`
    function submitBatch(BatchHeader calldata header, CompactSignature calldata enclaveSig) external;
    /// @notice Settles several signed headers in one transaction (any gateways, in order), so a relayer
    /// spreads the transaction's base cost over all of them. Each is checked exactly as by `submitBatch`;
    /// one invalid header reverts the whole call.
    /// @param headers the batch headers
    /// @param enclaveSigs one signature per header, in the same order
    function submitBatches(BatchHeader[] calldata headers, CompactSignature[] calldata enclaveSigs) external;
    /// @notice A validator quorum attests that it holds the receipts behind each batch and that they
    /// match its header: Submitted -> Attested, which starts each batch's challenge window. One quorum
    /// signature covers any number of batches; its signers are recorded (one slot per call) and earn the
    /// validator share of these batches' fees when they finalize.
    /// @param batches the batches attested
    /// @param sigs a quorum's signatures over `verdictDigest(1, headerHashes)`, ascending by signer
    function attest(BatchRef[] calldata batches, CompactSignature[] calldata sigs) external;
    /// @notice A validator quorum rejects batches (data withheld, root or usage wrong): a Submitted batch
    /// at any time, an Attested one within its challenge window. The gateway loses the fee (refunded
    /// only by `rejectedRefundBps`, the rest to the treasury) and `rejectedSlashBps` of its bond.
    /// @param headers the rejected batches' headers
    /// @param sigs a quorum's signatures over `verdictDigest(2, headerHashes)`, ascending by signer
    function reject(BatchHeader[] calldata headers, CompactSignature[] calldata sigs) external;
    /// @notice First step of an equivocation challenge: commits to `keccak256(abi.encode(challenger,
    /// headerHash, signedReceiptHash, salt))` (an orphaned-receipt proof: `keccak256(abi.encode(challenger,
    /// signedReceiptHash, salt))`). The proof is revealed in a later block; whoever copies
    /// the reveal from the mempool has no commitment and earns nothing.
    /// @param commitment the hash committed to
    function commitChallenge(bytes32 commitment) external;
    /// @notice Reveals a committed proof that the enclave equivocated: it signed a receipt for callSeq s,
    /// but the settled batch holds a different leaf for s. From submission until the challenge window
    /// ends: the batch is Rejected (fee to the treasury), the gateway's bond slashed (the caller gets the
    /// registry's challenger share) and its key banned; if a quorum had attested the batch, each attester
    /// loses `attesterSlashBps` of its stake.
    /// @param header the settled header
    /// @param e the signed receipt, the settled leaf and its Merkle proof
    /// @param salt the salt of the caller's commitment
    /// @param attesters the signers of the batch's attestation (empty while it is only Submitted)
    function challengeEquivocation(
        BatchHeader calldata header,
        EquivocationProof calldata e,
        bytes32 salt,
        address[] calldata attesters
    ) external;
    /// @notice Proves that the gateway's key signed a receipt its account will never settle: the account
    /// is closed (`IGatewayRegistry.accountClosed`: bond withdrawal requested, closed after retirement,
    /// or slashed) and the receipt's callSeq is at or above its end (`nextSeqs`). Nobody can settle that
    /// call any more, so the key's whole bond is slashed (the challenger gets the registry's reward
    /// share) and the key banned. Reveal of a `commitChallenge` made in an earlier block with
    /// keccak256(abi.encode(msg.sender, receiptStructHash, salt)). Anyone may call.
    /// @param receipt the receipt the gateway's key signed
    /// @param receiptSig the key's EIP-712 signature over it
    /// @param salt the salt of the caller's commitment
    function challengeOrphanedReceipt(Receipt calldata receipt, CompactSignature calldata receiptSig, bytes32 salt)
        external;
    /// @notice Anyone finalizes batches of one attestation once their challenge window (from attestation)
    /// has passed: Attested -> Finalized. Of their escrowed fees, the validator share goes in equal parts
    /// to the attestation's signers (claimable), the rest to burn and treasury (with rounding dust).
    /// @param headers the batches' headers, all attested by the same attestation
    /// @param attesters that attestation's signers, ascending (see the `Attestation` event)
    function finalize(BatchHeader[] calldata headers, address[] calldata attesters) external;
    /// @notice A validator takes the fee rewards it is owed (for batches it attested that finalized).
    /// @param to receives the rewards
    /// @return amount the OPG paid
    function claimRewards(address to) external returns (uint256 amount);

    // ---------------------------------------------------------------- registry hooks

    /// @notice Registry-only: mirrors the key's `activeUntil` into its account slot, so the hot path
    /// reads one slot instead of calling the registry.
    /// @param gateway the enclave key
    /// @param activeUntil unix seconds until which it may submit (0: not active)
    function syncGateway(address gateway, uint40 activeUntil) external;
    /// @notice Registry-only: a measurement was revoked; every key approved before this re-checks
    /// its measurement with the registry on its next submission.
    function noteMeasurementRevoked() external;

    // ---------------------------------------------------------------- governance (owner)

    /// @notice Sets the default fee rate (each rate within its hard bound). Batches already submitted
    /// keep the fee they escrowed.
    /// @param rate the new rate
    function setFeeRate(FeeRate calldata rate) external;
    /// @notice Sets (or, with `enabled` false, removes) a per-model rate that replaces the default.
    /// @param modelId the model
    /// @param rate its rate (within the hard bounds)
    /// @param enabled false to fall back to the default rate
    function setModelFeeRate(bytes32 modelId, FeeRate calldata rate, bool enabled) external;
    /// @notice Sets the largest `count` a batch may have.
    /// @param maxBatchSize at least 1
    function setMaxBatchSize(uint32 maxBatchSize) external;
    /// @notice Sets the challenge window (which can only grow, and never beyond the validators' exit
    /// delay) and the withdrawal delay.
    /// @param challengeWindow seconds after attestation during which a batch can be rejected or challenged
    /// @param withdrawDelay seconds between a withdrawal request and the withdrawal
    function setWindows(uint32 challengeWindow, uint32 withdrawDelay) external;
    /// @notice Sets how fees are split.
    /// @param validatorBps share of a finalized fee for the attesting quorum
    /// @param treasuryBps share of a finalized fee for the treasury (at most `MAX_TREASURY_BPS`)
    /// @param burnBps share of a finalized fee burned (the three sum to 10,000)
    /// @param rejectedRefundBps share of a quorum-rejected batch's fee refunded to the gateway
    function setFeeSplit(uint16 validatorBps, uint16 treasuryBps, uint16 burnBps, uint16 rejectedRefundBps)
        external;
    /// @notice Sets where the treasury share of fees, and slashed bonds and stakes, go.
    /// @param treasury_ the new treasury (not zero)
    function setTreasury(address treasury_) external;
    /// @notice Sets the share of each attester's stake slashed when its batch is proven equivocating.
    /// @param attesterSlashBps at most 10,000
    function setAttesterSlashBps(uint16 attesterSlashBps) external;

    // ---------------------------------------------------------------- views

    /// @notice The status of the batch that holds `receipt`: None unless `receipt` is a leaf of `header`'s
    /// batch (proven by `proof`) and `header` is the one stored; otherwise Submitted (not yet checked by
    /// validators), Attested (receipts held by a quorum, challenge window running), Finalized (final)
    /// or Rejected. Only Finalized is final. The leaf is hashed here from the receipt's fields, so an
    /// inner node can never pass as a leaf (no 64-byte second preimage).
    /// @param header the settled header
    /// @param receipt the receipt as signed by the enclave
    /// @param proof Merkle proof of the receipt's leaf
    /// @return status the batch's status, or None when the receipt is not proven in it
    function verifyReceipt(BatchHeader calldata header, Receipt calldata receipt, bytes32[] calldata proof)
        external
        view
        returns (BatchStatus status);
    /// @notice A batch: its status, when it was submitted or (once attested) attested, when its challenge
    /// window ends (0 until a quorum attests it), the attestation that attested it (0 before) and the
    /// stored 160-bit prefix of its header hash.
    /// @param gateway the enclave key
    /// @param batchSeq the batch's sequence number
    /// @return status None, Submitted, Attested, Finalized or Rejected
    /// @return since unix seconds of submission, or of attestation once attested (finalizing or
    /// rejecting does not change it)
    /// @return windowEnd unix seconds the challenge window ends (0 while not attested)
    /// @return attestationId the attestation's id (0 while not attested)
    /// @return headerHashPrefix the top 160 bits of the header hash
    function batch(address gateway, uint64 batchSeq)
        external
        view
        returns (BatchStatus status, uint64 since, uint64 windowEnd, uint48 attestationId, bytes32 headerHashPrefix);
    /// @notice Batches of `gateway` not yet Finalized or Rejected (its bond cannot leave before 0).
    /// @param gateway the enclave key
    /// @return open the number of open batches
    function openBatches(address gateway) external view returns (uint256 open);
    /// @notice Fee rewards `validator` can claim.
    /// @param validator the validator
    /// @return amount OPG owed
    function rewardsOwed(address validator) external view returns (uint256 amount);
    /// @notice Where the treasury share of fees, and slashed bonds and stakes, go.
    /// @return the treasury address
    function treasury() external view returns (address);
    /// @notice Seconds after attestation during which a batch can be rejected or challenged.
    /// @return the challenge window in seconds
    function challengeWindow() external view returns (uint32);
    /// @notice All governance parameters but the fee rates at once.
    /// @return maxBatchSize the largest `count` a batch may have
    /// @return challengeWindow seconds after attestation during which a batch can be rejected or challenged
    /// @return withdrawDelay seconds between a withdrawal request and the withdrawal
    /// @return validatorBps share of a finalized fee for the attesting quorum
    /// @return treasuryBps share of a finalized fee for the treasury
    /// @return burnBps share of a finalized fee burned
    /// @return rejectedRefundBps share of a quorum-rejected batch's fee refunded to the gateway
    /// @return attesterSlashBps share of an attester's stake slashed for attesting an equivocating batch
    /// @return treasury_ the treasury
    function params()
        external
        view
        returns (
            uint32 maxBatchSize,
            uint32 challengeWindow,
            uint32 withdrawDelay,
            uint16 validatorBps,
            uint16 treasuryBps,
            uint16 burnBps,
            uint16 rejectedRefundBps,
            uint16 attesterSlashBps,
            address treasury_
        );
    /// @notice The callSeq and batchSeq the gateway's next batch must start at.
    /// @param gateway the enclave key
    /// @return nextCallSeq the next batch's `firstCallSeq`
    /// @return nextBatchSeq the next batch's `batchSeq`
    function nextSeqs(address gateway) external view returns (uint64 nextCallSeq, uint64 nextBatchSeq);
    /// @notice Spendable fee balance of `gateway`.
    /// @param gateway the enclave key
    /// @return the balance in OPG wei
    function balanceOf(address gateway) external view returns (uint256);
    /// @notice The pending withdrawal of `gateway`.
    /// @param gateway the enclave key
    /// @return amount OPG pending (0: none)
    /// @return unlockAt unix seconds from which it can be taken
    function pendingWithdrawal(address gateway) external view returns (uint256 amount, uint64 unlockAt);
    /// @notice The fee the schedule asks for `usage` (usage must be sorted by modelId).
    /// @param usage per-model usage, strictly ascending modelId
    /// @return the fee in OPG wei
    function computeFee(ModelUsage[] calldata usage) external view returns (uint256);
    /// @notice The EIP-712 digest validators sign for a verdict (1 = attest, 2 = reject) on batches.
    /// @param verdict `VERDICT_ATTEST` or `VERDICT_REJECT`
    /// @param headerHashes the batches' header hashes, in the order they are passed
    /// @return the digest
    function verdictDigest(uint8 verdict, bytes32[] calldata headerHashes) external view returns (bytes32);
    /// @notice The EIP-712 digest of a header, as the enclave signs it.
    /// @param header the batch header
    /// @return the digest
    function headerDigest(BatchHeader calldata header) external view returns (bytes32);
    /// @notice The default fee rate.
    /// @return the rate
    function feeRate() external view returns (FeeRate memory);
    /// @notice The rate of one model.
    /// @param modelId the model
    /// @return rate its rate
    /// @return enabled false when the model pays the default rate
    function modelFeeRate(bytes32 modelId) external view returns (FeeRate memory rate, bool enabled);
}
