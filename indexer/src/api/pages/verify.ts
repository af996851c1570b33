/**
 * The verify page's script (bundled for the browser by ../dashboard.ts): a user pastes the receipt
 * their client kept, or drops their request (and response) bytes, and the page runs the checks of
 * `npx proofpath verify-receipt` (sdk/verifyReceipt.ts, the same code) against the chain, from this
 * browser: JSON-RPC straight to the chain URL the indexer names in /config (editable), so the
 * verdict does not rest on the indexer's word. The indexer is asked only to find a call by its
 * request hash; the gateway's DA for the signed receipt and, when the input has none, the proof.
 */
import { createPublicClient, http, keccak256, type Hex, type PublicClient } from "viem";
import { ChainMismatchError, isoOfUnixSec, verifyReceipt, type VerifyReport } from "../../../../sdk/verifyReceipt.js";

interface SiteConfig {
  chain: { id: number; name: string };
  rpcUrl: string;
  explorerUrl: string | null;
  contracts: { ProofSettlement: Hex; GatewayRegistry: Hex; ValidatorSet: Hex; OPGToken: Hex };
  startBlock: number;
  models: Record<string, string>;
}

type StepState = "ok" | "fail" | "wait" | "skip";
interface Step {
  id: string;
  title: string;
  state: StepState;
  detail: string;
}

const $ = <T extends HTMLElement = HTMLElement>(s: string) => document.querySelector(s) as T;
const esc = (v: unknown) => String(v).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const state = {
  config: undefined as SiteConfig | undefined,
  requestHash: undefined as Hex | undefined,
  responseHash: undefined as Hex | undefined,
};
const w = window as unknown as { __verify: { ready: boolean; errors: string[]; last?: VerifyReport } };
w.__verify = { ready: false, errors: [] };

function link(kind: "tx" | "address", v: string): string {
  const base = state.config?.explorerUrl;
  return base ? `<a href="${esc(`${base}/${kind}/${v}`)}" rel="noreferrer" target="_blank">${esc(v)}</a>` : esc(v);
}

/** Every check of the report as a step, in the CLI's order; a step an earlier one decided is "skip". */
function steps(rep: VerifyReport, bytes: Step[]): Step[] {
  const c = rep.checks;
  const out: Step[] = [...bytes];
  const r = rep.receipt;
  out.push({
    id: "input",
    title: "Receipt",
    state: r ? "ok" : "fail",
    detail: r
      ? `callSeq ${r.callSeq} of gateway ${link("address", r.gateway)}, model ${esc(state.config?.models[r.modelId.toLowerCase()] ?? r.modelId)}, served ${new Date(Number(r.servedAt)).toISOString()}, ${r.inputTokens} + ${r.outputTokens} tokens`
      : esc(rep.reason),
  });
  const decided = (s: Step) => out.push(s);
  decided(
    c.signature
      ? {
          id: "signature",
          title: "Enclave signature (EIP-712)",
          state: c.signature.ok ? "ok" : "fail",
          detail: c.signature.ok
            ? `by the gateway key, under chain ${c.signature.domain!.chainId}, settlement ${link("address", c.signature.domain!.settlement)}`
            : `recovers to ${esc(c.signature.signer ?? "nothing")}, not the receipt's gateway`,
        }
      : { id: "signature", title: "Enclave signature (EIP-712)", state: "skip", detail: "not checked" },
  );
  const k = c.key;
  decided(
    k
      ? {
          id: "key",
          title: "Key registered, approved, measurement allowed when served",
          state: k.ok ? "ok" : "fail",
          detail:
            k.ok && k.approval
              ? `approved ${isoOfUnixSec(k.approval.at)} (block ${k.approval.blockNumber}), active until ${isoOfUnixSec(k.approval.activeUntil)}; measurement ${esc(k.measurement)} not revoked; operator ${link("address", k.operator ?? "")}${k.slashedNow ? "; slashed since" : ""}`
              : esc(k.reason ?? ""),
        }
      : {
          id: "key",
          title: "Key registered, approved, measurement allowed when served",
          state: "skip",
          detail: "not checked",
        },
  );
  const b = c.batch;
  decided(
    b
      ? {
          id: "batch",
          title: "Settled batch and its status",
          state: b.status === "Finalized" ? "ok" : b.status === "Rejected" ? "fail" : "wait",
          detail: `batch ${b.batchSeq} (callSeqs ${b.firstCallSeq}..${BigInt(b.firstCallSeq) + BigInt(b.count) - 1n}), header ${esc(b.headerHash)}, submitted in tx ${link("tx", b.tx)}; status <b>${esc(b.status)}</b>${b.status === "Attested" ? `, challenge window ends ${isoOfUnixSec(BigInt(b.windowEnd))}` : ""}`,
        }
      : {
          id: "batch",
          title: "Settled batch and its status",
          state: rep.verdict === "pending" ? "wait" : "skip",
          detail: rep.verdict === "pending" ? esc(rep.reason) : "not checked",
        },
  );
  const i = c.inclusion;
  decided(
    i
      ? {
          id: "inclusion",
          title: "Inclusion proof against the settled header",
          state: i.proven ? "ok" : "fail",
          detail: i.proven
            ? `proven by ProofSettlement.verifyReceipt (proof from ${i.source === "da" ? "the batch's data at daURI" : i.source === "gateway" ? "the gateway" : "the input"})`
            : i.settledLeaf
              ? `NOT proven: the settled leaf is ${esc(i.settledLeaf)}, the signed receipt's ${esc(i.receiptLeaf)}`
              : "not proven",
        }
      : { id: "inclusion", title: "Inclusion proof against the settled header", state: "skip", detail: "not checked" },
  );
  return out;
}

