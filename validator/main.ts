/**
 * Runs one validator as a process:
 *   npx tsx validator/main.ts --config validator.json
 *   VALIDATOR_PRIVATE_KEY=0x… RPC_URL=http://127.0.0.1:8545 DEPLOYMENT=deployments/local.json \
 *     DATA_DIR=data/validator-0 PEERS=http://127.0.0.1:7401,http://127.0.0.1:7402 npx tsx validator/main.ts
 * Environment variables override the file (config.ts: VALIDATOR_ENV, VALIDATOR_HELP). An unknown
 * key in the file is refused; every problem is reported at once, by the env var or JSON field it
 * was set with. SIGINT/SIGTERM stop it cleanly; a bad config exits 2.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createValidator } from "./validator.js";
import { VALIDATOR_HELP, validatorConfigFromEnv } from "./config.js";
import { ValidatorConfigError } from "./errors.js";
import type { ValidatorConfigInput } from "./config.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(VALIDATOR_HELP);
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
    if (file === null || typeof file !== "object" || Array.isArray(file)) {
      process.stderr.write(`Cannot read config ${values.config}: expected a JSON object of fields (see --help)\n`);
      process.exit(2);
    }
  }
  // A value from the environment overrides the file's and is reported by its variable's name.
  const env = validatorConfigFromEnv(process.env);
  let validator;
  try {
    // File and environment values as read: createValidator validates them, by the names the operator used.
    validator = await createValidator({ ...file, ...env.values } as ValidatorConfigInput, { names: env.names });
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
