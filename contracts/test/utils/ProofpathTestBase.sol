// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BatchHeader, BatchStatus, CompactSignature, FeeRate, ModelUsage, Receipt} from "../../Types.sol";
import {Hashing} from "../../libraries/Hashing.sol";
import {FeeMath} from "../../libraries/FeeMath.sol";
import {OPGToken} from "../../OPGToken.sol";
import {ValidatorSet} from "../../ValidatorSet.sol";
import {GatewayRegistry} from "../../GatewayRegistry.sol";
import {ProofSettlement} from "../../ProofSettlement.sol";
import {IGatewayRegistry} from "../../interfaces/IGatewayRegistry.sol";
import {IValidatorSet} from "../../interfaces/IValidatorSet.sol";
import {IProofSettlement} from "../../interfaces/IProofSettlement.sol";
import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @title ProofpathTestBase
/// @notice Shared by proofpath's Solidity tests and handlers: cheatcodes, assertions, a full deployment
/// (OPG, 5 staked validators with quorum 3, registry, settlement, wired), enclave registration + quorum
/// approval, and EIP-712 compact signing. Hashing goes through external `this.*` wrappers because the
/// `Hashing`/`FeeMath` libraries take calldata.
abstract contract ProofpathTestBase {
    Vm internal constant vm = Vm(VM_ADDRESS);

    /// @notice Thrown by the assertion helpers; `what` names the property.
    error AssertionFailed(string what, uint256 left, uint256 right);

    uint256 internal constant N_VALIDATORS = 5;
    uint256 internal constant QUORUM = 3;
    uint256 internal constant VALIDATOR_PK_BASE = 0xA11CE000;
    bytes32 internal constant MEASUREMENT = keccak256("pcr0|pcr1|pcr2");
    uint128 internal constant MIN_BOND = 1_000e18;
    uint128 internal constant MIN_STAKE = 10_000e18;
    uint64 internal constant EXIT_DELAY = 7 days;
    uint16 internal constant CHALLENGER_REWARD_BPS = 1_000;
    uint16 internal constant REJECTED_SLASH_BPS = 1_000;

    OPGToken internal token;
    ValidatorSet internal validatorSet;
    GatewayRegistry internal registry;
    ProofSettlement internal settlement;

    address internal settlementTreasury;

    /// @dev Validator private keys ordered by ascending address, so any subset in index order is a
    /// valid (strictly ascending) quorum.
    uint256[N_VALIDATORS] internal validatorPks;
    address[N_VALIDATORS] internal validatorAddrs;

    // ------------------------------------------------------------------ deployment

    function _defaultInit() internal view returns (ProofSettlement.InitParams memory p) {
        p = ProofSettlement.InitParams({
            owner: address(this),
            treasury: settlementTreasury,
            rate: FeeRate({perCall: 1_000_003, perKiloInputToken: 2_000_011, perKiloOutputToken: 7_000_019}),
            maxBatchSize: 16,
            challengeWindow: 1 hours,
            withdrawDelay: 1 days,
            validatorBps: 6_000,
            treasuryBps: 2_500,
            burnBps: 1_500,
            rejectedRefundBps: 5_000,
            attesterSlashBps: 1_000
        });
    }

    /// @dev Deploys and wires all four contracts (the registry and validator set are built with the
    /// settlement's address, predicted from this contract's nonce) and stakes every validator; this
    /// contract owns them all.
    function _deployProofpath(ProofSettlement.InitParams memory p) internal {
        _initValidatorKeys();
        token = new OPGToken(address(this), 0);
        address[] memory vals = new address[](N_VALIDATORS);
        for (uint256 i; i < N_VALIDATORS; ++i) {
            vals[i] = validatorAddrs[i];
        }
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 2);
        validatorSet = new ValidatorSet(token, predicted, address(this), vals, QUORUM, MIN_STAKE, EXIT_DELAY, 1_000);
        registry = new GatewayRegistry(
            token,
            validatorSet,
            IProofSettlement(predicted),
            address(this),
            IGatewayRegistry.Params(MIN_BOND, 30 days, 7 days, CHALLENGER_REWARD_BPS, REJECTED_SLASH_BPS)
        );
        p.owner = address(this);
        p.treasury = settlementTreasury;
        settlement = new ProofSettlement(token, registry, validatorSet, p);
        // Twice the minimum, so one attester penalty does not push a validator out of the set.
        token.mint(address(this), 2 * N_VALIDATORS * uint256(MIN_STAKE));
        token.approve(address(validatorSet), 2 * N_VALIDATORS * uint256(MIN_STAKE));
        for (uint256 i; i < N_VALIDATORS; ++i) {
            validatorSet.stake(validatorAddrs[i], 2 * uint256(MIN_STAKE));
        }
        registry.allowMeasurement(MEASUREMENT);
        vm.label(address(token), "OPG");
        vm.label(address(validatorSet), "ValidatorSet");
        vm.label(address(registry), "GatewayRegistry");
        vm.label(address(settlement), "ProofSettlement");
    }

    /// @dev Treasury addresses and validator keys; called by `_deployProofpath`, and by handlers that
    /// are handed an existing deployment.
    function _initValidatorKeys() internal {
        settlementTreasury = address(0x7EA5);
        for (uint256 i; i < N_VALIDATORS; ++i) {
            validatorPks[i] = VALIDATOR_PK_BASE + i;
            validatorAddrs[i] = vm.addr(validatorPks[i]);
        }
        // insertion sort by address (5 entries)
        for (uint256 i = 1; i < N_VALIDATORS; ++i) {
            for (uint256 j = i; j > 0 && validatorAddrs[j] < validatorAddrs[j - 1]; --j) {
                (validatorAddrs[j], validatorAddrs[j - 1]) = (validatorAddrs[j - 1], validatorAddrs[j]);
                (validatorPks[j], validatorPks[j - 1]) = (validatorPks[j - 1], validatorPks[j]);
            }
        }
    }

    /// @dev Registers `key` (private key `keyPk`) for `operator` with `bond` OPG minted to the operator,
    /// then approves it with a validator quorum. The key is active afterwards.
    function _registerGateway(uint256 keyPk, address operator, uint256 bond) internal returns (address key) {
        key = vm.addr(keyPk);
        token.mint(operator, bond);
        vm.prank(operator);
        token.approve(address(registry), bond);
        bytes32 digest = registry.registrationDigest(operator, MEASUREMENT, keccak256("attestation"), bytes32(0));
        CompactSignature memory keySig = _signCompact(keyPk, digest);
        vm.prank(operator);
        registry.registerEnclave(key, MEASUREMENT, keccak256("attestation"), bytes32(0), bond, keySig);
        _approveGateway(key);
    }

    /// @dev A quorum (the first three validators) approves `key` at its current nonce, valid for an hour.
    function _approveGateway(address key) internal {
        uint64 deadline = uint64(block.timestamp + 1 hours);
        registry.approveEnclave(key, deadline, _quorumSigs(registry.approvalDigest(key, deadline), 0x07));
    }

    /// @dev The first `k` validators whose bits are set in `mask`, ascending: an attestation's signers.
    function _signers(uint256 mask) internal view returns (address[] memory out) {
        uint256 n;
        for (uint256 i; i < N_VALIDATORS; ++i) {
            if (mask & (1 << i) != 0) ++n;
        }
        out = new address[](n);
        uint256 k;
        for (uint256 i; i < N_VALIDATORS; ++i) {
            if (mask & (1 << i) != 0) out[k++] = validatorAddrs[i];
        }
    }

    /// @dev The old boolean reading of `verifyReceipt`: proven in a batch that is not Rejected.
    function _verifies(BatchHeader memory h, Receipt memory r, bytes32[] memory proof) internal view returns (bool) {
        BatchStatus st = settlement.verifyReceipt(h, r, proof);
        return st != BatchStatus.None && st != BatchStatus.Rejected;
    }

    // ------------------------------------------------------------------ signatures

    /// @dev EIP-2098 compact form of a `vm.sign` signature: vs = s | (v - 27) << 255.
    function _signCompact(uint256 pk, bytes32 digest) internal pure returns (CompactSignature memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return CompactSignature({r: r, vs: bytes32(uint256(s) | (uint256(v - 27) << 255))});
    }

    /// @dev `sig` with s moved into the upper half of the curve order. A compact (EIP-2098) signature cannot
    /// carry the true high-s twin n - s of a real signature (it needs bit 255, which holds the parity), so
    /// this is the high-s form that *can* reach a contract; OpenZeppelin's ECDSA must refuse it before
    /// ecrecover (malleability guard).
    function _highS(CompactSignature memory sig) internal pure returns (CompactSignature memory) {
        uint256 halfN = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
        uint256 s = halfN + 1 + (uint256(sig.vs) % 1000);
        return CompactSignature({r: sig.r, vs: bytes32(s | (uint256(sig.vs) & (1 << 255)))});
    }

    /// @dev Signatures over `digest` by the validators whose bits are set in `mask`, ascending by address.
    function _quorumSigs(bytes32 digest, uint256 mask) internal view returns (CompactSignature[] memory sigs) {
        uint256 n;
        for (uint256 i; i < N_VALIDATORS; ++i) {
            if (mask & (1 << i) != 0) ++n;
        }
        sigs = new CompactSignature[](n);
        uint256 k;
        for (uint256 i; i < N_VALIDATORS; ++i) {
            if (mask & (1 << i) != 0) sigs[k++] = _signCompact(validatorPks[i], digest);
        }
    }

    function _signHeader(uint256 keyPk, BatchHeader memory h) internal view returns (CompactSignature memory) {
        return _signCompact(keyPk, settlement.headerDigest(h));
    }

    /// @dev The EIP-712 digest the enclave signs for a receipt: the settlement's domain over the
    /// receipt's struct hash (the domain separator is rebuilt here from `eip712Domain()`).
    function _receiptDigest(Receipt memory r) internal view returns (bytes32) {
        (, string memory name, string memory version, uint256 chainId, address verifying,,) = settlement.eip712Domain();
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(name)),
                keccak256(bytes(version)),
                chainId,
                verifying
            )
        );
        return keccak256(abi.encodePacked(hex"1901", domain, this.receiptHashExt(r)));
    }

    // ------------------------------------------------------------------ hashing (library code via calldata)

    function hashHeaderExt(BatchHeader calldata h) external pure returns (bytes32) {
        return Hashing.hashHeader(h);
    }

    function receiptLeafExt(Receipt calldata r) external pure returns (bytes32) {
        return Hashing.leaf(Hashing.hashReceipt(r));
    }

    function receiptHashExt(Receipt calldata r) external pure returns (bytes32) {
        return Hashing.hashReceipt(r);
    }

    function voidLeafExt(address gateway, uint64 callSeq) external pure returns (bytes32) {
        return Hashing.leaf(Hashing.hashVoid(gateway, callSeq));
    }

    function entryFeeExt(FeeRate memory rate, ModelUsage calldata u) external pure returns (uint256) {
        return FeeMath.entryFee(rate, u);
    }

    // ------------------------------------------------------------------ assertions and bounds

    function _assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what, a, b);
    }

    function _assertLe(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) revert AssertionFailed(what, a, b);
    }

    function _assertTrue(bool ok, string memory what) internal pure {
        if (!ok) revert AssertionFailed(what, 0, 1);
    }

    /// @dev Maps `x` onto [lo, hi] like forge-std's `bound`: small and near-max inputs land on the
    /// edges, so the fuzzer's favourite values (0, 1, max) still hit lo and hi.
    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        uint256 size = hi - lo + 1;
        if (x <= 3 && size > x) return lo + x;
        if (x >= type(uint256).max - 3 && size > type(uint256).max - x) return hi - (type(uint256).max - x);
        return lo + (x % size);
    }
}