const VERDICT_TEXT: Record<string, string> = {
  final: "FINAL — the call is settled for good",
  pending: "PENDING",
  fraud: "FRAUD — the gateway settled something else at this callSeq, or closed its account without settling it",
  rejected: "REJECTED — the batch was rejected; this call will never be final",
  invalid: "INVALID — the key was not allowed to serve when the call was served",
  "bad-input": "BAD INPUT — nothing about the gateway can be concluded",
  inconclusive: "INCONCLUSIVE — nothing was decided",
};

function show(rep: VerifyReport, bytes: Step[]): void {
  w.__verify.last = rep;
  $("#steps").innerHTML = steps(rep, bytes)
    .map(
      (s) =>
        `<li class="step ${s.state}" data-step="${s.id}" data-state="${s.state}"><span class="mark">${{ ok: "✓", fail: "✗", wait: "…", skip: "–" }[s.state]}</span><div><b>${esc(s.title)}</b><div class="detail">${s.detail}</div></div></li>`,
    )
    .join("");
  const v = $("#verdict");
  v.className = `verdict ${rep.verdict}`;
  v.dataset.verdict = rep.verdict;
  v.innerHTML = `<div class="big">${esc(VERDICT_TEXT[rep.verdict] ?? rep.verdict)}${rep.waitingFor ? ` (waiting for ${esc(rep.waitingFor)})` : ""}</div><div>${esc(rep.reason)}</div>${rep.verdict === "fraud" ? "<div>To challenge it (bond slashed, you are rewarded): save the receipt and run <code>npx proofpath verify-receipt receipt.json --challenger &lt;your address&gt;</code>, which prints the commit and the reveal to send.</div>" : ""}`;
}

function showError(msg: string): void {
  const v = $("#verdict");
  v.className = "verdict inconclusive";
  v.dataset.verdict = "error";
  v.textContent = msg;
}

/** Steps for dropped bytes: do they hash to the receipt's requestHash / responseHash? */
function byteSteps(text: string): Step[] {
  const out: Step[] = [];
  let r: { requestHash?: string; responseHash?: string } = {};
  try {
    r = (JSON.parse(text) as { receipt?: typeof r }).receipt ?? {};
  } catch {
    /* the checks report bad input */
  }
  for (const [which, h] of [
    ["request", state.requestHash],
    ["response", state.responseHash],
  ] as const) {
    if (!h) continue;
    const want = (which === "request" ? r.requestHash : r.responseHash)?.toLowerCase();
    out.push({
      id: `${which}-bytes`,
      title: `Your ${which} bytes`,
      state: want === h ? "ok" : "fail",
      detail:
        want === h
          ? `hash to the receipt's ${which}Hash ${esc(h)}`
          : `hash to ${esc(h)}, but the receipt says ${esc(want ?? "nothing")}: this receipt is not for these bytes`,
    });
  }
  return out;
}

