/**
 * `proofpath enclave register | approve | reattest | succeed | close | status | deposit | withdraw`: an
 * enclave key's registry record (registration with the key's proof of possession, validator approval,
 * fresh attestation documents, succession: a dead key's account handed to a new key of the same
 * operator, and the retired account's closure) and its fee balance on ProofSettlement.
 */
import { readFileSync } from "node:fs";
import { keccak256, type Abi, type Address, type Hex } from "viem";
import { gatewayRegistryAbi, proofSettlementAbi, validatorSetAbi } from "../../sdk/abis.js";
import { enclaveRegistrationDigest, type CompactSig } from "../../sdk/approvals.js";
import { gatherEnclaveApprovals } from "../../gateway/registration.js";
import { EnclaveApprovalError } from "../../gateway/errors.js";
import { decodeAttestationUnverified } from "../../validator/attestation/index.js";
import { UsageError } from "../cliErrors.js";
import {
  ChainRefusal,
  COMMON_OPTIONS_HELP,
  EXIT_OK,
  addressArg,
  amountArg,
  connect,
  execute,
  opg,
  parseCommand,
  plan,
  requireAccount,
  runGroup,
  toJson,
  withApproval,
} from "./common.js";

export const ENCLAVE_HELP = `Usage: proofpath enclave <command> <enclave-key-address> [options]

An enclave key's registry record and fee balance. The key's operator (the address that registered
it, PROOFPATH_OPERATOR_PRIVATE_KEY) signs registration, re-attestation and withdrawals; anyone may deposit
and submit approvals.

Commands:
  register <key> --document <file> --key-config-hash <h> --bond <OPG> [--key-signature <sig>]
                                     Approve OPG for the bond, then GatewayRegistry.registerEnclave:
                                     the measurement comes from the document's PCRs, attestationHash
                                     is keccak256(document). Without --key-signature, prints the
                                     EIP-712 digest the enclave key must sign (exit 2)
  approve <key> --document <file> --validators <url,url,...> [--public-key <hex>]
                                     Ask the validators (POST /approvals) to verify the document and
                                     sign, then GatewayRegistry.approveEnclave with a quorum
  reattest <key> --document <file>   GatewayRegistry.reattest(key, keccak256(document)): commit to a
                                     fresh document; validators then approve anew (approve)
  status <key>                       Registry record (operator, bond, active until, slashed), fee
                                     balance, pending withdrawal and open batches
  deposit <key> --amount <OPG>       Approve OPG if needed, then ProofSettlement.deposit(key, amount)
  withdraw <key> --amount <OPG>      ProofSettlement.requestWithdraw(key, amount): the amount leaves the
                                     balance now and unlocks after the withdrawal delay
  withdraw <key> [--to <addr>]       Without --amount: ProofSettlement.withdraw(key, to), the unlocked
                                     pending withdrawal (default to: the signer)
  succeed <dead-key> --successor <key>
                                     GatewayRegistry.succeed(dead-key, key): retires the dead key for
                                     good and lets the successor (same operator, approved) settle the
                                     dead key's account; start the successor's hook with
                                     predecessors: [{ account: dead-key, store }]
  close <dead-key>                   GatewayRegistry.closeAccount(dead-key), once the successor's hook
                                     settled the account to its end: no batch settles for it again,
                                     and a receipt the dead key signed at or above the end slashes its
                                     bond (ProofSettlement.challengeOrphanedReceipt). Anyone may close
                                     once bondWithdrawDelay has passed since the succession

${COMMON_OPTIONS_HELP}
`;

const settlementAbi = proofSettlementAbi as Abi;
const registryAbi = gatewayRegistryAbi as Abi;

function documentArg(file: string | undefined): Uint8Array {
  if (file === undefined) throw new UsageError("--document <file> is required (the enclave's attestation document)");
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    throw new UsageError(`--document: cannot read ${file}: ${(e as Error).message}`);
  }
  // nitriding serves Base64: accept the file either way.
  const text = Buffer.from(bytes).toString("latin1").trim();
  return /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? new Uint8Array(Buffer.from(text, "base64")) : bytes;
}

