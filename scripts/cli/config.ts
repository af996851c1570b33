/**
 * `proofpath config <role> [--check]`: every field of a role (the same text as its --help), or a
 * check of the role's current config file and environment that reports every problem at once.
 * The indexer needs it most: Ponder owns its command line.
 */
import { parseArgs } from "node:util";
import { configFileVariable, configHelp, loadConfig, parseConfig } from "../../sdk/config.js";
import { UsageError } from "../cliErrors.js";
import { CONFIG_ROLES } from "../configRoles.js";
import { EXIT_OK } from "./common.js";

const key = (title: string) => title.replace(/ /g, "-");

export const CONFIG_HELP = `Usage: proofpath config <role> [--check] [--config <file>]

Prints every configuration field of a role: its file key, environment variable, type, default and
meaning (docs/config.md has them all). --check reads the role's config file (--config, or
PROOFPATH_<ROLE>_CONFIG) and PROOFPATH_<ROLE>_* variables as the role would, and reports every
problem at once (exit 2) or prints "ok".

Roles: ${CONFIG_ROLES.map((r) => key(r.title)).join(", ")}
`;

export async function configCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { check: { type: "boolean" }, config: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(CONFIG_HELP);
    return EXIT_OK;
  }
  const role = CONFIG_ROLES.find((r) => key(r.title) === positionals[0]);
  if (!role || positionals.length > 1)
    throw new UsageError(`expected one role of: ${CONFIG_ROLES.map((r) => key(r.title)).join(", ")}`);
  if (!values.check) {
    process.stdout.write(configHelp(role));
    return EXIT_OK;
  }
  const loaded = loadConfig(role, { file: values.config });
  parseConfig(role, loaded.input, { names: loaded.names, issues: loaded.issues });
  const from = Object.values(loaded.names);
  const file = values.config ?? process.env[configFileVariable(role)];
  process.stdout.write(
    `ok: ${role.title} config is valid${file ? ` (file ${file}` : " (no file"}${from.length ? `; variables ${from.join(", ")})` : ")"}\n`,
  );
  return EXIT_OK;
}
