/**
 * proofpath SDK: data formats, hashing, Merkle trees, EIP-712 signing and fees, byte-compatible
 * with the contracts. Everything here is usable from the gateway, validator, indexer and scripts.
 */
export * from "./errors.js";
export * from "./types.js";
export * from "./hashing.js";
export * from "./merkle.js";
export * from "./eip712.js";
export * from "./fees.js";
export * from "./abis.js";
export * from "./readClient.js";
export * from "./transactions.js";
