// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IProofSettlement} from "../interfaces/IProofSettlement.sol";
import {ModelUsage} from "../Types.sol";

/// @title BatchEventEmitter
/// @notice Bench-only: emits `IProofSettlement.BatchSubmitted` (the very event declaration, so the
/// indexer decodes it with the real ProofSettlement ABI) in bulk, to backfill-test the indexer on
/// 100,000+ batch events without 100,000 enclave signatures. It settles nothing.
contract BatchEventEmitter {
    constructor(uint64 perCall, uint64 perKiloInputToken, uint64 perKiloOutputToken) {
        emit IProofSettlement.FeeRateChanged(perCall, perKiloInputToken, perKiloOutputToken);
    }

    struct Bulk {
        address gateway;
        uint64 firstBatchSeq;
        uint64 firstCallSeq;
        uint32 n;
        uint32 count;
        uint256 fee;
        uint64 servedAt;
    }

    /// @notice Emits `b.n` gap-free batches of `b.count` calls for `b.gateway`, each with `usage`.
    /// @dev Scalars travel in one calldata struct to stay within the stack limit.
    function emitBatches(Bulk calldata b, ModelUsage[] calldata usage) external {
        for (uint64 i; i < b.n; ++i) {
            _emitOne(b, b.firstBatchSeq + i, b.firstCallSeq + i * b.count, b.servedAt + i, usage);
        }
    }

    function _emitOne(Bulk calldata b, uint64 seq, uint64 firstCallSeq, uint64 servedAt, ModelUsage[] calldata usage)
        private
    {
        emit IProofSettlement.BatchSubmitted(
            b.gateway,
            seq,
            firstCallSeq,
            b.count,
            keccak256(abi.encode(b.gateway, seq)),
            b.fee,
            keccak256(abi.encode(seq, b.gateway)),
            usage,
            servedAt,
            servedAt + 1,
            ""
        );
    }
}
