/**
 * Reads compiled contracts (ABI + creation bytecode) from Hardhat's build output, so deployment code
 * never carries a hand-copied ABI or bytecode. `npm run build` produces `artifacts/`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import type { Abi, Hex } from "viem";

export type ContractName = "OPGToken" | "ValidatorSet" | "GatewayRegistry" | "ProofSettlement" | "Timelock";

export interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cache = new Map<string, Artifact>();

/** Loads `artifacts/contracts/<name>.sol/<name>.json`; throws a clear error when the build is missing. */
export function loadArtifact(name: ContractName | string, artifactsDir = path.join(root, "artifacts")): Artifact {
  const file = path.join(artifactsDir, "contracts", `${name}.sol`, `${name}.json`);
  const hit = cache.get(file);
  if (hit) return hit;
  let json: { abi: Abi; bytecode: Hex };
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new Error(`Contract artifact ${name} not found at ${file}: run \`npm run build\` first.`, { cause });
  }
  const artifact = { abi: json.abi, bytecode: json.bytecode };
  cache.set(file, artifact);
  return artifact;
}
