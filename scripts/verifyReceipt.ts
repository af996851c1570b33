/**
 * `proofpath verify-receipt <file|->`: a user checks their own call from the enclave-signed receipt
 * they hold. The checks live in sdk/verifyReceipt.ts (the dashboard's verify page runs the same
 * code in the browser); this file reads the input, prints the verdict, and on fraud builds the
 * challenge to submit (commit, then reveal).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createPublicClient, encodeFunctionData, http, type Address, type Hex, type PublicClient } from "viem";
import { proofSettlementAbi } from "../sdk/abis.js";
import { challengeCommitment, newSalt, orphanCommitment } from "../sdk/challenge.js";
import { readConfig } from "../sdk/config.js";
import { readDeployment, type Deployment } from "../sdk/deployment.js";
import { hashReceipt } from "../sdk/hashing.js";
import {
  ChainMismatchError,
  isoOfUnixSec as iso,
  VERDICT_EXIT,
  verifyReceipt as runChecks,
  type FraudEvidence,
  type OrphanEvidence,
  type Verdict,
  type VerifyReport,
} from "../sdk/verifyReceipt.js";
import { buildEquivocationProof } from "../validator/equivocation.js";
import { toCompactSignature } from "../sdk/eip712.js";
import { BaseError } from "../sdk/errors.js";
import { describeError, UsageError } from "./cliErrors.js";
import { verifyConfigRole } from "./cli/operatorConfig.js";

export const EXIT = VERDICT_EXIT;
export type { Verdict };

export const VERIFY_RECEIPT_HELP = `Usage: proofpath verify-receipt <file|-> [options]

Checks a receipt the gateway's enclave signed for your call: the EIP-712 signature, that the key was
registered, approved and on an allowed measurement when the call was served, the inclusion proof
against the header settled on-chain, and the batch's status. <file> ("-" = standard input) is JSON
with "receipt" and "receiptSignature", and optionally "header" and "proof": the gateway's answer
to GET /da/receipts/:callSeq, or the sidecar's POST /record?wait=durable answer, as they are.

Options:
  --rpc <url>              JSON-RPC endpoint (default: PROOFPATH_VERIFY_RPC_URL or http://127.0.0.1:8545)
  --deployment <file>      Deployment file (default: PROOFPATH_VERIFY_DEPLOYMENT or deployments/local.json)
  --config <file>          JSON file of the same fields (default: PROOFPATH_VERIFY_CONFIG)
  --da <url>               The gateway's DA base (e.g. https://gw.example/da), asked for the header
                           and proof when the input has none (the settled header itself always
                           comes from the chain)
  --challenger <address>   Who will send the challenge on fraud: the commitment binds it
  --salt <bytes32>         Salt of the challenge commitment (default: random; keep it secret until the reveal)
  --json                   Print the result as JSON
  -h, --help               Show this help

Verdicts and exit codes:
  0 final         the batch is Finalized: the call is settled for good
  3 pending       not yet final; says what it waits for: the gateway to seal and submit the call,
                  a validator quorum's attestation, or the challenge window's end
  1 fraud         the batch settled at this callSeq holds another leaf than the receipt the enclave
                  signed: prints the challenge to submit (commitChallenge, then challengeEquivocation);
                  or the gateway's account was closed below this callSeq, so the call will never be
                  settled: prints the proof to submit (commitChallenge, then challengeOrphanedReceipt)
  1 rejected      the receipt's batch was Rejected: the call will never be final
  1 invalid       the key was not approved (or was deactivated, slashed, revoked) when the call was served
  2 bad input     not a receipt, a signature that is not the gateway key's, a key unknown to this
                  deployment, or a usage error
  4 inconclusive  the chain or the batch's data could not be read: nothing was decided
`;

export interface VerifyOptions {
  rpc: string;
  deployment: Deployment;
  da?: string;
  challenger?: Address;
  salt?: Hex;
}

export interface Challenge {
  settlement: Address;
  challenger: Address | null;
  salt: Hex;
  /** null without --challenger: the commitment binds the sender. */
  commitment: Hex | null;
  commit: { function: "commitChallenge"; args: [Hex] | null; calldata: Hex | null };
  reveal: { function: "challengeEquivocation" | "challengeOrphanedReceipt"; args: unknown[]; calldata: Hex };
  /** Unix s after which the reveal reverts (the window's end), when the batch is attested. */
  deadline: string | null;
  note: string;
}

export type Report = VerifyReport & { challenge?: Challenge };

const jsonSafe = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));

function commitStep(commitment: Hex | null): Challenge["commit"] {
  return {
    function: "commitChallenge",
    args: commitment ? [commitment] : null,
    calldata: commitment
      ? encodeFunctionData({ abi: proofSettlementAbi, functionName: "commitChallenge", args: [commitment] })
      : null,
  };
}