function hashArg(value: string | undefined, what: string): Hex {
  if (value === undefined) throw new UsageError(`${what} is required`);
  if (!/^0x[0-9a-fA-F]{64}$/.test(value))
    throw new UsageError(`${what}: expected 0x + 64 hex digits, got ${JSON.stringify(value)}`);
  return value.toLowerCase() as Hex;
}

/** A 65-byte (r, s, v) or 64-byte EIP-2098 compact signature, as the registry takes it. */
function compactSigArg(value: string): CompactSig {
  const h = value.toLowerCase();
  if (/^0x[0-9a-f]{128}$/.test(h)) return { r: `0x${h.slice(2, 66)}`, vs: `0x${h.slice(66)}` };
  if (!/^0x[0-9a-f]{130}$/.test(h))
    throw new UsageError("--key-signature: expected a 65-byte (r, s, v) or 64-byte compact signature in hex");
  const v = Number.parseInt(h.slice(130), 16);
  if (v !== 27 && v !== 28 && v !== 0 && v !== 1) throw new UsageError(`--key-signature: bad v ${v}`);
  const s = BigInt(`0x${h.slice(66, 130)}`);
  const vs = (v % 27 === 1 ? s | (1n << 255n) : s).toString(16).padStart(64, "0");
  return { r: `0x${h.slice(2, 66)}`, vs: `0x${vs}` };
}

function measurementOfDocument(document: Uint8Array): Hex {
  try {
    return decodeAttestationUnverified(document).measurement as Hex;
  } catch (e) {
    throw new UsageError(`--document: not an attestation document: ${(e as Error).message}`);
  }
}

async function register(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    document: { type: "string" },
    "key-config-hash": { type: "string" },
    bond: { type: "string" },
    "key-signature": { type: "string" },
  });
  if (values.help) return help();
  const key = keyArg(positionals);
  const document = documentArg(values.document);
  const keyConfigHash = hashArg(values["key-config-hash"], "--key-config-hash");
  const bond = amountArg(values.bond, "--bond");
  const measurement = measurementOfDocument(document);
  const attestationHash = keccak256(document);
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  const registry = ctx.deployment.contracts.GatewayRegistry;
  if (values["key-signature"] === undefined) {
    const digest = enclaveRegistrationDigest(ctx.deployment.chainId, registry, {
      operator: me.address,
      measurement,
      attestationHash,
      keyConfigHash,
    });
    throw new UsageError(
      `--key-signature is required: the enclave key ${key} must sign the EIP-712 EnclaveRegistration digest ${digest} (operator ${me.address}, measurement ${measurement}, attestationHash ${attestationHash}, keyConfigHash ${keyConfigHash}) and the signature be passed as --key-signature`,
    );
  }
  const keySig = compactSigArg(values["key-signature"]);
  const tx = plan("GatewayRegistry", registry, registryAbi, "registerEnclave", [
    key,
    measurement,
    attestationHash,
    keyConfigHash,
    bond,
    keySig,
  ]);
  return execute(ctx, me, await withApproval(ctx, me.address, registry, bond, tx), `register enclave ${key}`);
}

async function reattest(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { document: { type: "string" } });
  if (values.help) return help();
  const key = keyArg(positionals);
  const document = documentArg(values.document);
  measurementOfDocument(document); // refuse what is not a document before sending anything
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  const registry = ctx.deployment.contracts.GatewayRegistry;
  return execute(
    ctx,
    me,
    [plan("GatewayRegistry", registry, registryAbi, "reattest", [key, keccak256(document)])],
    `re-attest enclave ${key}`,
  );
}

