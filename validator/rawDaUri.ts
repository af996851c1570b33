/**
 * Headers whose `daURI` is not valid UTF-8. The contract hashes the string's raw bytes, but viem
 * decodes an event string lossily (U+FFFD) and encodes a JS string as UTF-8, so through the
 * normal path such a header gets another hash: no validator would ever judge it, and a reject
 * built from it would not match on-chain. Here the daURI stays raw bytes (hex) end to end: decoded
 * from the log as `bytes`, hashed as bytes, and sent as bytes (`string` and `bytes` share one ABI
 * encoding; only the selector must stay the `string` one).
 */
import {
  decodeAbiParameters,
  encodeAbiParameters,
  keccak256,
  toFunctionSelector,
  type AbiFunction,
  type AbiParameter,
  type Hex,
  type Log,
} from "viem";
import { proofSettlementAbi } from "../sdk/abis.js";
import { batchHeaderTypeHash, hashUsage } from "../sdk/hashing.js";
import type { BatchHeader } from "../sdk/types.js";

/** The same parameters with every `string daURI` (also inside tuples) typed as `bytes`. */
function daUriAsBytes(params: readonly AbiParameter[]): AbiParameter[] {
  return params.map((p) => {
    if (p.name === "daURI" && p.type === "string") return { ...p, type: "bytes" };
    if ("components" in p && p.components) return { ...p, components: daUriAsBytes(p.components) } as AbiParameter;
    return p;
  });
}

const submittedEvent = proofSettlementAbi.find((x) => x.type === "event" && x.name === "BatchSubmitted")!;
const submittedData = daUriAsBytes(
  (submittedEvent as { inputs: readonly (AbiParameter & { indexed?: boolean })[] }).inputs.filter((i) => !i.indexed),
);
const daUriIndex = submittedData.findIndex((p) => p.name === "daURI");

/** The daURI of a `BatchSubmitted` log as the bytes the contract hashed. */
export function rawDaUriOf(log: Pick<Log, "data">): Hex {
  return decodeAbiParameters(submittedData, log.data)[daUriIndex] as Hex;
}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });

/** The daURI bytes as a string, or undefined when they are not valid UTF-8. */
export function utf8OrUndefined(raw: Hex): string | undefined {
  try {
    return utf8Fatal.decode(Buffer.from(raw.slice(2), "hex"));
  } catch {
    return undefined;
  }
}

const headerWords = [
  "bytes32",
  "address",
  "uint64",
  "uint64",
  "uint32",
  "bytes32",
  "bytes32",
  "uint256",
  "uint64",
  "uint64",
  "bytes32",
].map((type) => ({ type }));

/** `Hashing.hashHeader` of `header` with `daURI` taken as raw bytes (sdk/hashing.ts encodes a string). */
export function hashHeaderRawDaUri(header: Omit<BatchHeader, "daURI">, daURI: Hex): Hex {
  return keccak256(
    encodeAbiParameters(headerWords, [
      batchHeaderTypeHash,
      header.gateway,
      header.batchSeq,
      header.firstCallSeq,
      header.count,
      header.root,
      hashUsage(header.usage),
      header.fee,
      header.firstServedAt,
      header.lastServedAt,
      keccak256(daURI),
    ]),
  );
}

/**
 * Calldata of settlement function `functionName` whose header arguments carry `daURI` as raw
 * bytes (hex) instead of a string, e.g. `reject([{ ...header, daURI: raw }], sigs)`.
 */
export function encodeRawDaUriCall(
  functionName: "reject" | "submitBatch" | "challengeEquivocation",
  args: readonly unknown[],
): Hex {
  const fn = proofSettlementAbi.find((x) => x.type === "function" && x.name === functionName) as AbiFunction;
  const data = encodeAbiParameters(daUriAsBytes(fn.inputs), args);
  return `${toFunctionSelector(fn)}${data.slice(2)}` as Hex;
}
