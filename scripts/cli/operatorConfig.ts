/**
 * What the operator commands (`proofpath validator|enclave|governance …`) and `verify-receipt` read:
 * a `--config` file and `PROOFPATH_OPERATOR_*` / `PROOFPATH_VERIFY_*` variables (sdk/config.ts), with
 * `--deployment` and `--rpc` as flags. Two roles, not one: the end user checking their own call is not
 * an operator, and must never be handed an operator's key by a shared variable.
 */
import { z } from "zod";
import { defineConfigRole } from "../../sdk/config.js";

const deployment = z.string().min(1).describe("Deployment record written by `npm run deploy` (flag --deployment).");
const rpcUrl = z
  .string()
  .regex(/^(https?|wss?):\/\//, "expected an http(s) or ws(s) URL")
  .meta({ type: "url" })
  .describe("JSON-RPC endpoint of the deployment's chain (flag --rpc).");

export const operatorConfigSchema = z
  .object({
    deployment,
    rpcUrl,
    privateKey: z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, "must be 0x followed by 64 hex digits")
      .meta({ type: "private key (0x + 64 hex)" })
      .optional()
      .describe(
        "Signs the command's transactions (also needed for --dry-run, which plans for its address). Never a flag.",
      ),
  })
  .strict();

export const operatorConfigRole = defineConfigRole({
  role: "operator",
  title: "operator",
  usage: "npx proofpath validator|enclave|governance <command> [--deployment <file>] [--rpc <url>] [--config <file>]",
  about:
    "`proofpath validator|enclave|governance`: a validator joining or leaving, an enclave's registration, approval, re-attestation, succession and bond, and timelocked governance. A flag wins over a variable, a variable over the file.",
  schema: operatorConfigSchema,
});

export const verifyConfigSchema = z
  .object({
    deployment: deployment.default("deployments/local.json"),
    rpcUrl: rpcUrl.default("http://127.0.0.1:8545"),
  })
  .strict();

export const verifyConfigRole = defineConfigRole({
  role: "verify",
  title: "verify",
  usage: "npx proofpath verify-receipt <file|-> [--deployment <file>] [--rpc <url>] [--config <file>]",
  about:
    "`proofpath verify-receipt`, a user's check of their own call: the receipt's signature, the key's approval, inclusion and the batch's status. Defaults point at the local demo chain.",
  schema: verifyConfigSchema,
});
