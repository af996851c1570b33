/**
 * proofpath command line.
 *
 *   npx tsx scripts/cli.ts <command> [options]     (or `npx proofpath …` through scripts/cli.js)
 *
 * Exit codes: 0 success (a verdict of "valid"), 1 a negative verdict, 2 a usage error.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type {
  AttestationFields,
  EnclaveKey,
  TrustedRoot,
  VerifyAttestationParameters,
  VerifyAttestationReturnType,
} from "../validator/attestation/index.js";
import { DEFAULT_MAX_AGE_SEC } from "../validator/attestation/freshness.js"; // light: no viem
import { ConfigError, configHelp, readConfig } from "../sdk/config.js";
import { ChainRefusal, describeError, UsageError } from "./cliErrors.js";

// Loaded on first use, so `--help` and usage errors answer without loading viem and the verifier.
const attestation = () => import("../validator/attestation/index.js");

const EXIT_OK = 0;
const EXIT_INVALID = 1;
const EXIT_USAGE = 2;

const MAIN_HELP = `Usage: proofpath <command> [options]

Commands:
  verify-attestation <file>   Verify an AWS Nitro Enclaves attestation document
  verify-receipt <file|->     Check your call's enclave-signed receipt against the chain
  gateway-sidecar             Run the settlement hook as a local HTTP service (POST /record)
  host-store                  Run the enclave's durable store on the parent instance (Unix socket / vsock)
  validator <command>         Operator: join | exit | withdraw | claim | status (a validator's stake)
  enclave <command>           Operator: status | deposit | withdraw | succeed (fee balance, key succession)
  governance <command>        Governance: queue | execute | status (calls through the Timelock)
  config <role> [--check]     Every config field of a role (gateway, validator, relay, indexer, deploy), or check them

Run "proofpath <command> --help" for the options of a command.
Exit codes: 0 valid / success, 1 invalid (operator commands: the chain refused), 2 usage or
configuration error (verify-receipt adds 3 pending, 4 inconclusive).
`;

const VERIFY_HELP = `Usage: proofpath verify-attestation <file> [options]

Verifies an AWS Nitro Enclaves attestation document (COSE_Sign1, ES384): the certificate chain
to the trusted root, the signature, freshness, and optionally the enclave measurement, nonce and
signing key binding. <file> holds the raw CBOR bytes, or their base64 (or 0x-hex) text; "-" reads
standard input.

Options:
  --at <ISO time>           Verification time (default: now)
  --max-age <seconds>       Maximum document age at --at (default: ${DEFAULT_MAX_AGE_SEC})
  --root <file>             Trusted root certificate, PEM or DER (default: the AWS Nitro root)
  --pcrs <m1,m2,...>        Allowed measurements, keccak256(PCR0 || PCR1 || PCR2) as bytes32 hex
  --key <address|pubkey>    Enclave signing key that must be bound: an Ethereum address (checked
                            against public_key) or a secp256k1 public key (public_key or user_data)
  --nonce <hex>             Nonce the document must carry
  --key-config-hash <hex>   keccak256 of the OHTTP key config user_data must bind (proofpath
                            layout: nitriding's 68 bytes || 0x1b20 || keyConfigHash)
  --allow-debug             Accept debug-mode enclaves (PCR0..2 all zero)
  --json                    Print the result as JSON
  -h, --help                Show this help

Exit codes: 0 valid, 1 invalid, 2 usage error.
`;

type Input = { bytes: Uint8Array; encoding: "raw" | "base64" | "hex" };

/** Raw bytes, unless the whole file is base64 (or 0x-hex) text. */
function decodeInput(file: Uint8Array): Input {
  const printable = file.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f));
  const text = Buffer.from(file).toString("latin1").replace(/\s+/g, "");
  if (printable && text.length > 0) {
    if (/^0x([0-9a-fA-F]{2})+$/.test(text)) {
      return { bytes: new Uint8Array(Buffer.from(text.slice(2), "hex")), encoding: "hex" };
    }
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) || /^[A-Za-z0-9_-]+$/.test(text)) {
      const url = text.includes("-") || text.includes("_");
      const bytes = new Uint8Array(Buffer.from(text, url ? "base64url" : "base64"));
      if (bytes.length > 0 && bytes.length === Math.floor((text.replace(/=+$/, "").length * 3) / 4)) {
        return { bytes, encoding: "base64" };
      }
    }
  }
  return { bytes: file, encoding: "raw" };
}

function readFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path === "-" ? 0 : path));
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
}

function hexOption(value: string, option: string): `0x${string}` {
  const v = value.startsWith("0x") ? value : `0x${value}`;
  if (!/^0x([0-9a-fA-F]{2})*$/.test(v)) {
    throw new UsageError(`${option} expects hex bytes, got ${JSON.stringify(value)}`);
  }
  return v as `0x${string}`;
}

async function parseVerifyOptions(
  args: string[],
): Promise<{ file: string; json: boolean; params: VerifyAttestationParameters } | "help"> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      at: { type: "string" },
      "max-age": { type: "string" },
      root: { type: "string" },
      pcrs: { type: "string" },
      key: { type: "string" },
      nonce: { type: "string" },
      "key-config-hash": { type: "string" },
      "allow-debug": { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (positionals.length !== 1) throw new UsageError("expected exactly one <file>");

  let trustedRoot: TrustedRoot;
  if (values.root === undefined) {
    trustedRoot = (await attestation()).AWS_NITRO_ROOT_PEM;
  } else {
    trustedRoot = (await attestation()).trustedRootFromFile(readFile(values.root, "--root"));
  }

  const params: VerifyAttestationParameters = { trustedRoot };
  if (values.at !== undefined) {
    const at = new Date(values.at);
    if (Number.isNaN(at.getTime())) throw new UsageError(`--at expects an ISO time, got ${JSON.stringify(values.at)}`);
    params.at = at;
  }
  if (values["max-age"] !== undefined) {
    const maxAge = Number(values["max-age"]);
    if (values["max-age"].trim() === "" || !Number.isFinite(maxAge) || maxAge < 0) {
      throw new UsageError(`--max-age expects a number of seconds, got ${JSON.stringify(values["max-age"])}`);
    }
    params.maxAgeSec = maxAge;
  }
  if (values.pcrs !== undefined) {
    const measurements = values.pcrs.split(",").map((m) => m.trim());
    params.allowedMeasurements = measurements.filter(Boolean).map((m) => hexOption(m, "--pcrs"));
  }
  if (values.key !== undefined) {
    const key = hexOption(values.key, "--key");
    const enclaveKey: EnclaveKey = key.length === 42 ? { address: key } : { publicKey: key };
    params.enclaveKey = enclaveKey;
  }
  if (values.nonce !== undefined) params.expectedNonce = hexOption(values.nonce, "--nonce");
  if (values["key-config-hash"] !== undefined) {
    const h = hexOption(values["key-config-hash"], "--key-config-hash");
    if (h.length !== 66)
      throw new UsageError(
        `--key-config-hash expects 32 bytes of hex, got ${JSON.stringify(values["key-config-hash"])}`,
      );
    params.keyConfigHash = h;
  }
  if (values["allow-debug"]) params.allowDebugMode = true;
  return { file: positionals[0]!, json: values.json ?? false, params };
}

function printFields(fields: AttestationFields, out: string[]): void {
  out.push(`  module id     ${fields.moduleId}`);
  out.push(`  timestamp     ${new Date(fields.timestamp).toISOString()} (unix ms ${fields.timestamp})`);
  for (const i of [0, 1, 2]) out.push(`  PCR${i}          ${fields.pcrs[i]}`);
}

