/**
 * The deployment record: the file `npm run deploy` (scripts/deploy.ts) and `npm start` write and every role reads its
 * contract addresses and start block from. A library module (no artifacts, no deployer).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Address } from "viem";
import { z } from "zod";

export const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  startBlock: z.number().int().nonnegative(),
  deployer: z.string(),
  contracts: z.object({
    OPGToken: z.string(),
    ValidatorSet: z.string(),
    GatewayRegistry: z.string(),
    ProofSettlement: z.string(),
    /** The owner of the three protocol contracts, when deployed with one (scripts/deploy.ts). */
    Timelock: z.string().optional(),
  }),
  deployedAt: z.string(),
  // Provenance, written by `npm run deploy` (Ignition); optional so older records still parse.
  /** The Ignition deployment (its journal is ignition/deployments/<deploymentId>/). */
  ignition: z.object({ deploymentId: z.string(), module: z.string() }).optional(),
  /** The operator's deployment parameters as given (amounts as decimal strings). */
  parameters: z.record(z.string(), z.unknown()).optional(),
  /** Per deployed contract: its creation transaction, constructor arguments and compiler build. */
  transactions: z
    .record(
      z.string(),
      z.object({
        hash: z.string(),
        blockNumber: z.number().int().nonnegative().optional(),
        constructorArgs: z.array(z.unknown()),
        /** Hardhat build-info id (artifacts/build-info/<id>.json): the exact compiler input, for verification. */
        buildInfoId: z.string().optional(),
      }),
    )
    .optional(),
  /** The commit the contracts were built from, and whether tracked files differed from it. */
  gitCommit: z.string().optional(),
  gitDirty: z.boolean().optional(),
});
export type Deployment = z.infer<typeof deploymentSchema> & {
  contracts: Record<"OPGToken" | "ValidatorSet" | "GatewayRegistry" | "ProofSettlement", Address> & {
    Timelock?: Address;
  };
};

/** Writes the deployment record as JSON (creating the folder). */
export function writeDeployment(file: string, d: Deployment): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(d, null, 2)}\n`);
}

/** Reads and validates a deployment record; the error names the file and the bad field. */
export function readDeployment(file: string): Deployment {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new Error(`Cannot read deployment file ${file}: deploy first (npm run deploy or npm start).`, { cause });
  }
  const parsed = deploymentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`Deployment file ${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data as Deployment;
}