/** The reveal of a proof: its arguments as JSON and its calldata. */
function revealStep(fn: Challenge["reveal"]["function"], args: readonly unknown[]): Challenge["reveal"] {
  return {
    function: fn,
    args: jsonSafe(args) as unknown[],
    calldata: encodeFunctionData({ abi: proofSettlementAbi, functionName: fn, args: [...args] } as Parameters<
      typeof encodeFunctionData
    >[0]),
  };
}

/** The commit and reveal a user sends to prove an orphaned receipt (from anyone's address). */
function buildOrphanChallenge(report: VerifyReport, f: OrphanEvidence, o: VerifyOptions): Challenge {
  const receipt = report.receipt!;
  const salt = o.salt ?? newSalt();
  const revealArgs = [receipt, toCompactSignature(f.signature), salt] as const;
  const commitment = o.challenger ? orphanCommitment(o.challenger, hashReceipt(receipt), salt) : null;
  return {
    settlement: f.settlement,
    challenger: o.challenger ?? null,
    salt,
    commitment,
    commit: commitStep(commitment),
    reveal: revealStep("challengeOrphanedReceipt", revealArgs),
    deadline: null,
    note: f.slashed
      ? "The key's bond is gone (taken by another proof, or withdrawn): the reveal would revert (SettlementNothingToSlash)."
      : `From ${o.challenger ?? "your address (pass --challenger to get the commitment)"}: send commit, then the reveal in a later block, while the key's bond is there (no deadline). Keep the salt secret until the reveal.`,
  };
}

/** The commit and reveal a user sends to challenge an equivocation or prove an orphaned receipt. */
async function buildChallenge(report: VerifyReport, f: FraudEvidence, o: VerifyOptions): Promise<Challenge> {
  if (f.kind === "orphaned") return buildOrphanChallenge(report, f, o);
  const receipt = report.receipt!;
  const { header, headerHash, onchain, nowSec } = f;
  const eq = await buildEquivocationProof({
    chainId: f.chainId,
    settlement: f.settlement,
    header,
    leaves: f.leaves,
    signed: { receipt, signature: f.signature },
  });
  const attesters = onchain.status === "Attested" ? await f.readClient.attesters(onchain.attestationId) : [];
  const salt = o.salt ?? newSalt();
  const evidence = {
    signedReceipt: eq.signedReceipt,
    receiptSig: eq.receiptSig,
    settledReceipt: eq.settledReceipt,
    settledIsVoid: eq.settledIsVoid,
    proof: eq.proof,
  };
  const revealArgs = [header, evidence, salt, attesters] as const;
  const commitment = o.challenger ? challengeCommitment(o.challenger, headerHash, hashReceipt(receipt), salt) : null;
  const open = onchain.status === "Submitted" || (onchain.status === "Attested" && onchain.windowEnd > nowSec);
  const note = open
    ? `From ${o.challenger ?? "your address (pass --challenger to get the commitment)"}: send commit, then the reveal in a later block` +
      (onchain.status === "Attested"
        ? `, before ${iso(onchain.windowEnd)}`
        : ", before the challenge window closes (it opens at attestation)") +
      ". Keep the salt secret until the reveal."
    : `The batch is ${onchain.status}${onchain.status === "Finalized" ? " and its challenge window is closed" : ""}: the challenge can no longer be submitted.`;
  return {
    settlement: f.settlement,
    challenger: o.challenger ?? null,
    salt,
    commitment,
    commit: commitStep(commitment),
    reveal: revealStep("challengeEquivocation", revealArgs),
    deadline: onchain.status === "Attested" ? String(onchain.windowEnd) : null,
    note,
  };
}

/** Runs every check on `text` (the input file's content) and returns the verdict with its evidence. */
export async function verifyReceipt(text: string, o: VerifyOptions, client?: PublicClient): Promise<Report> {
  const pub = client ?? (createPublicClient({ transport: http(o.rpc, { retryCount: 1 }) }) as PublicClient);
  let out: Awaited<ReturnType<typeof runChecks>>;
  try {
    out = await runChecks(text, { client: pub, deployment: o.deployment, ...(o.da ? { da: o.da } : {}) });
  } catch (e) {
    if (e instanceof ChainMismatchError) throw new UsageError(e.message);
    throw e;
  }
  const { report, fraud } = out;
  if (report.verdict === "inconclusive" && report.reason.startsWith("cannot reach the chain:"))
    return {
      ...report,
      reason: report.reason.replace("cannot reach the chain:", `cannot reach the chain at ${o.rpc}:`),
    };
  if (!fraud) return report;
  return { ...report, challenge: await buildChallenge(report, fraud, o) };
}

