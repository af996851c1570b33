/**
 * Runs one validator as a process:
 *   npx tsx validator/main.ts --config validator.json
 *   PROOFPATH_VALIDATOR_PRIVATE_KEY=0x… PROOFPATH_VALIDATOR_RPC_URL=http://127.0.0.1:8545 \
 *     PROOFPATH_VALIDATOR_DEPLOYMENT=deployments/local.json PROOFPATH_VALIDATOR_DATA_DIR=data/validator-0 \
 *     PROOFPATH_VALIDATOR_PEERS=http://127.0.0.1:7401,http://127.0.0.1:7402 npx tsx validator/main.ts
 * Variables override the file (sdk/config.ts; `--help` lists every field). An unknown key or
 * variable is refused; every problem is reported at once, by the variable or file key it was set
 * with. SIGINT/SIGTERM stop it cleanly; a bad config exits 2.
 */
import { parseArgs } from "node:util";
import { ConfigError, configHelp, loadConfig } from "../sdk/config.js";
import { createValidator } from "./validator.js";
import { parseValidatorConfig, validatorConfigRole } from "./config.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(configHelp(validatorConfigRole));
    return;
  }
  const loaded = loadConfig(validatorConfigRole, { file: values.config });
  let validator;
  try {
    const config = parseValidatorConfig(loaded.input, { names: loaded.names, issues: loaded.issues });
    validator = await createValidator(config, { names: loaded.names });
  } catch (e) {
    if (e instanceof ConfigError) {
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
