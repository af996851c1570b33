/**
 * `proofpath verify-receipt <file|->`: a user checks their own call from the enclave-signed receipt
 * they hold, against the chain (sdk/readClient.ts) and, where needed, the batch the gateway
 * published at the header's daURI.
 *
 * Checks, in order (the first that fails decides):
 *   1. the input is a receipt with a 65-byte signature                       else bad-input (2)
 *   2. the signature is the receipt's gateway key's, EIP-712 under
 *      (chainId, settlement)                                                  else bad-input (2)
 *   3. that key is an enclave of this deployment                              else bad-input (2)
 *   4. it was approved, unexpired, not deactivated or slashed, on a
 *      non-revoked measurement when the call was served                       else invalid (1)
 *   5. a settled batch (BatchSubmitted, still the stored header) covers the
 *      callSeq                                                                else pending (3): not sealed / not submitted
 *   6. the receipt is proven in that header (input proof, the gateway's, or
 *      one rebuilt from the DA) — verifyReceipt gives the status:
 *        Finalized → final (0); Submitted / Attested → pending (3); Rejected → rejected (1)
 *   7. not proven: the DA's leaf at that callSeq differs from the signed
 *      receipt → fraud (1), with the challenge to submit; DA unusable →
 *      inconclusive (4)
 * A signature that is not the gateway's is bad input, not fraud: anyone can write such a file, so it
 * proves nothing against the gateway and nothing can be checked for it.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createPublicClient, encodeFunctionData, http, type Address, type Hex, type PublicClient } from "viem";
import { proofSettlementAbi } from "../sdk/abis.js";
import { challengeCommitment, newSalt } from "../sdk/challenge.js";
import { readDeployment, type Deployment } from "../sdk/deployment.js";
import { hashHeader, hashReceipt, receiptLeaf } from "../sdk/hashing.js";
import {
  createReadClient,
  isSignedByGateway,
  leafOfBatchLeaf,
  pickReceipt,
  type BatchLeaf,
  type BatchStatus,
  type KeyAt,
  type OnChainBatch,
  type ReadClient,
} from "../sdk/readClient.js";
import { batchHeaderSchema, hex32Schema, type BatchHeader, type Receipt } from "../sdk/types.js";
import { buildEquivocationProof } from "../validator/equivocation.js";
import { UsageError } from "./cliErrors.js";

export const EXIT = {
  final: 0,
  fraud: 1,
  rejected: 1,
  invalid: 1,
  "bad-input": 2,
  pending: 3,
  inconclusive: 4,
} as const;
export type Verdict = keyof typeof EXIT;

export const VERIFY_RECEIPT_HELP = `Usage: proofpath verify-receipt <file|-> [options]

Checks a receipt the gateway's enclave signed for your call: the EIP-712 signature, that the key was
registered, approved and on an allowed measurement when the call was served, the inclusion proof
against the header settled on-chain, and the batch's status. <file> ("-" = standard input) is JSON
with "receipt" and "receiptSignature", and optionally "header" and "proof": the gateway's answer
to GET /da/receipts/:callSeq, or the sidecar's POST /record?wait=durable answer, as they are.

Options:
  --rpc <url>              JSON-RPC endpoint (default: PROOFPATH_RPC_URL or http://127.0.0.1:8545)
  --deployment <file>      Deployment file (default: PROOFPATH_DEPLOYMENT or deployments/local.json)
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
                  signed: prints the challenge to submit (commitChallenge, then challengeEquivocation)
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
  reveal: { function: "challengeEquivocation"; args: unknown[]; calldata: Hex };
  /** Unix s after which the reveal reverts (the window's end), when the batch is attested. */
  deadline: string | null;
  note: string;
}

export interface Report {
  verdict: Verdict;
  reason: string;
  waitingFor?: "sealing" | "submission" | "attestation" | "finalization" | "window";
  receipt?: Receipt;
  checks: {
    signature?: { ok: boolean; signer?: Address; domain?: { chainId: number; settlement: Address } };
    key?: KeyAt;
    batch?: {
      batchSeq: string;
      firstCallSeq: string;
      count: number;
      headerHash: Hex;
      tx: Hex;
      daURI: string;
      status: BatchStatus;
      windowEnd: string;
      attestationId: number;
    };
    inclusion?: { proven: boolean; source?: "input" | "gateway" | "da"; settledLeaf?: Hex; receiptLeaf?: Hex };
  };
  challenge?: Challenge;
}

