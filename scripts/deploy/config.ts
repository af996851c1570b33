/**
 * What `npm run deploy` reads: `PROOFPATH_DEPLOY_*` variables and a `--config` file (sdk/config.ts;
 * `--help` lists every field). Parameters default to the local values of `localDeployDefaults`;
 * scripts/deploy.ts refuses the local-only ones on any other chain.
 */
import { isAddress } from "viem";
import { z } from "zod";
import { defineConfigRole } from "../../sdk/config.js";
import { localDeployDefaults as d } from "../../tools/deploy.js";

const address = z
  .string()
  .refine((v) => isAddress(v), "expected a 0x-prefixed 20-byte address")
  .meta({ type: "address" });
const wei = z.coerce
  .bigint({ error: "expected an integer" })
  .refine((v) => v >= 0n, "must be a non-negative integer")
  .meta({ type: "integer (OPG wei)" });
const seconds = z.coerce.number().int().nonnegative().meta({ type: "seconds" });
const bps = (max: number) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(max)
    .meta({ type: `basis points 0..${max}` });

export const deployConfigSchema = z
  .object({
    rpcUrl: z.url().describe("JSON-RPC endpoint of the chain to deploy to."),
    deployerKey: z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, "must be 0x + 64 hex characters")
      .meta({ type: "private key (0x + 64 hex)" })
      .optional()
      .describe(
        "The deployer's key, chain 31337 only; on any other chain the encrypted keystore's DEPLOYER_PRIVATE_KEY signs (npx hardhat keystore set DEPLOYER_PRIVATE_KEY).",
      ),
    validators: z.array(address).min(1).describe("The validator addresses admitted at launch."),
    quorum: z.coerce.number().int().positive().describe("Validator quorum k (a strict majority of the staked set)."),
    opgToken: address
      .optional()
      .describe("The existing OPG token; when absent a local OPGToken is deployed (test chains only)."),
    governance: address
      .optional()
      .describe("Who may propose timelocked changes, e.g. a multisig; default the deployer."),
    treasury: address.optional().describe("Treasury address; default the deployer."),
    feePerCall: wei.default(d.rate.perCall).describe("OPG wei per settled call."),
    feePerKiloInput: wei.default(d.rate.perKiloInputToken).describe("OPG wei per 1k input tokens."),
    feePerKiloOutput: wei.default(d.rate.perKiloOutputToken).describe("OPG wei per 1k output tokens."),
    maxBatchSize: z.coerce.number().int().positive().default(d.maxBatchSize).describe("Leaves per batch at most."),
    challengeWindow: seconds
      .default(d.challengeWindow)
      .describe("Seconds after attestation a batch may be challenged (at least 3600 off chain 31337)."),
    withdrawDelay: seconds.default(d.withdrawDelay).describe("Seconds a gateway's fee withdrawal waits."),
    feeSplit: z
      .tuple([z.coerce.number().int(), z.coerce.number().int(), z.coerce.number().int()])
      .refine(([a, b, c]) => a + b + c === 10_000, "validator + treasury + burn basis points must sum to 10000")
      .default([d.validatorBps, d.treasuryBps, d.burnBps])
      .describe("Validator, treasury and burn shares of a fee, in basis points summing to 10000."),
    rejectedRefundBps: bps(10_000)
      .default(d.rejectedRefundBps)
      .describe("Share of a rejected batch's fee refunded to the gateway."),
    minBond: wei.default(d.minBond).describe("OPG wei an enclave key bonds at least."),
    heartbeat: seconds.default(d.heartbeatInterval).describe("Seconds an enclave approval lasts."),
    bondWithdrawDelay: seconds.default(d.bondWithdrawDelay).describe("Seconds a bond withdrawal waits."),
    challengerRewardBps: bps(1_000)
      .default(d.challengerRewardBps)
      .describe("Share of a slashed bond paid to the challenger."),
    rejectedSlashBps: bps(10_000)
      .default(d.rejectedSlashBps)
      .describe("Share of the bond a quorum-rejected batch costs."),
    attesterSlashBps: bps(10_000)
      .default(d.attesterSlashBps)
      .describe("Share of each attester's stake lost when its batch is proven equivocating."),
    minStake: wei.default(d.minStake).describe("OPG wei a validator stakes at least."),
    exitDelay: seconds.default(d.exitDelay).describe("Seconds a leaving validator's stake stays locked."),
    proverRewardBps: bps(1_000).default(d.proverRewardBps).describe("Share of a slashed stake paid to the prover."),
    timelockDelay: seconds
      .optional()
      .describe(
        "Seconds a change waits in the timelock; must exceed every in-flight horizon (default the longest of the delays and windows + 1 day).",
      ),
  })
  .strict();

export const deployConfigRole = defineConfigRole({
  role: "deploy",
  title: "deploy",
  usage: "npm run deploy -- [--config <deploy.json>] [--out deployments/<name>.json] [--deployment-id <id>]",
  about:
    "Deploys proofpath behind a Timelock that owns the three protocol contracts, and writes the deployment file the indexer, gateway and validators read. Validators are admitted, not staked: each stakes with ValidatorSet.stake(itself, amount) to join.",
  schema: deployConfigSchema,
});