function keyLine(result: VerifyAttestationReturnType): string {
  if (result.keyBinding) return `${result.keyBinding.address} bound by ${result.keyBinding.method}`;
  const seen = result.publicKeyAddress ? ` (public_key is ${result.publicKeyAddress})` : "";
  return `not checked: pass --key${seen}`;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

async function verifyAttestationCommand(args: string[]): Promise<number> {
  const options = await parseVerifyOptions(args);
  if (options === "help") {
    process.stdout.write(VERIFY_HELP);
    return EXIT_OK;
  }
  const input = decodeInput(readFile(options.file, "file"));
  const {
    AttestationError,
    AttestationInvalidParameterError,
    decodeAttestationUnverified,
    formatFingerprint,
    verifyAttestation,
  } = await attestation();

  let result: VerifyAttestationReturnType | undefined;
  let failure: InstanceType<typeof AttestationError> | undefined;
  try {
    result = verifyAttestation(input.bytes, options.params);
  } catch (err) {
    if (err instanceof AttestationInvalidParameterError) throw new UsageError(err.shortMessage);
    if (!(err instanceof AttestationError)) throw err;
    failure = err;
  }
  let fields: AttestationFields | undefined = result;
  if (fields === undefined) {
    try {
      fields = decodeAttestationUnverified(input.bytes);
    } catch {
      fields = undefined;
    }
  }

  if (options.json) {
    const body = failure
      ? {
          verdict: "invalid",
          error: {
            name: failure.name,
            shortMessage: failure.shortMessage,
            details: failure.details,
            metaMessages: failure.metaMessages,
          },
          unverified: fields,
        }
      : { verdict: "valid", ...result };
    process.stdout.write(`${JSON.stringify(body, jsonReplacer, 2)}\n`);
    return failure ? EXIT_INVALID : EXIT_OK;
  }

  const out = [`attestation document ${options.file} (${input.bytes.length} bytes, ${input.encoding})`];
  if (fields) printFields(fields, out);
  if (result) {
    const root = result.certificateChain[0]!;
    const allowed = result.measurementChecked ? "allowed" : "not checked: pass --pcrs";
    out.push(`  measurement   ${result.measurement} (${allowed})`);
    out.push(`  key binding   ${keyLine(result)}`);
    out.push(`  nonce         ${result.nonce ?? "(none)"}${result.nonceChecked ? " (matches)" : ""}`);
    out.push(
      `  key config    ${result.keyConfigHash ?? "(not bound)"}${result.keyConfigHashChecked ? " (matches)" : ""}`,
    );
    const chain = `${result.certificateChain.length} certificates to root SHA-256 ${formatFingerprint(root.sha256)}`;
    out.push(`  chain         ${chain}`);
    out.push(`  verified at   ${result.verifiedAt.toISOString()}`);
    out.push(`  hash          ${result.attestationHash} (keccak256 of the document)`);
    out.push("verdict: VALID");
  } else if (failure) {
    if (fields) out.push(`  measurement   ${fields.measurement}`, "  (fields above are unverified)");
    out.push(`verdict: INVALID (${failure.name})`, `  ${failure.shortMessage}`);
    for (const line of failure.metaMessages ?? []) out.push(`  ${line}`);
    if (failure.details) out.push(`  ${failure.details}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
  return failure ? EXIT_INVALID : EXIT_OK;
}

const SIDECAR_ROUTES = `Bind it to loopback: POST /record takes calls on the enclave's behalf.
clients/python/proofpath_sidecar.py is a client.

  POST /record[?wait=durable]  { modelId, requestHash, responseHash, inputTokens, outputTokens, servedAt? }
                               -> { callSeq, digest, durable[, receipt, receiptSignature] }
  GET  /status                 health of the hook (chain, store, submitter)
  GET  /da/receipts/:callSeq, /da/batches/:batchSeq, /da/metrics   as the gateway serves them

--port and --host override port and host. Prints one line "listening <url>" once ready; stops
cleanly on SIGINT / SIGTERM (exit 0). Exit codes: 0 stopped, 1 failed, 2 usage or config error.
`;

async function gatewaySidecarCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  const { gatewayConfigRole } = await import("../gateway/config.js");
  if (values.help) {
    process.stdout.write(configHelp(gatewayConfigRole, SIDECAR_ROUTES));
    return EXIT_OK;
  }
  // Keys come from PROOFPATH_GATEWAY_ENCLAVE_KEY / _RELAYER_KEY or the file, never from a flag.
  const { config, names } = readConfig(gatewayConfigRole, {
    file: values.config,
    flags: { port: values.port, host: values.host },
  });
  const { host, port, daPort, daProcess, daCpus, logLevel, heartbeat: heartbeatConfig, ...hookInput } = config;
  const [{ createSettlementHook, listen, startDaServer }, { createSidecarApp }, { default: pino }] = await Promise.all([
    import("../gateway/index.js"),
    import("../gateway/serve/sidecar.js"),
    import("pino"),
  ]);
  const logger = pino({ name: "proofpath-gateway", level: logLevel });
  const hook = await createSettlementHook({ ...hookInput, logger }, { names });
  const heartbeat = heartbeatConfig
    ? await (await import("../gateway/attest/fromConfig.js")).startHeartbeat(heartbeatConfig, {
        hook,
        rpcUrls: [...(hookInput.rpcUrl ? [hookInput.rpcUrl] : []), ...(hookInput.rpcUrls ?? [])],
        enclaveKey: hookInput.enclaveKey as `0x${string}`,
        log: logger,
      })
    : undefined;
  const server = await listen(createSidecarApp(hook, { daInline: daPort === undefined }), port, host);
  const da =
    daPort === undefined
      ? undefined
      : await startDaServer(hook, {
          port: daPort,
          host,
          logLevel,
          ...(daProcess ? { process: true, ...(daCpus === undefined ? {} : { cpus: daCpus }) } : {}),
        });
  process.stdout.write(`listening http://${host}:${server.port}${da ? ` (DA endpoints: ${da.url})` : ""}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await heartbeat?.stop();
  await server.close();
  await da?.close();
  await hook.close();
  return EXIT_OK;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  "verify-attestation": verifyAttestationCommand,
  // Loaded on use, like the verifier: --help of other commands stays light.
  "verify-receipt": async (args) => (await import("./verifyReceipt.js")).verifyReceiptCommand(args),
  "gateway-sidecar": gatewaySidecarCommand,
  "host-store": async (args) => (await import("./cli/hostStore.js")).hostStoreCommand(args),
  validator: async (args) => (await import("./cli/validator.js")).validatorCommand(args),
  enclave: async (args) => (await import("./cli/enclave.js")).enclaveCommand(args),
  governance: async (args) => (await import("./cli/governance.js")).governanceCommand(args),
  config: async (args) => (await import("./cli/config.js")).configCommand(args),
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(MAIN_HELP);
    return EXIT_USAGE;
  }
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(MAIN_HELP);
    return EXIT_OK;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    process.stderr.write(`proofpath: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`);
    return EXIT_USAGE;
  }
  try {
    return await run(rest);
  } catch (err) {
    // parseArgs reports unknown / malformed options with ERR_PARSE_ARGS_* codes.
    const code = (err as { code?: unknown }).code;
    if (err instanceof ConfigError) {
      process.stderr.write(
        `proofpath ${command}: ${(err as Error).message}\nRun "proofpath ${command} --help" for every field.\n`,
      );
      return EXIT_USAGE;
    }
    if (err instanceof UsageError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))) {
      const hint = `Run "proofpath ${command} --help" for usage.`;
      process.stderr.write(`proofpath ${command}: ${describeError(err)}\n${hint}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof ChainRefusal) {
      if (rest.includes("--json")) {
        const error = { message: err.shortMessage, errorName: err.errorName, args: err.errorArgs };
        process.stdout.write(`${JSON.stringify({ ok: false, error }, jsonReplacer, 2)}\n`);
      }
      process.stderr.write(`proofpath ${command}: ${describeError(err)}\n`);
      return EXIT_INVALID;
    }
    process.stderr.write(`proofpath ${command}: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT_INVALID;
  }
}

process.exitCode = await main(process.argv.slice(2));
