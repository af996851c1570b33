/**
 * What the demo TEE gateway (gateway/demo/main.ts) reads: the gateway role's fields with local
 * defaults (a local chain, a fresh enclave key), plus the model backend and an optional
 * register-approve-fund step. Same `PROOFPATH_GATEWAY_*` variables as every gateway.
 */
import { isHex } from "viem";
import { z } from "zod";
import { defineConfigRole } from "../../sdk/config.js";
import { checkHookConfig, gatewayConfigSchema } from "../config.js";

const privateKey = z
  .string()
  .refine((s) => isHex(s) && s.length === 66, { error: "expected a 0x-prefixed 32-byte hex private key" })
  .meta({ type: "private key (0x + 64 hex)" });
const url = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });

export const demoGatewayConfigSchema = gatewayConfigSchema
  .extend({
    enclaveKey: privateKey.optional().describe("The enclave signing key; default a fresh key per start."),
    store: gatewayConfigSchema.shape.store.default("data/gateway.db"),
    rpcUrl: url.default("http://127.0.0.1:8545").describe("JSON-RPC endpoint (or rpcUrls)."),
    deployment: z
      .string()
      .min(1)
      .default("deployments/local.json")
      .describe("Deployment file (npm run deploy); settlement wins when both are given."),
    daBaseUrl: url.optional().describe("Public base URL of the receipts endpoint; default <publicUrl>/da."),
    port: z.number().int().min(0).max(65_535).default(8080).describe("Port (0: any free port)."),
    daPort: z
      .number()
      .int()
      .min(1)
      .max(65_535)
      .optional()
      .describe(
        "Serve the DA endpoints from a worker thread on this port (its own event loop, off the fast path's); daBaseUrl then defaults to http://127.0.0.1:<daPort>. Default: under /da on port.",
      ),
    daBytesPerSec: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "With daPort: bytes per second the DA worker writes whole batches at, for all clients together, in 64 KiB writes (the batch byte budget is lowered to it), so a flood of batch requests costs the DA thread a bounded CPU share and the fast path keeps its core. 0: unpaced. Default 16 MiB/s (16777216).",
      ),
    daSignaturesPerSec: z
      .number()
      .positive()
      .optional()
      .describe(
        "With daPort: receipt signatures per second the DA worker has made for strangers, for all together (burst twice that), a quarter of it per address (a signature it holds already is free; beyond, 429 with Retry-After): each costs ~1 ms of secp256k1 and strangers choose the callSeqs. Default 20 (5 per address).",
      ),
    publicUrl: url.optional().describe("The gateway's public base URL; default http://127.0.0.1:<port>."),
    backendUrl: url.optional().describe("An OpenAI-compatible model endpoint; default the local deterministic model."),
    backendApiKey: z.string().min(1).optional().describe("Bearer key for backendUrl."),
    ohttpPrivateKey: privateKey
      .optional()
      .describe(
        "When set: answer OHTTP too (POST /ohttp, GET /ohttp-keys) with this X25519 private key (key id 1); its key config hash is what the registry binds.",
      ),
    registerOwnerKey: privateKey
      .optional()
      .describe("When set: register the enclave with this owner key, approve it by validatorKeys and fund it first."),
    validatorKeys: z
      .array(privateKey)
      .default([])
      .describe("Validator keys that approve the enclave when registerOwnerKey is set."),
  })
  .strict();

export const demoGatewayConfigRole = defineConfigRole({
  role: "gateway",
  title: "gateway demo",
  usage: "npm run demo:gateway -- [--config <gateway.json>]",
  about:
    "The example TEE gateway (OHTTP-style fast path, a pluggable model backend) with the hook settling behind it: every gateway field, with local defaults.",
  schema: demoGatewayConfigSchema,
  // Defaults count as given for the hook's rules (an RPC URL and a deployment file are always set).
  check: (c, report, raw) => checkHookConfig(c, report, { ...c, ...raw }),
});