async function approve(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    document: { type: "string" },
    validators: { type: "string" },
    "public-key": { type: "string" },
  });
  if (values.help) return help();
  const key = keyArg(positionals);
  const document = documentArg(values.document);
  const urls = (values.validators ?? "")
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new UsageError("--validators <url,url,...> is required (the validators' HTTP bases)");
  for (const u of urls) if (!/^https?:\/\//.test(u)) throw new UsageError(`--validators: not an http(s) URL: ${u}`);
  const publicKey = values["public-key"];
  if (publicKey !== undefined && !/^0x04[0-9a-fA-F]{128}$/.test(publicKey))
    throw new UsageError("--public-key: expected the 65-byte uncompressed public key (0x04 + 128 hex digits)");
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  const quorum = Number(
    (await ctx.pub.readContract({
      address: ctx.deployment.contracts.ValidatorSet,
      abi: validatorSetAbi,
      functionName: "quorum",
    })) as bigint,
  );
  let approval: Awaited<ReturnType<typeof gatherEnclaveApprovals>>;
  try {
    approval = await gatherEnclaveApprovals(ctx.pub, {
      deployment: ctx.deployment,
      enclave: key,
      document,
      validators: urls,
      quorum,
      ...(publicKey === undefined ? {} : { publicKey: publicKey as Hex }),
    });
  } catch (e) {
    if (!(e instanceof EnclaveApprovalError)) throw e;
    const lines = e.refusals.map((r) => `  ${r.url}: ${r.error}`).join("\n");
    throw new ChainRefusal(`${e.approved} of ${quorum} validators approved enclave ${key}:\n${lines}`);
  }
  return execute(
    ctx,
    me,
    [
      plan("GatewayRegistry", ctx.deployment.contracts.GatewayRegistry, registryAbi, "approveEnclave", [
        key,
        approval.deadline,
        approval.sigs,
      ]),
    ],
    `approve enclave ${key} with ${quorum} validator signatures (until ${approval.deadline})`,
  );
}

function keyArg(positionals: string[]): Address {
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  return addressArg(positionals[0], "<enclave-key-address>");
}

async function deposit(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { amount: { type: "string" } });
  if (values.help) return help();
  const key = keyArg(positionals);
  const amount = amountArg(values.amount, "--amount");
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  const settlement = ctx.deployment.contracts.ProofSettlement;
  const tx = plan("ProofSettlement", settlement, settlementAbi, "deposit", [key, amount]);
  return execute(
    ctx,
    me,
    await withApproval(ctx, me.address, settlement, amount, tx),
    `deposit ${opg(amount)} for enclave ${key}`,
  );
}

async function withdraw(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { amount: { type: "string" }, to: { type: "string" } });
  if (values.help) return help();
  const key = keyArg(positionals);
  if (values.amount !== undefined && values.to !== undefined) {
    throw new UsageError("--amount requests a withdrawal, --to completes one: pass one of them");
  }
  const amount = values.amount === undefined ? undefined : amountArg(values.amount, "--amount");
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  const settlement = ctx.deployment.contracts.ProofSettlement;
  if (amount !== undefined) {
    return execute(
      ctx,
      me,
      [plan("ProofSettlement", settlement, settlementAbi, "requestWithdraw", [key, amount])],
      `request a withdrawal of ${opg(amount)} from enclave ${key}`,
    );
  }
  const to = values.to === undefined ? me.address : addressArg(values.to, "--to");
  return execute(
    ctx,
    me,
    [plan("ProofSettlement", settlement, settlementAbi, "withdraw", [key, to])],
    `withdraw the pending balance of enclave ${key} to ${to}`,
  );
}

async function succeed(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { successor: { type: "string" } });
  if (values.help) return help();
  const key = keyArg(positionals);
  const successor = addressArg(values.successor, "--successor");
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  return execute(
    ctx,
    me,
    [
      plan("GatewayRegistry", ctx.deployment.contracts.GatewayRegistry, gatewayRegistryAbi as Abi, "succeed", [
        key,
        successor,
      ]),
    ],
    `retire enclave ${key}; ${successor} settles its account`,
  );
}