function daBaseOf(daURI: string): string | undefined {
  const m = /^(https?:\/\/.+)\/batches\/[0-9]+$/.exec(daURI);
  return m?.[1];
}

async function run(): Promise<void> {
  const cfg = state.config!;
  $("#verdict").dataset.verdict = "running";
  $("#verdict").className = "verdict running";
  $("#verdict").textContent = "checking against the chain…";
  $("#steps").innerHTML = "";
  let text = $<HTMLTextAreaElement>("#receipt").value.trim();
  let da: string | undefined = $<HTMLInputElement>("#da").value.trim() || undefined;
  if (!text && state.requestHash) {
    // Only bytes: find the call by its request hash, then its signed receipt at the gateway.
    const res = await fetch(`/requests/${state.requestHash}${chainQuery()}`);
    const found = (await res.json()) as { items?: { gateway: string; callSeq: string; daURI: string }[] };
    const item = found.items?.[0];
    if (!item)
      return showError(
        `No settled call with request hash ${state.requestHash} is indexed yet: paste the receipt your client kept, or try again once the gateway has settled its batch.`,
      );
    da ??= daBaseOf(item.daURI);
    if (!da) return showError(`The batch's daURI ${item.daURI} does not name the gateway's receipts`);
    const r = await fetch(`${da}/receipts/${item.callSeq}`);
    if (!r.ok) return showError(`The gateway's DA answered ${r.status} for callSeq ${item.callSeq}`);
    text = await r.text();
    $<HTMLTextAreaElement>("#receipt").value = text;
  }
  if (!text) return showError("Paste a receipt, or drop your request bytes.");
  const rpc = $<HTMLInputElement>("#rpc").value.trim() || cfg.rpcUrl;
  const client = createPublicClient({ transport: http(rpc, { retryCount: 1 }) }) as PublicClient;
  try {
    const { report } = await verifyReceipt(text, {
      client,
      deployment: { chainId: cfg.chain.id, contracts: cfg.contracts, startBlock: cfg.startBlock },
      ...(da ? { da } : {}),
    });
    show(report, byteSteps(text));
  } catch (e) {
    if (e instanceof ChainMismatchError) return showError(e.message);
    // A chain or network failure mid-way decides nothing.
    show(
      {
        verdict: "inconclusive",
        reason: `could not finish the checks: ${(e as Error).message.split("\n")[0]}`,
        checks: {},
      },
      [],
    );
  }
}

async function hashFile(which: "request" | "response", file: File): Promise<void> {
  const h = keccak256(new Uint8Array(await file.arrayBuffer()));
  if (which === "request") state.requestHash = h;
  else state.responseHash = h;
  const out = $(`#${which}-hash`);
  out.textContent = `${file.name}: ${file.size} bytes, keccak256 ${h}`;
  out.dataset.hash = h;
}

function wireDrop(which: "request" | "response"): void {
  const zone = $(`#${which}-drop`);
  const input = $<HTMLInputElement>(`#${which}-file`);
  input.addEventListener("change", () => {
    const f = input.files?.[0];
    if (f) hashFile(which, f).catch(report);
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const f = e.dataTransfer?.files[0];
    if (f) hashFile(which, f).catch(report);
  });
}

function report(err: unknown): void {
  w.__verify.errors.push(String((err as Error)?.message ?? err));
  showError(String((err as Error)?.message ?? err));
}

/** The page's own ?chainId= picks the chain (and its contracts) on an indexer following several. */
function chainQuery(): string {
  const id = new URLSearchParams(location.search).get("chainId");
  return id ? `?chainId=${encodeURIComponent(id)}` : "";
}

async function main(): Promise<void> {
  const cfg = (await (await fetch(`/config${chainQuery()}`)).json()) as SiteConfig;
  state.config = cfg;
  $("#chain").textContent = `${cfg.chain.name} (chain ${cfg.chain.id})`;
  $<HTMLInputElement>("#rpc").placeholder = cfg.rpcUrl;
  $("#settlement").innerHTML = link("address", cfg.contracts.ProofSettlement);
  wireDrop("request");
  wireDrop("response");
  $("#verify-form").addEventListener("submit", (e) => {
    e.preventDefault();
    run().catch(report);
  });
  w.__verify.ready = true;
}

main().catch(report);
