// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {
    BatchHeader, BatchRef, BatchStatus, CompactSignature, EquivocationProof, FeeRate, ModelUsage, Receipt
} from "./Types.sol";
import {IProofSettlement} from "./interfaces/IProofSettlement.sol";
import {IGatewayRegistry} from "./interfaces/IGatewayRegistry.sol";
import {IValidatorSet} from "./interfaces/IValidatorSet.sol";
import {BatchSlot} from "./libraries/BatchSlot.sol";
import {FeeMath} from "./libraries/FeeMath.sol";
import {Hashing} from "./libraries/Hashing.sol";

/// @title ProofSettlement
/// @notice The core of proofpath. Gateways (enclave keys) settle batches of receipts: the enclave signs
/// a header (Merkle root + usage + fee), anyone relays it, the fee moves from the gateway's deposit into
/// escrow, and the batch costs exactly one new storage slot; everything else goes to events. A validator
/// quorum attests once it holds the receipts, which starts the challenge window; anyone can prove
/// equivocation from submission until the window ends (commit, then reveal, so a proof copied from the
/// mempool earns nothing); after it anyone finalizes, paying the fee's validator share to the signers of
/// the attesting quorum and the rest to treasury and burn. A quorum-rejected batch costs the gateway its
/// fee (less the `rejectedRefundBps` refund) and a bond penalty. A receipt the key signed that its
/// account never settles (at or above the end of a closed account) costs the key its bond.
/// @dev Fee conservation: every OPG that enters by `deposit` leaves by `withdraw`, `claimRewards`,
/// the treasury or the burn address, or sits in a balance, a pending withdrawal, the escrow of an
/// unfinalized batch, or validators' unclaimed rewards.
/// @custom:semver 0.2.0
contract ProofSettlement is IProofSettlement, EIP712, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using BatchSlot for bytes32;

    /// @dev One slot per gateway on the hot path. `activeUntil` and `epoch` mirror the registry
    /// (see `syncGateway`), so `submitBatch` needs no external call.
    struct Account {
        uint96 balance; // spendable OPG
        uint64 nextCallSeq;
        uint40 nextBatchSeq;
        uint40 activeUntil; // unix seconds, mirrored from the registry
        uint16 epoch; // revocation epoch at which the registry last vouched for the key
    }

    /// @dev One slot read on the hot path: the default fee rate and the batch-size bound.
    /// Flat (no nested struct) so it packs into a single slot.
    struct Config {
        uint64 perCall;
        uint64 perKiloInputToken;
        uint64 perKiloOutputToken;
        uint32 maxBatchSize;
        uint16 revocationEpoch;
        uint8 modelRatesEnabled; // 1 once any per-model rate was set (skips lookups until then)
    }

    struct Withdrawal {
        uint128 amount;
        uint64 unlockAt;
    }

    struct ModelRate {
        FeeRate rate;
        bool enabled;
    }

    /// @inheritdoc IProofSettlement
    bytes32 public constant VERDICT_TYPEHASH = keccak256("Verdict(uint8 verdict,bytes32[] headerHashes)");
    /// @inheritdoc IProofSettlement
    uint8 public constant VERDICT_ATTEST = 1;
    /// @inheritdoc IProofSettlement
    uint8 public constant VERDICT_REJECT = 2;
    uint16 private constant _BPS = 10_000;
    /// @inheritdoc IProofSettlement
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;
    /// @inheritdoc IProofSettlement
    uint64 public constant MAX_PER_CALL = 1e17;
    /// @inheritdoc IProofSettlement
    uint64 public constant MAX_PER_KILO_TOKEN = 1e17;
    /// @inheritdoc IProofSettlement
    uint16 public constant MAX_TREASURY_BPS = 5_000;

    /// @inheritdoc IProofSettlement
    IERC20 public immutable TOKEN;
    /// @inheritdoc IProofSettlement
    IGatewayRegistry public immutable REGISTRY;
    /// @inheritdoc IProofSettlement
    IValidatorSet public immutable VALIDATORS;

    Config private _config;
    uint32 private _challengeWindow;
    uint32 private _withdrawDelay;
    uint16 private _validatorBps;
    uint16 private _treasuryBps;
    uint16 private _burnBps;
    uint16 private _rejectedRefundBps;
    uint16 private _attesterSlashBps;
    uint48 private _attestationCount;
    address private _treasury;

    mapping(address gateway => Account account) private _accounts;
    mapping(address gateway => Withdrawal withdrawal) private _withdrawals;
    mapping(address gateway => mapping(uint64 batchSeq => bytes32 slot)) private _batches;
    mapping(bytes32 modelId => ModelRate rate) private _modelRates;
    /// @dev Per attestation (one per `attest` call): keccak256 of its signers, ascending.
    mapping(uint48 attestationId => bytes32 signersHash) private _attesters;
    /// @dev Per gateway: batches that reached Finalized or Rejected (open = nextBatchSeq - closed).
    mapping(address gateway => uint64 closed) private _closed;
    mapping(address validator => uint256 amount) private _rewards;
    mapping(bytes32 commitment => uint256 blockNumber) private _commits;

    /// @notice Launch parameters; governance can change them later (the challenge window only upward).
    struct InitParams {
        address owner;
        address treasury;
        FeeRate rate;
        uint32 maxBatchSize;
        uint32 challengeWindow; // seconds
        uint32 withdrawDelay; // seconds
        uint16 validatorBps;
        uint16 treasuryBps;
        uint16 burnBps;
        uint16 rejectedRefundBps; // share of a quorum-rejected batch's fee refunded to the gateway; the rest goes to the treasury
        uint16 attesterSlashBps; // share of each attester's stake slashed when its batch is proven equivocating
    }

    /// @param token the OPG token fees are paid in
    /// @param registry the GatewayRegistry, deployed with this contract's address
    /// @param validatorSet the ValidatorSet, deployed with this contract's address
    /// @param p launch parameters (within the hard bounds)
    constructor(IERC20 token, IGatewayRegistry registry, IValidatorSet validatorSet, InitParams memory p)
        EIP712("proofpath", "1")
        Ownable(p.owner)
    {
        if (address(token) == address(0) || address(registry) == address(0) || address(validatorSet) == address(0)) {
            revert SettlementZeroAddress();
        }
        // The others were deployed pointing at this address; a wrong prediction fails here, not later.
        if (address(registry.SETTLEMENT()) != address(this) || validatorSet.SETTLEMENT() != address(this)) {
            revert SettlementMiswired();
        }
        TOKEN = token;
        REGISTRY = registry;
        VALIDATORS = validatorSet;
        _setTreasury(p.treasury);
        _setFeeRate(p.rate);
        _setMaxBatchSize(p.maxBatchSize);
        _setWindows(p.challengeWindow, p.withdrawDelay);
        _setFeeSplit(p.validatorBps, p.treasuryBps, p.burnBps, p.rejectedRefundBps);
        _setAttesterSlashBps(p.attesterSlashBps);
    }

    /// @inheritdoc IProofSettlement
    function version() external pure returns (string memory) {
        return "0.2.0";
    }

    // =================================================================== deposits

    /// @inheritdoc IProofSettlement
    function deposit(address gateway, uint256 amount) external nonReentrant {
        _deposit(gateway, amount);
    }

    /// @inheritdoc IProofSettlement
    function depositWithPermit(address gateway, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        try IERC20Permit(address(TOKEN)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(gateway, amount);
    }

    /// @inheritdoc IProofSettlement
    function requestWithdraw(address gateway, uint256 amount) external {
        _checkOperator(gateway);
        if (amount == 0) revert SettlementZeroAmount();
        Account storage acct = _accounts[gateway];
        if (acct.balance < amount) revert SettlementInsufficientBalance(gateway, acct.balance, amount);
        acct.balance -= uint96(amount); // amount <= balance, a uint96: fits
        Withdrawal storage w = _withdrawals[gateway];
        uint64 unlockAt = SafeCast.toUint64(_time()) + _withdrawDelay;
        w.amount += uint128(amount); // amount <= balance < 2^96: fits (the sum is checked)
        w.unlockAt = unlockAt;
        emit WithdrawRequested(gateway, amount, w.amount, unlockAt);
    }

    /// @inheritdoc IProofSettlement
    function withdraw(address gateway, address to) external nonReentrant {
        _checkOperator(gateway);
        if (to == address(0)) revert SettlementZeroAddress();
        Withdrawal memory w = _withdrawals[gateway];
        if (w.amount == 0) revert SettlementNoWithdrawal(gateway);
        if (_time() < w.unlockAt) revert SettlementWithdrawalLocked(gateway, w.unlockAt);
        delete _withdrawals[gateway];
        emit Withdrawn(gateway, to, w.amount);
        TOKEN.safeTransfer(to, w.amount);
    }

    // =================================================================== submission

    /// @inheritdoc IProofSettlement
    /// @dev The checks are in `_submit`, shared with `submitBatches`.
    function submitBatch(BatchHeader calldata header, CompactSignature calldata enclaveSig) external {
        _submit(header, enclaveSig);
    }

    /// @inheritdoc IProofSettlement
    function submitBatches(BatchHeader[] calldata headers, CompactSignature[] calldata enclaveSigs) external {
        uint256 n = headers.length;
        if (n == 0 || n != enclaveSigs.length) revert SettlementEmptyList();
        for (uint256 i; i < n; ++i) {
            _submit(headers[i], enclaveSigs[i]);
        }
    }

    function _submit(BatchHeader calldata header, CompactSignature calldata enclaveSig) private {
        address gateway = header.gateway;
        Config memory cfg = _config;
        Account memory acct = _accounts[gateway];

        bytes32 headerHash = Hashing.hashHeader(header);
        address signer = ECDSA.recover(_hashTypedDataV4(headerHash), enclaveSig.r, enclaveSig.vs);
        if (signer == gateway) {
            if (acct.activeUntil <= _time()) revert SettlementGatewayInactive(gateway);
            if (acct.epoch != cfg.revocationEpoch) {
                // A measurement was revoked since the registry last vouched for this key: ask it once.
                if (!REGISTRY.isActive(gateway)) revert SettlementGatewayInactive(gateway);
                acct.epoch = cfg.revocationEpoch;
            }
        } else if (!REGISTRY.signsFor(gateway, signer)) {
            // Off the hot path: only a retired key's active successor signs for its account.
            revert SettlementInvalidSignature(gateway, signer);
        }
        if (header.batchSeq != acct.nextBatchSeq) {
            revert SettlementUnexpectedBatchSeq(gateway, acct.nextBatchSeq, header.batchSeq);
        }
        if (header.firstCallSeq != acct.nextCallSeq) {
            revert SettlementUnexpectedCallSeq(gateway, acct.nextCallSeq, header.firstCallSeq);
        }
        uint32 count = header.count;
        if (count == 0 || count > cfg.maxBatchSize) revert SettlementInvalidCount(count, cfg.maxBatchSize);
        if (header.firstServedAt > header.lastServedAt) {
            revert SettlementInvalidServedAt(header.firstServedAt, header.lastServedAt);
        }

        uint256 fee = _computeFee(header.usage, count, cfg);
        if (fee != header.fee) revert SettlementFeeMismatch(fee, header.fee);
        if (acct.balance < fee) revert SettlementInsufficientBalance(gateway, acct.balance, fee);

        unchecked {
            // fee <= balance, a uint96, so the cast and the subtraction are exact; callSeq/batchSeq
            // overflow would need 2^64 calls / 2^40 batches.
            acct.balance -= uint96(fee);
            acct.nextCallSeq += count;
            acct.nextBatchSeq += 1;
        }
        _accounts[gateway] = acct;
        // _time() < the signer's activeUntil, a uint40 (checked above or by the registry): the cast is exact.
        _batches[gateway][header.batchSeq] = BatchSlot.pack(headerHash, uint40(_time()), BatchStatus.Submitted);

        _emitSubmitted(header, headerHash);
    }

    // =================================================================== validator verdicts

    /// @inheritdoc IProofSettlement
    function attest(BatchRef[] calldata batches, CompactSignature[] calldata sigs) external {
        uint256 n = batches.length;
        if (n == 0) revert SettlementEmptyList();
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            hashes[i] = batches[i].headerHash;
        }
        bytes32 digest = _verdictDigest(VERDICT_ATTEST, hashes);
        address[] memory signers = VALIDATORS.verifyQuorum(digest, sigs);
        uint48 id = ++_attestationCount;
        _attesters[id] = keccak256(abi.encodePacked(signers));
        emit Attestation(id, digest, signers);

        uint40 now_ = SafeCast.toUint40(_time());
        for (uint256 i; i < n; ++i) {
            BatchRef calldata b = batches[i];
            bytes32 slot = _loadBatch(b.gateway, b.batchSeq, b.headerHash);
            if (slot.status() != BatchStatus.Submitted) {
                revert SettlementInvalidStatus(b.gateway, b.batchSeq, slot.status());
            }
            _batches[b.gateway][b.batchSeq] = slot.attested(id, now_);
            emit BatchAttested(b.gateway, b.batchSeq, id);
        }
    }

    /// @inheritdoc IProofSettlement
    function reject(BatchHeader[] calldata headers, CompactSignature[] calldata sigs) external nonReentrant {
        uint256 n = headers.length;
        if (n == 0) revert SettlementEmptyList();
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            hashes[i] = Hashing.hashHeader(headers[i]);
        }
        VALIDATORS.verifyQuorum(_verdictDigest(VERDICT_REJECT, hashes), sigs);

        uint256 toTreasury;
        for (uint256 i; i < n; ++i) {
            BatchHeader calldata h = headers[i];
            bytes32 slot = _loadBatch(h.gateway, h.batchSeq, hashes[i]);
            _checkChallengeable(h.gateway, h.batchSeq, slot);
            toTreasury += _rejectBatch(h, slot, false, address(0));
            REGISTRY.penalize(h.gateway);
        }
        _payTreasury(toTreasury);
    }

    /// @inheritdoc IProofSettlement
    function commitChallenge(bytes32 commitment) external {
        if (_commits[commitment] == 0) _commits[commitment] = block.number;
        emit ChallengeCommitted(commitment, msg.sender);
    }

    /// @inheritdoc IProofSettlement
    function challengeEquivocation(
        BatchHeader calldata header,
        EquivocationProof calldata e,
        bytes32 salt,
        address[] calldata attesters
    ) external nonReentrant {
        address gateway = header.gateway;
        bytes32 headerHash = Hashing.hashHeader(header);
        bytes32 slot = _loadBatch(gateway, header.batchSeq, headerHash);
        _checkChallengeable(gateway, header.batchSeq, slot);
        _useCommitment(keccak256(abi.encode(msg.sender, headerHash, Hashing.hashReceipt(e.signedReceipt), salt)));
        _checkEquivocation(header, e);

        _payTreasury(_rejectBatch(header, slot, true, msg.sender));
        REGISTRY.slash(gateway, msg.sender);
        if (slot.status() == BatchStatus.Attested) {
            _checkAttesters(slot.attestationId(), attesters);
            VALIDATORS.slashAttesters(attesters, _attesterSlashBps, msg.sender);
        }
    }

    /// @inheritdoc IProofSettlement
    function challengeOrphanedReceipt(Receipt calldata receipt, CompactSignature calldata receiptSig, bytes32 salt)
        external
        nonReentrant
    {
        address gateway = receipt.gateway;
        bytes32 receiptHash = Hashing.hashReceipt(receipt);
        _useCommitment(keccak256(abi.encode(msg.sender, receiptHash, salt)));
        // Only the account's own key signs its receipts; a successor only settles them.
        address signer = ECDSA.recover(_hashTypedDataV4(receiptHash), receiptSig.r, receiptSig.vs);
        if (signer != gateway) revert SettlementInvalidReceiptSignature(gateway, signer);
        uint64 nextCallSeq = _accounts[gateway].nextCallSeq;
        if (receipt.callSeq < nextCallSeq) revert SettlementReceiptNotOrphaned(gateway, receipt.callSeq, nextCallSeq);
        if (!REGISTRY.accountClosed(gateway)) revert SettlementAccountOpen(gateway);

        uint256 slashed = REGISTRY.slash(gateway, msg.sender);
        if (slashed == 0) revert SettlementNothingToSlash(gateway);
        emit OrphanedReceiptProven(gateway, receipt.callSeq, nextCallSeq, msg.sender, slashed);
    }

    /// @inheritdoc IProofSettlement
    function finalize(BatchHeader[] calldata headers, address[] calldata attesters) external nonReentrant {
        uint256 n = headers.length;
        if (n == 0) revert SettlementEmptyList();
        uint256 now_ = _time();
        uint32 window = _challengeWindow;
        uint48 id;
        uint256 total;
        for (uint256 i; i < n; ++i) {
            BatchHeader calldata h = headers[i];
            bytes32 slot = _loadBatch(h.gateway, h.batchSeq, Hashing.hashHeader(h));
            if (slot.status() != BatchStatus.Attested) {
                revert SettlementInvalidStatus(h.gateway, h.batchSeq, slot.status());
            }
            if (i == 0) id = slot.attestationId();
            else if (slot.attestationId() != id) revert SettlementMixedAttestations(id, slot.attestationId());
            uint64 windowEnd = slot.since() + window;
            if (now_ < windowEnd) revert SettlementWindowOpen(h.gateway, h.batchSeq, windowEnd);
            _batches[h.gateway][h.batchSeq] = slot.withStatus(BatchStatus.Finalized);
            ++_closed[h.gateway];
            total += h.fee;
            emit BatchFinalized(h.gateway, h.batchSeq, h.fee);
        }
        _checkAttesters(id, attesters);
        if (total == 0) {
            emit FeesDistributed(id, 0, 0, 0, 0);
            return;
        }
        uint256 burned = (total * _burnBps) / _BPS;
        uint256 k = attesters.length;
        uint256 perSigner = ((total * _validatorBps) / _BPS) / k;
        for (uint256 i; i < k; ++i) {
            _rewards[attesters[i]] += perSigner;
        }
        // Rounding remainders go to the treasury, so fees are conserved exactly.
        uint256 toTreasury = total - burned - perSigner * k;
        emit FeesDistributed(id, total, perSigner * k, toTreasury, burned);
        _payTreasury(toTreasury);
        if (burned != 0) TOKEN.safeTransfer(BURN_ADDRESS, burned);
    }

    /// @inheritdoc IProofSettlement
    function claimRewards(address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert SettlementZeroAddress();
        amount = _rewards[msg.sender];
        if (amount == 0) revert SettlementZeroAmount();
        delete _rewards[msg.sender];
        emit RewardsClaimed(msg.sender, to, amount);
        TOKEN.safeTransfer(to, amount);
    }

    // =================================================================== registry hooks

    /// @inheritdoc IProofSettlement
    function syncGateway(address gateway, uint40 activeUntil) external {
        if (msg.sender != address(REGISTRY)) revert SettlementOnlyRegistry(msg.sender);
        Account storage acct = _accounts[gateway];
        acct.activeUntil = activeUntil;
        acct.epoch = _config.revocationEpoch;
        emit GatewaySynced(gateway, activeUntil);
    }

    /// @inheritdoc IProofSettlement
    function noteMeasurementRevoked() external {
        if (msg.sender != address(REGISTRY)) revert SettlementOnlyRegistry(msg.sender);
        uint16 epoch = ++_config.revocationEpoch; // reverts after 65,535 revocations rather than wrap
        emit MeasurementRevocationNoted(epoch);
    }

    // =================================================================== views

    /// @inheritdoc IProofSettlement
    function verifyReceipt(BatchHeader calldata header, Receipt calldata receipt, bytes32[] calldata proof)
        external
        view
        returns (BatchStatus status)
    {
        bytes32 slot = _batches[header.gateway][header.batchSeq];
        if (!slot.matches(Hashing.hashHeader(header))) return BatchStatus.None;
        if (
            receipt.gateway != header.gateway || receipt.callSeq < header.firstCallSeq
                || receipt.callSeq - header.firstCallSeq >= header.count
        ) return BatchStatus.None;
        if (!MerkleProof.verifyCalldata(proof, header.root, Hashing.leaf(Hashing.hashReceipt(receipt)))) {
            return BatchStatus.None;
        }
        return slot.status();
    }

    /// @inheritdoc IProofSettlement
    function batch(address gateway, uint64 batchSeq)
        external
        view
        returns (BatchStatus status, uint64 since, uint64 windowEnd, uint48 attestationId, bytes32 headerHashPrefix)
    {
        bytes32 slot = _batches[gateway][batchSeq];
        if (slot == 0) return (BatchStatus.None, 0, 0, 0, 0);
        status = slot.status();
        since = slot.since();
        attestationId = slot.attestationId();
        if (attestationId != 0) windowEnd = since + _challengeWindow;
        return (status, since, windowEnd, attestationId, slot.hashPrefix());
    }

    /// @inheritdoc IProofSettlement
    function openBatches(address gateway) external view returns (uint256 open) {
        return _accounts[gateway].nextBatchSeq - _closed[gateway];
    }

    /// @inheritdoc IProofSettlement
    function rewardsOwed(address validator) external view returns (uint256 amount) {
        return _rewards[validator];
    }

    /// @inheritdoc IProofSettlement
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IProofSettlement
    function nextSeqs(address gateway) external view returns (uint64 nextCallSeq, uint64 nextBatchSeq) {
        Account memory acct = _accounts[gateway];
        return (acct.nextCallSeq, acct.nextBatchSeq);
    }

    /// @inheritdoc IProofSettlement
    function balanceOf(address gateway) external view returns (uint256) {
        return _accounts[gateway].balance;
    }

    /// @inheritdoc IProofSettlement
    function pendingWithdrawal(address gateway) external view returns (uint256 amount, uint64 unlockAt) {
        Withdrawal memory w = _withdrawals[gateway];
        return (w.amount, w.unlockAt);
    }

    /// @inheritdoc IProofSettlement
    function computeFee(ModelUsage[] calldata usage) external view returns (uint256) {
        return _computeFee(usage, type(uint32).max, _config);
    }

    /// @inheritdoc IProofSettlement
    function verdictDigest(uint8 verdict, bytes32[] calldata headerHashes) external view returns (bytes32) {
        return _verdictDigest(verdict, headerHashes);
    }

    /// @inheritdoc IProofSettlement
    function headerDigest(BatchHeader calldata header) external view returns (bytes32) {
        return _hashTypedDataV4(Hashing.hashHeader(header));
    }

    /// @inheritdoc IProofSettlement
    function feeRate() external view returns (FeeRate memory) {
        Config memory c = _config;
        return FeeRate(c.perCall, c.perKiloInputToken, c.perKiloOutputToken);
    }

    /// @inheritdoc IProofSettlement
    function modelFeeRate(bytes32 modelId) external view returns (FeeRate memory rate, bool enabled) {
        ModelRate memory m = _modelRates[modelId];
        return (m.rate, m.enabled);
    }

    /// @inheritdoc IProofSettlement
    function challengeWindow() external view returns (uint32) {
        return _challengeWindow;
    }

    /// @inheritdoc IProofSettlement
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
        )
    {
        return (
            _config.maxBatchSize,
            _challengeWindow,
            _withdrawDelay,
            _validatorBps,
            _treasuryBps,
            _burnBps,
            _rejectedRefundBps,
            _attesterSlashBps,
            _treasury
        );
    }

    // =================================================================== governance

    /// @inheritdoc IProofSettlement
    function setFeeRate(FeeRate calldata rate) external onlyOwner {
        _setFeeRate(rate);
    }

    /// @inheritdoc IProofSettlement
    function setModelFeeRate(bytes32 modelId, FeeRate calldata rate, bool enabled) external onlyOwner {
        _checkRate(rate);
        _modelRates[modelId] = ModelRate(rate, enabled);
        if (enabled) _config.modelRatesEnabled = 1;
        emit ModelFeeRateChanged(modelId, enabled, rate.perCall, rate.perKiloInputToken, rate.perKiloOutputToken);
    }

    /// @inheritdoc IProofSettlement
    function setMaxBatchSize(uint32 maxBatchSize) external onlyOwner {
        _setMaxBatchSize(maxBatchSize);
    }

    /// @inheritdoc IProofSettlement
    function setWindows(uint32 challengeWindow, uint32 withdrawDelay) external onlyOwner {
        _setWindows(challengeWindow, withdrawDelay);
    }

    /// @inheritdoc IProofSettlement
    function setFeeSplit(uint16 validatorBps, uint16 treasuryBps, uint16 burnBps, uint16 rejectedRefundBps)
        external
        onlyOwner
    {
        _setFeeSplit(validatorBps, treasuryBps, burnBps, rejectedRefundBps);
    }

    /// @inheritdoc IProofSettlement
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @inheritdoc IProofSettlement
    function setAttesterSlashBps(uint16 attesterSlashBps) external onlyOwner {
        _setAttesterSlashBps(attesterSlashBps);
    }

    // =================================================================== internals

    /// @dev Clock read in one place, so tests can override it.
    function _time() internal view virtual returns (uint256) {
        return block.timestamp;
    }

    function _deposit(address gateway, uint256 amount) private {
        if (gateway == address(0)) revert SettlementZeroAddress();
        if (amount == 0) revert SettlementZeroAmount();
        uint256 before = TOKEN.balanceOf(address(this));
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = TOKEN.balanceOf(address(this)) - before;
        // Fee-on-transfer (or otherwise short-paying) tokens are rejected, so balances stay backed 1:1.
        if (received != amount) revert SettlementTransferAmountMismatch(amount, received);
        // FIX (found by test/contracts/tokens.test.ts): the balance is read after the token call. It was cached
        // before it, so a token that calls back into the unguarded `submitBatch` had that batch's fee debit
        // overwritten here: a free batch whose escrow no deposit backs.
        Account storage acct = _accounts[gateway];
        acct.balance = SafeCast.toUint96(uint256(acct.balance) + amount);
        emit Deposited(gateway, msg.sender, amount);
    }

    function _checkOperator(address gateway) private view {
        if (REGISTRY.enclave(gateway).operator != msg.sender) revert SettlementNotOperator(msg.sender, gateway);
    }

    /// @dev Fee of `usage` under the schedule; also checks usage is sorted and sums to <= `count` calls.
    function _computeFee(ModelUsage[] calldata usage, uint32 count, Config memory cfg)
        private
        view
        returns (uint256 fee)
    {
        uint256 calls;
        bytes32 prev;
        uint256 n = usage.length;
        for (uint256 i; i < n; ++i) {
            ModelUsage calldata u = usage[i];
            bytes32 modelId = u.modelId;
            if (i != 0 && modelId <= prev) revert SettlementInvalidUsage(i);
            prev = modelId;
            calls += u.calls;
            if (cfg.modelRatesEnabled != 0 && _modelRates[modelId].enabled) {
                fee += FeeMath.entryFee(_modelRates[modelId].rate, u);
            } else {
                fee += FeeMath.entryFee(cfg.perCall, cfg.perKiloInputToken, cfg.perKiloOutputToken, u);
            }
        }
        if (calls > count) revert SettlementInvalidUsage(n);
    }

    function _verdictDigest(uint8 verdict, bytes32[] memory headerHashes) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(VERDICT_TYPEHASH, verdict, keccak256(abi.encodePacked(headerHashes))))
        );
    }

    /// @dev Reverts unless the enclave signed `e.signedReceipt` and the batch root holds a different leaf
    /// (`e.settledReceipt`, or a void leaf) for the same callSeq.
    function _checkEquivocation(BatchHeader calldata header, EquivocationProof calldata e) private view {
        address gateway = header.gateway;
        Receipt calldata signed = e.signedReceipt;
        uint64 callSeq = signed.callSeq;
        if (signed.gateway != gateway || callSeq < header.firstCallSeq || callSeq - header.firstCallSeq >= header.count)
        {
            revert SettlementReceiptOutOfBatch(signed.gateway, callSeq);
        }

        bytes32 signedHash = Hashing.hashReceipt(signed);
        address signer = ECDSA.recover(_hashTypedDataV4(signedHash), e.receiptSig.r, e.receiptSig.vs);
        if (signer != gateway) revert SettlementInvalidReceiptSignature(gateway, signer);

        bytes32 settledLeaf;
        if (e.settledIsVoid) {
            settledLeaf = Hashing.leaf(Hashing.hashVoid(gateway, callSeq));
        } else {
            if (e.settledReceipt.gateway != gateway || e.settledReceipt.callSeq != callSeq) {
                revert SettlementReceiptOutOfBatch(e.settledReceipt.gateway, e.settledReceipt.callSeq);
            }
            settledLeaf = Hashing.leaf(Hashing.hashReceipt(e.settledReceipt));
        }
        if (settledLeaf == Hashing.leaf(signedHash)) revert SettlementNotEquivocation();
        if (!MerkleProof.verifyCalldata(e.proof, header.root, settledLeaf)) revert SettlementInvalidProof();
    }

    /// @dev Reverts unless the batch can still be rejected or challenged: Submitted, or Attested with its
    /// challenge window (which starts at attestation) still running.
    function _checkChallengeable(address gateway, uint64 batchSeq, bytes32 slot) private view {
        BatchStatus st = slot.status();
        if (st == BatchStatus.Attested) {
            uint64 windowEnd = slot.since() + _challengeWindow;
            if (_time() >= windowEnd) revert SettlementWindowClosed(gateway, batchSeq, windowEnd);
        } else if (st != BatchStatus.Submitted) {
            revert SettlementInvalidStatus(gateway, batchSeq, st);
        }
    }

    /// @dev Reverts unless `attesters` are the recorded signers of attestation `id`.
    function _checkAttesters(uint48 id, address[] calldata attesters) private view {
        if (keccak256(abi.encodePacked(attesters)) != _attesters[id]) revert SettlementWrongAttesters(id);
    }

    /// @dev Consumes a commitment made by an earlier block; reverts when there is none.
    function _useCommitment(bytes32 commitment) private {
        uint256 at = _commits[commitment];
        if (at == 0 || at >= block.number) revert SettlementNotCommitted(commitment);
        delete _commits[commitment];
    }

    /// @dev Separate frame for the event's many fields (stack depth). `header.fee` equals the computed fee here.
    /// `daURI` is copied to memory, where it takes one stack slot instead of two: the IR pipeline
    /// (hardhat.config.ts) runs out of stack otherwise.
    function _emitSubmitted(BatchHeader calldata h, bytes32 headerHash) private {
        string memory daURI = h.daURI;
        emit BatchSubmitted(
            h.gateway,
            h.batchSeq,
            h.firstCallSeq,
            h.count,
            h.root,
            h.fee,
            headerHash,
            h.usage,
            h.firstServedAt,
            h.lastServedAt,
            daURI
        );
    }

    /// @dev Loads a batch slot and checks the header hash passed back matches the stored one.
    function _loadBatch(address gateway, uint64 batchSeq, bytes32 headerHash) private view returns (bytes32 slot) {
        slot = _batches[gateway][batchSeq];
        if (!slot.matches(headerHash)) revert SettlementUnknownBatch(gateway, batchSeq);
    }

    /// @dev Marks a batch Rejected and refunds the gateway its share of a quorum-rejected batch's fee (none
    /// after equivocation); returns the treasury share.
    function _rejectBatch(BatchHeader calldata h, bytes32 slot, bool equivocation, address challenger)
        private
        returns (uint256 toTreasury)
    {
        _batches[h.gateway][h.batchSeq] = slot.withStatus(BatchStatus.Rejected);
        ++_closed[h.gateway];
        uint256 refund = equivocation ? 0 : (h.fee * _rejectedRefundBps) / _BPS;
        if (refund != 0) {
            Account storage acct = _accounts[h.gateway];
            acct.balance = SafeCast.toUint96(uint256(acct.balance) + refund);
        }
        emit BatchRejected(h.gateway, h.batchSeq, equivocation, challenger, refund);
        return h.fee - refund;
    }

    function _payTreasury(uint256 amount) private {
        if (amount != 0) TOKEN.safeTransfer(_treasury, amount);
    }

    function _checkRate(FeeRate memory rate) private pure {
        if (rate.perCall > MAX_PER_CALL) revert SettlementInvalidParam("perCall", rate.perCall);
        if (rate.perKiloInputToken > MAX_PER_KILO_TOKEN) {
            revert SettlementInvalidParam("perKiloInputToken", rate.perKiloInputToken);
        }
        if (rate.perKiloOutputToken > MAX_PER_KILO_TOKEN) {
            revert SettlementInvalidParam("perKiloOutputToken", rate.perKiloOutputToken);
        }
    }

    function _setFeeRate(FeeRate memory rate) private {
        _checkRate(rate);
        (_config.perCall, _config.perKiloInputToken, _config.perKiloOutputToken) =
            (rate.perCall, rate.perKiloInputToken, rate.perKiloOutputToken);
        emit FeeRateChanged(rate.perCall, rate.perKiloInputToken, rate.perKiloOutputToken);
    }

    function _setMaxBatchSize(uint32 maxBatchSize) private {
        if (maxBatchSize == 0) revert SettlementInvalidParam("maxBatchSize", maxBatchSize);
        _config.maxBatchSize = maxBatchSize;
        emit MaxBatchSizeChanged(maxBatchSize);
    }

    /// @dev The challenge window can only grow, so the launch value is its hard minimum (`scripts/deploy.ts`
    /// refuses less than an hour outside local chains): windows are read when a batch is challenged or
    /// finalized, so shortening would cut short the challenges of batches already open. It never exceeds
    /// the validators' exit delay, so an attester's stake is still slashable for every window it opened.
    function _setWindows(uint32 challengeWindow, uint32 withdrawDelay) private {
        if (challengeWindow == 0 || challengeWindow < _challengeWindow) {
            revert SettlementInvalidParam("challengeWindow", challengeWindow);
        }
        if (challengeWindow > VALIDATORS.exitDelay()) revert SettlementInvalidParam("challengeWindow", challengeWindow);
        _challengeWindow = challengeWindow;
        _withdrawDelay = withdrawDelay;
        emit WindowsChanged(challengeWindow, withdrawDelay);
    }

    function _setFeeSplit(uint16 validatorBps, uint16 treasuryBps, uint16 burnBps, uint16 rejectedRefundBps)
        private
    {
        uint256 sum = uint256(validatorBps) + treasuryBps + burnBps;
        if (sum != _BPS) revert SettlementInvalidParam("feeSplit", sum);
        if (treasuryBps > MAX_TREASURY_BPS) revert SettlementInvalidParam("treasuryBps", treasuryBps);
        if (rejectedRefundBps > _BPS) revert SettlementInvalidParam("rejectedRefundBps", rejectedRefundBps);
        (_validatorBps, _treasuryBps, _burnBps, _rejectedRefundBps) =
            (validatorBps, treasuryBps, burnBps, rejectedRefundBps);
        emit FeeSplitChanged(validatorBps, treasuryBps, burnBps, rejectedRefundBps);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert SettlementZeroAddress();
        _treasury = treasury_;
        emit TreasuryChanged(treasury_);
    }

    function _setAttesterSlashBps(uint16 attesterSlashBps) private {
        if (attesterSlashBps > _BPS) revert SettlementInvalidParam("attesterSlashBps", attesterSlashBps);
        _attesterSlashBps = attesterSlashBps;
        emit AttesterSlashChanged(attesterSlashBps);
    }
}
