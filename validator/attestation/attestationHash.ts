import { keccak256, type Hex } from "viem";
import { plainBytes } from "./bytes.js";

/**
 * The hash of an attestation document that `GatewayRegistry` stores: `keccak256` of the raw
 * document bytes exactly as received (tagged or not; nothing is re-encoded).
 */
export function attestationHash(document: Uint8Array): Hex {
  return keccak256(plainBytes(document));
}