async function close(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  if (values.help) return help();
  const key = keyArg(positionals);
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  return execute(
    ctx,
    me,
    [plan("GatewayRegistry", ctx.deployment.contracts.GatewayRegistry, registryAbi, "closeAccount", [key])],
    `close retired enclave ${key}'s account: no batch settles for it again`,
  );
}

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  if (values.help) return help();
  const key = keyArg(positionals);
  if (values["dry-run"]) throw new UsageError("status sends nothing: --dry-run does not apply");
  const ctx = await connect(values);
  const { GatewayRegistry: registry, ProofSettlement: settlement } = ctx.deployment.contracts;
  const [record, balance, pending, openBatches, [successor, retiredAt, closed], [nextCallSeq]] = await Promise.all([
    ctx.pub.readContract({
      address: registry,
      abi: gatewayRegistryAbi,
      functionName: "enclave",
      args: [key],
    }) as Promise<{
      operator: Address;
      activeUntil: bigint;
      slashed: boolean;
      measurement: string;
      attestationHash: string;
      keyConfigHash: string;
      bond: bigint;
      approvalNonce: bigint;
      bondUnlockAt: bigint;
    }>,
    ctx.pub.readContract({
      address: settlement,
      abi: proofSettlementAbi,
      functionName: "balanceOf",
      args: [key],
    }) as Promise<bigint>,
    ctx.pub.readContract({
      address: settlement,
      abi: proofSettlementAbi,
      functionName: "pendingWithdrawal",
      args: [key],
    }) as Promise<readonly [bigint, bigint]>,
    ctx.pub.readContract({
      address: settlement,
      abi: proofSettlementAbi,
      functionName: "openBatches",
      args: [key],
    }) as Promise<bigint>,
    ctx.pub.readContract({
      address: registry,
      abi: gatewayRegistryAbi,
      functionName: "succession",
      args: [key],
    }) as Promise<readonly [Address, bigint, boolean]>,
    ctx.pub.readContract({
      address: settlement,
      abi: proofSettlementAbi,
      functionName: "nextSeqs",
      args: [key],
    }) as Promise<readonly [bigint, bigint]>,
  ]);
  const registered = record.operator !== "0x0000000000000000000000000000000000000000";
  const now = (await ctx.pub.getBlock({ blockTag: "latest" })).timestamp;
  const state = !registered
    ? "NotRegistered"
    : record.slashed
      ? "Slashed"
      : successor !== "0x0000000000000000000000000000000000000000"
        ? "Retired"
        : record.activeUntil > now
          ? "Active"
          : "Inactive";
  const body = {
    key,
    state,
    ...record,
    balance,
    pendingWithdrawal: { amount: pending[0], unlockAt: pending[1] },
    openBatches,
    successor,
    retiredAt,
    closed,
    nextCallSeq,
  };
  if (ctx.json) process.stdout.write(`${toJson(body)}\n`);
  else {
    const when = (t: bigint) => (t === 0n ? "-" : new Date(Number(t) * 1000).toISOString());
    process.stdout.write(
      `${[
        `enclave ${key}`,
        `  state         ${state}`,
        `  operator      ${registered ? record.operator : "-"}`,
        `  active until  ${when(record.activeUntil)}`,
        `  measurement   ${record.measurement}`,
        `  bond          ${opg(record.bond)}${record.bondUnlockAt ? ` (withdrawal unlocks ${when(record.bondUnlockAt)})` : ""}`,
        `  fee balance   ${opg(balance)}`,
        `  withdrawal    ${pending[0] === 0n ? "none pending" : `${opg(pending[0])}, unlocks ${when(pending[1])}`}`,
        `  open batches  ${openBatches}`,
        `  next callSeq  ${nextCallSeq}${closed ? " (account closed: the end)" : ""}`,
        ...(state === "Retired"
          ? [
              closed
                ? `  successor     ${successor} (retired ${when(retiredAt)}; account closed)`
                : `  successor     ${successor} (signs for this account since ${when(retiredAt)}; close it once settled)`,
            ]
          : []),
      ].join("\n")}\n`,
    );
  }
  return EXIT_OK;
}

function help(): number {
  process.stdout.write(ENCLAVE_HELP);
  return EXIT_OK;
}

export function enclaveCommand(args: string[]): Promise<number> {
  return runGroup(
    "enclave",
    ENCLAVE_HELP,
    { register, approve, reattest, succeed, close, status, deposit, withdraw },
    args,
  );
}
