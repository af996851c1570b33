/**
 * Runs one validator as a process:
 *   npx tsx validator/main.ts --config validator.json
 *   VALIDATOR_PRIVATE_KEY=0x… RPC_URL=http://127.0.0.1:8545 DEPLOYMENT=deployments/local.json \
 *     DATA_DIR=data/validator-0 PEERS=http://127.0.0.1:7401,http://127.0.0.1:7402 npx tsx validator/main.ts
 * Environment variables override the file. SIGINT/SIGTERM stop it cleanly; a bad config exits 2.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createValidator } from "./validator.js";
import { ValidatorConfigError } from "./errors.js";

const HELP = `Usage: npx tsx validator/main.ts [--config <file.json>]

Config file fields (JSON) and their environment variables:
  privateKey        VALIDATOR_PRIVATE_KEY  validator key (signs verdicts, pays gas)
  rpcUrl            RPC_URL
  deployment        DEPLOYMENT             deployment file (sdk/deploy.ts); or settlement + startBlock
  settlement        SETTLEMENT             ProofSettlement address
  startBlock        START_BLOCK
  dataDir           DATA_DIR               signing record (signing.db) and chain state (state.db)
  peers             PEERS                  other validators' URLs, comma-separated
  host, port        HOST, PORT             HTTP listen address (default 127.0.0.1:7400)
  pollIntervalMs    POLL_INTERVAL_MS
  daDeadlineSec     DA_DEADLINE_SEC        reject when receipts stay unavailable this long
  daTimeoutMs       DA_TIMEOUT_MS          a DA answer must be complete within this (default 5000)
  daFirstByteTimeoutMs DA_FIRST_BYTE_TIMEOUT_MS  response headers within this (default 3000)
  daBytesPerReceipt DA_BYTES_PER_RECEIPT   batch body budget per receipt, + 64 KiB (default 1024)
  daMaxBytes        DA_MAX_BYTES           hard cap of a batch body, decoded (default 16 MiB)
  daAllowPrivate    DA_ALLOW_PRIVATE       true: daURIs may reach private/loopback addresses (default false)
  confirmations     CONFIRMATIONS
  submitStaggerMs   SUBMIT_STAGGER_MS
  receiptSamples    RECEIPT_SAMPLES        receipts spot-checked per batch for equivocation
  finalize, claim   FINALIZE, CLAIM        true/false
  claimIntervalMs   CLAIM_INTERVAL_MS
  rewardsTo         REWARDS_TO
  attestationRoot   ATTESTATION_ROOT       root certificate file enclave attestations chain to (default: AWS Nitro)
  attestationMaxAgeSec ATTESTATION_MAX_AGE_SEC  oldest attestation document POST /approvals accepts (default 600)
  logLevel          LOG_LEVEL
`;

const ENV: Record<string, [string, "string" | "number" | "boolean" | "list"]> = {
  VALIDATOR_PRIVATE_KEY: ["privateKey", "string"], RPC_URL: ["rpcUrl", "string"], DEPLOYMENT: ["deployment", "string"],
  SETTLEMENT: ["settlement", "string"], START_BLOCK: ["startBlock", "number"], DATA_DIR: ["dataDir", "string"],
  PEERS: ["peers", "list"], HOST: ["host", "string"], PORT: ["port", "number"], POLL_INTERVAL_MS: ["pollIntervalMs", "number"],
  DA_DEADLINE_SEC: ["daDeadlineSec", "number"], DA_TIMEOUT_MS: ["daTimeoutMs", "number"], CONFIRMATIONS: ["confirmations", "number"],
  SUBMIT_STAGGER_MS: ["submitStaggerMs", "number"], RECEIPT_SAMPLES: ["receiptSamples", "number"], FINALIZE: ["finalize", "boolean"],
  CLAIM: ["claim", "boolean"], CLAIM_INTERVAL_MS: ["claimIntervalMs", "number"], REWARDS_TO: ["rewardsTo", "string"], LOG_LEVEL: ["logLevel", "string"],
  ATTESTATION_ROOT: ["attestationRoot", "string"], ATTESTATION_MAX_AGE_SEC: ["attestationMaxAgeSec", "number"],
  DA_FIRST_BYTE_TIMEOUT_MS: ["daFirstByteTimeoutMs", "number"], DA_BYTES_PER_RECEIPT: ["daBytesPerReceipt", "number"],
  DA_MAX_BYTES: ["daMaxBytes", "number"], DA_ALLOW_PRIVATE: ["daAllowPrivate", "boolean"],
};

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, [field, type]] of Object.entries(ENV)) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    // Leave unparsable values as strings: zod then names the field in its error.
    if (type === "number") out[field] = /^[0-9]+$/.test(v) ? Number(v) : v;
    else if (type === "boolean") out[field] = v === "true" || v === "1" ? true : v === "false" || v === "0" ? false : v;
    else if (type === "list") out[field] = v.split(",").map((s) => s.trim()).filter(Boolean);
    else out[field] = v;
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  let file: Record<string, unknown> = {};
  if (values.config) {
    try {
      file = JSON.parse(readFileSync(values.config, "utf8"));
    } catch (e) {
      process.stderr.write(`Cannot read config ${values.config}: ${(e as Error).message}\n`);
      process.exit(2);
    }
  }
  let validator;
  try {
    validator = await createValidator({ ...file, ...fromEnv(process.env) } as never);
  } catch (e) {
    if (e instanceof ValidatorConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const shutdown = (signal: string) => {
    validator.log.info({ signal }, "shutting down");
    void validator.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((e) => {
  process.stderr.write(`validator failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