interface Input {
  receipt: Receipt;
  signature: Hex;
  header?: BatchHeader;
  proof?: Hex[];
  batchSeq?: bigint;
}

class BadInput extends Error {}

function parseInput(text: string): Input {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BadInput(`not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new BadInput('expected a JSON object with "receipt" and "receiptSignature"');
  const o = raw as Record<string, unknown>;
  if (typeof o.receipt !== "object" || o.receipt === null) throw new BadInput('missing "receipt"');
  if ((o.receipt as { kind?: unknown }).kind === "void")
    throw new BadInput("the receipt is void: that callSeq was never served");
  let receipt: Receipt;
  try {
    receipt = pickReceipt(o.receipt);
  } catch (e) {
    const issue = (e as { issues?: { message: string }[] }).issues?.[0]?.message;
    throw new BadInput(`receipt: ${issue ?? (e as Error).message}`);
  }
  const sig = o.receiptSignature ?? o.signature;
  if (typeof sig !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(sig))
    throw new BadInput('missing "receiptSignature" (the enclave\'s 65-byte EIP-712 signature, 0x + 130 hex)');
  const input: Input = { receipt, signature: sig as Hex };
  if (o.header !== undefined && o.header !== null) {
    const h = batchHeaderSchema.safeParse(o.header);
    if (!h.success) throw new BadInput(`header: ${h.error.issues[0]!.message}`);
    input.header = h.data;
  }
  if (o.proof !== undefined && o.proof !== null) {
    if (!Array.isArray(o.proof)) throw new BadInput("proof: expected an array of bytes32");
    try {
      input.proof = o.proof.map((p) => hex32Schema("proof").parse(p));
    } catch {
      throw new BadInput("proof: expected an array of bytes32 hex strings");
    }
  }
  if (typeof o.batchSeq === "number" || typeof o.batchSeq === "string") {
    try {
      input.batchSeq = BigInt(o.batchSeq);
    } catch {
      /* a hint only */
    }
  }
  return input;
}

const iso = (unixSec: bigint) => new Date(Number(unixSec) * 1000).toISOString();
const jsonSafe = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));

function statusVerdict(r: Report, status: BatchStatus, onchain: OnChainBatch, window: number, nowSec: bigint): Report {
  const b = r.checks.batch!.batchSeq;
  switch (status) {
    case "Finalized":
      return { ...r, verdict: "final", reason: `batch ${b} is Finalized: the call is settled for good` };
    case "Submitted":
      return {
        ...r,
        verdict: "pending",
        waitingFor: "attestation",
        reason: `batch ${b} is Submitted: waiting for a validator quorum to attest it (then a ${window} s challenge window)`,
      };
    case "Attested":
      if (onchain.windowEnd > nowSec)
        return {
          ...r,
          verdict: "pending",
          waitingFor: "window",
          reason: `batch ${b} is Attested: waiting for the challenge window to end at ${iso(onchain.windowEnd)}, then for anyone to finalize it`,
        };
      return {
        ...r,
        verdict: "pending",
        waitingFor: "finalization",
        reason: `batch ${b} is Attested and its window ended at ${iso(onchain.windowEnd)}: waiting for anyone to finalize it`,
      };
    case "Rejected":
      return { ...r, verdict: "rejected", reason: `batch ${b} was Rejected: this call will never be final` };
    default:
      return { ...r, verdict: "inconclusive", reason: `batch ${b} has no status on-chain` };
  }
}

/** Runs every check on `text` (the input file's content) and returns the verdict with its evidence. */
export async function verifyReceipt(text: string, o: VerifyOptions, client?: PublicClient): Promise<Report> {
  let input: Input;
  try {
    input = parseInput(text);
  } catch (e) {
    if (e instanceof BadInput) return { verdict: "bad-input", reason: e.message, checks: {} };
    throw e;
  }
  const { receipt } = input;
  const pub = client ?? (createPublicClient({ transport: http(o.rpc, { retryCount: 1 }) }) as PublicClient);
  const rc: ReadClient = createReadClient({ client: pub, deployment: o.deployment });
  const r: Report = { verdict: "inconclusive", reason: "", receipt, checks: {} };
  let chainId: number;
  try {
    chainId = await pub.getChainId();
  } catch (e) {
    return { ...r, reason: `cannot reach the chain at ${o.rpc}: ${(e as Error).message.split("\n")[0]}` };
  }
  if (chainId !== o.deployment.chainId)
    throw new UsageError(`the RPC is chain ${chainId}, the deployment is on chain ${o.deployment.chainId}`);

  // 2. The enclave's signature.
  const domain = await rc.domain();
  const sig = await isSignedByGateway(domain, receipt, input.signature);
  r.checks.signature = {
    ok: sig.ok,
    ...(sig.signer ? { signer: sig.signer } : {}),
    domain: { chainId, settlement: rc.settlement },
  };
  if (!sig.ok) {
    return {
      ...r,
      verdict: "bad-input",
      reason: `the signature is not the gateway key's: it recovers to ${sig.signer ?? "nothing"}, not ${receipt.gateway} (EIP-712, chain ${chainId}, settlement ${rc.settlement})`,
    };
  }

  // 3-4. The key, when the call was served.
  const key = await rc.keyAt(receipt.gateway, receipt.servedAt);
  r.checks.key = key;
  if (!key.registered) return { ...r, verdict: "bad-input", reason: key.reason! };
  if (!key.ok) return { ...r, verdict: "invalid", reason: key.reason! };

  // 5. The settled batch of this callSeq (its header from the chain, whatever the input claims).
  let gw: Awaited<ReturnType<ReadClient["fetchReceipt"]>>;
  let gwError: string | undefined;
  if (o.da && (!input.header || !input.proof)) {
    try {
      gw = await rc.fetchReceipt(o.da, receipt.callSeq);
    } catch (e) {
      gwError = (e as Error).message;
    }
  }
  const hint = input.header?.batchSeq ?? input.batchSeq ?? gw?.batchSeq ?? gw?.header?.batchSeq;
  let settled = await rc.settledBatchOf(receipt.gateway, receipt.callSeq, hint);
  if (!settled && hint !== undefined) settled = await rc.settledBatchOf(receipt.gateway, receipt.callSeq);
  if (!settled) {
    const { nextCallSeq } = await rc.nextSeqs(receipt.gateway);
    if (receipt.callSeq < nextCallSeq)
      return {
        ...r,
        reason: `callSeq ${receipt.callSeq} is below the next settled callSeq ${nextCallSeq} but no stored batch covers it (a reorg?)`,
      };
    const sealed = input.header ?? gw?.header;
    if (sealed)
      return {
        ...r,
        verdict: "pending",
        waitingFor: "submission",
        reason: `sealed by the gateway into batch ${sealed.batchSeq}, not settled on-chain yet (the chain expects callSeq ${nextCallSeq} next): waiting for the gateway to submit it`,
      };
    const seen = gw ? ` (the gateway reports it ${gw.status})` : gwError ? ` (the gateway's DA: ${gwError})` : "";
    return {
      ...r,
      verdict: "pending",
      waitingFor: "sealing",
      reason: `not in a settled batch yet${seen}: the chain expects callSeq ${nextCallSeq} next; waiting for the gateway to seal and submit it`,
    };
  }
  const { header, headerHash } = settled;
  const onchain = await rc.batch(receipt.gateway, header.batchSeq);
  r.checks.batch = {
    batchSeq: String(header.batchSeq),
    firstCallSeq: String(header.firstCallSeq),
    count: header.count,
    headerHash,
    tx: settled.txHash,
    daURI: header.daURI,
    status: onchain.status,
    windowEnd: String(onchain.windowEnd),
    attestationId: onchain.attestationId,
  };
  const window = Number(
    await pub.readContract({ address: rc.settlement, abi: proofSettlementAbi, functionName: "challengeWindow" }),
  );
  const nowSec = (await pub.getBlock()).timestamp;

  // 6. Proven in the settled header? Proofs from the input, then the gateway's.
  const candidates: { source: "input" | "gateway"; proof: Hex[] }[] = [];
  if (input.proof && (!input.header || hashHeader(input.header) === headerHash))
    candidates.push({ source: "input", proof: input.proof });
  if (gw?.proof && (!gw.header || hashHeader(gw.header) === headerHash))
    candidates.push({ source: "gateway", proof: gw.proof });
  for (const c of candidates) {
    const status = await rc.receiptStatus(header, receipt, c.proof);
    if (status !== "None") {
      r.checks.inclusion = { proven: true, source: c.source };
      return statusVerdict(r, status, onchain, window, nowSec);
    }
  }

  // 7. Not proven by what we were given: ask the batch's own data what is settled at this callSeq.
  let leaves: BatchLeaf[];
  let proof: Hex[];
  let settledLeaf: BatchLeaf;
  try {
    ({ leaves, proof, leaf: settledLeaf } = await rc.proofFromDa(header, receipt.callSeq));
  } catch (e) {
    r.checks.inclusion = { proven: false };
    return {
      ...r,
      reason: `the receipt is not proven in settled batch ${header.batchSeq} by the proof given, and its data cannot be used to tell what is settled at callSeq ${receipt.callSeq}: ${(e as Error).message}`,
    };
  }
  const mine = receiptLeaf(receipt);
  const theirs = leafOfBatchLeaf(settledLeaf);
  if (theirs === mine) {
    const status = await rc.receiptStatus(header, receipt, proof);
    r.checks.inclusion = { proven: status !== "None", source: "da" };
    if (status === "None")
      return { ...r, reason: `the batch's data proves the receipt, but verifyReceipt does not accept it` };
    return statusVerdict(r, status, onchain, window, nowSec);
  }

  // Fraud: the enclave signed `receipt` for this callSeq and settled another leaf.
  r.checks.inclusion = { proven: false, source: "da", settledLeaf: theirs, receiptLeaf: mine };
  const eq = await buildEquivocationProof({
    chainId,
    settlement: rc.settlement,
    header,
    leaves,
    signed: { receipt, signature: input.signature },
  });
  const attesters = onchain.status === "Attested" ? await rc.attesters(onchain.attestationId) : [];
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
  const what = settledLeaf.kind === "void" ? "a void leaf" : "a different receipt";
  const note = open
    ? `From ${o.challenger ?? "your address (pass --challenger to get the commitment)"}: send commit, then the reveal in a later block` +
      (onchain.status === "Attested"
        ? `, before ${iso(onchain.windowEnd)}`
        : ", before the challenge window closes (it opens at attestation)") +
      ". Keep the salt secret until the reveal."
    : `The batch is ${onchain.status}${onchain.status === "Finalized" ? " and its challenge window is closed" : ""}: the challenge can no longer be submitted.`;
  r.challenge = {
    settlement: rc.settlement,
    challenger: o.challenger ?? null,
    salt,
    commitment,
    commit: {
      function: "commitChallenge",
      args: commitment ? [commitment] : null,
      calldata: commitment
        ? encodeFunctionData({ abi: proofSettlementAbi, functionName: "commitChallenge", args: [commitment] })
        : null,
    },
    reveal: {
      function: "challengeEquivocation",
      args: jsonSafe(revealArgs) as unknown[],
      calldata: encodeFunctionData({
        abi: proofSettlementAbi,
        functionName: "challengeEquivocation",
        args: [...revealArgs],
      }),
    },
    deadline: onchain.status === "Attested" ? String(onchain.windowEnd) : null,
    note,
  };
  return {
    ...r,
    verdict: "fraud",
    reason: `batch ${header.batchSeq} (${onchain.status}) settles ${what} at callSeq ${receipt.callSeq}, not the receipt the enclave signed: the gateway equivocated`,
  };
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
  const deploymentFile = values.deployment ?? process.env.PROOFPATH_DEPLOYMENT ?? "deployments/local.json";
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
  const rpc = values.rpc ?? process.env.PROOFPATH_RPC_URL ?? "http://127.0.0.1:8545";
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