function formatText(file: string, rep: Report): string {
  const out: string[] = [];
  const rc = rep.receipt;
  out.push(
    rc
      ? `receipt ${file}: callSeq ${rc.callSeq} of gateway ${rc.gateway}, served ${new Date(Number(rc.servedAt)).toISOString()}`
      : `receipt ${file}`,
  );
  const c = rep.checks;
  if (c.signature) {
    out.push(
      `  signature     ${c.signature.ok ? `by the gateway key (EIP-712, chain ${c.signature.domain!.chainId}, settlement ${c.signature.domain!.settlement})` : `NOT the gateway key's (recovers to ${c.signature.signer ?? "nothing"})`}`,
    );
  }
  if (c.key) {
    const k = c.key;
    if (k.ok && k.approval)
      out.push(
        `  key           approved ${iso(k.approval.at)} (block ${k.approval.blockNumber}), active until ${iso(k.approval.activeUntil)}, measurement ${k.measurement}${k.slashedNow ? " (slashed since)" : ""}`,
      );
    else out.push(`  key           ${k.reason}`);
  }
  if (c.batch) {
    const b = c.batch;
    const last = BigInt(b.firstCallSeq) + BigInt(b.count) - 1n;
    out.push(`  batch         ${b.batchSeq} (callSeqs ${b.firstCallSeq}..${last}), header ${b.headerHash}, tx ${b.tx}`);
    out.push(
      `  status        ${b.status}${b.status === "Attested" ? `, window ends ${iso(BigInt(b.windowEnd))}` : ""}`,
    );
  }
  if (c.inclusion) {
    const i = c.inclusion;
    if (i.proven)
      out.push(
        `  inclusion     proven in the settled header (proof from ${i.source === "da" ? "the batch's data at daURI" : i.source === "gateway" ? "the gateway" : "the input"})`,
      );
    else if (i.settledLeaf)
      out.push(
        `  inclusion     NOT proven: the settled leaf is ${i.settledLeaf}, the signed receipt's ${i.receiptLeaf}`,
      );
    else out.push("  inclusion     not proven");
  }
  out.push(
    `verdict: ${rep.verdict.toUpperCase()}${rep.waitingFor ? ` (waiting for ${rep.waitingFor})` : ""}`,
    `  ${rep.reason}`,
  );
  if (rep.challenge) {
    out.push("challenge (JSON):");
    out.push(JSON.stringify(rep.challenge, null, 2));
  }
  return `${out.join("\n")}\n`;
}

/** The CLI command: returns the exit code. */
export async function verifyReceiptCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      rpc: { type: "string" },
      deployment: { type: "string" },
      config: { type: "string" },
      da: { type: "string" },
      challenger: { type: "string" },
      salt: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(VERIFY_RECEIPT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected exactly one <file> (or - for standard input)");
  const file = positionals[0]!;
  if (values.challenger !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(values.challenger))
    throw new UsageError(`--challenger expects an address, got ${JSON.stringify(values.challenger)}`);
  if (values.salt !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(values.salt))
    throw new UsageError(`--salt expects 0x + 64 hex, got ${JSON.stringify(values.salt)}`);
  if (values.da !== undefined && !/^https?:\/\//.test(values.da))
    throw new UsageError(`--da expects an http(s) URL, got ${JSON.stringify(values.da)}`);
  const { config } = readConfig(verifyConfigRole, {
    file: values.config,
    flags: { deployment: values.deployment, rpcUrl: values.rpc },
  });
  const deploymentFile = config.deployment;
  let deployment: Deployment;
  try {
    deployment = readDeployment(deploymentFile);
  } catch (e) {
    throw new UsageError(`--deployment: ${(e as Error).message}`);
  }
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${JSON.stringify(file)}: ${(e as Error).message}`);
  }
  const rpc = config.rpcUrl;
  let rep: Report;
  try {
    rep = await verifyReceipt(text, {
      rpc,
      deployment,
      ...(values.da ? { da: values.da } : {}),
      ...(values.challenger ? { challenger: values.challenger as Address } : {}),
      ...(values.salt ? { salt: values.salt as Hex } : {}),
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // A chain or network failure mid-way decides nothing: never report it as fraud (exit 1).
    rep = {
      verdict: "inconclusive",
      reason: `could not finish the checks: ${((e as Error).message ?? String(e)).split("\n")[0]}`,
      checks: {},
    };
  }
  process.stdout.write(values.json ? `${JSON.stringify(jsonSafe(rep), null, 2)}\n` : formatText(file, rep));
  return EXIT[rep.verdict];
}
