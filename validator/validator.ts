/**
 * `createValidator(config)`: one validator process. Every `pollIntervalMs` it
 *  1. follows BatchSubmitted (watcher.ts),
 *  2. for each open batch re-reads its on-chain status (reorg-safe: nothing is done from a log
 *     alone), decides a verdict (decide.ts), records and signs it (signingRecord.ts), and
 *     aggregates peers' signatures until some validator submits the quorum (aggregate.ts),
 *  3. finalizes its attested batches whose window has passed, in one transaction,
 *  4. claims its rewards now and then.
 * Failures are per batch and follow the retryable / non-retryable split (errors.ts, retry.ts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import pino, { type Logger } from "pino";
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import { hashHeader } from "../sdk/hashing.js";
import type { BatchHeader } from "../sdk/types.js";
import type { CompactSig } from "../sdk/approvals.js";
import { fetchPeerVerdict, quorumFrom, submitRank, type VerdictResponse } from "./aggregate.js";
import { BatchStatus, createValidatorChain, prefixMatches, type OnchainBatch, type ValidatorChain } from "./chain.js";
import { configFieldName } from "../sdk/config.js";
import { parseValidatorConfig, type ValidatorConfig, type ValidatorConfigInput } from "./config.js";
import { createBoundedGet } from "./boundedGet.js";
import { daBudget, fetchDaBatch, type SignedReceipt } from "./da.js";
import { decide } from "./decide.js";
import { buildEquivocationProof, submitEquivocation, type EquivocationProof } from "./equivocation.js";
import {
  DaBusyError,
  DoubleSignRefusedError,
  NotEquivocationError,
  RetryableError,
  RpcUnavailableError,
  TransactionRevertedError,
  ValidatorConfigError,
} from "./errors.js";
import { createValidatorApp, listen } from "./http.js";
import { approveEnclave, type EnclaveApproval } from "./approval.js";
import { AWS_NITRO_ROOT_PEM, trustedRootDer, trustedRootFromFile, type TrustedRoot } from "./attestation/index.js";
import { createMetrics, type ValidatorMetrics } from "./metrics.js";
import { Backoff } from "./retry.js";
import { openSigningRecord, type SignedVerdict, type SigningRecord, type Verdict } from "./signingRecord.js";
import { openStateStore, type StateStore, type TrackedBatch } from "./state.js";
import { openReceiptStore, type ReceiptStore } from "./receiptStore.js";
import { createDaServer } from "./daServe.js";
import { encodeRawDaUriCall } from "./rawDaUri.js";
import { pollBatches } from "./watcher.js";

export interface Validator {
  readonly address: Address;
  readonly url: string;
  readonly port: number;
  readonly config: ValidatorConfig;
  readonly metrics: ValidatorMetrics;
  readonly log: Logger;
  readonly signing: SigningRecord;
  readonly state: StateStore;
  /** Receipts of the batches this validator attested (`da.db`), served at `/da/...`. */
  readonly receipts: ReceiptStore;
  /** Runs one round now (tests); rounds never overlap. */
  tick(): Promise<void>;
  /** Proves equivocation with a signed receipt a user holds; returns the challenge tx hash. */
  challenge(signed: SignedReceipt): Promise<Hex>;
  stop(): Promise<void>;
}

const MAX_FINALIZE = 64;
const BATCH_CONCURRENCY = 4;
const VSET_TTL_MS = 30_000;
/** Whole-batch fetches for POST /equivocations at once (batches this validator does not hold). */
const CHALLENGE_FETCHES = 2;
const PRUNE_EVERY_MS = 60_000;

export async function createValidator(
  input: ValidatorConfigInput | ValidatorConfig,
  /** `names`: what the operator called each field, when not its JSON name (config.ts `ParseOptions`). */
  opts: { logger?: Logger; names?: Readonly<Record<string, string>> } = {},
): Promise<Validator> {
  const cfg = parseValidatorConfig(input, { names: opts.names });
  const account = privateKeyToAccount(cfg.privateKey);
  const self = account.address;
  const log = (opts.logger ?? pino({ name: "proofpath-validator", level: cfg.logLevel })).child({ validator: self });
  const chain: ValidatorChain = createValidatorChain({
    rpcUrl: cfg.rpcUrl,
    rpcUrls: cfg.rpcUrls,
    account,
    settlement: cfg.settlement,
    transactions: {
      bumpAfterMs: cfg.bumpAfterMs,
      maxFeePerGas: cfg.maxFeePerGas,
      maxPriorityFeePerGas: cfg.maxPriorityFeePerGas,
      timeoutMs: cfg.txTimeoutMs,
      onReplace: (from, to) => {
        metrics.feeBumps.inc();
        log.warn(
          { nonce: to.nonce, from: from.hash, to: to.hash, maxFeePerGas: String(to.maxFeePerGas) },
          "transaction not mined in time: replaced with higher fees",
        );
      },
    },
  });
  const chainId = await chain.chainId();
  if (cfg.chainId !== undefined && cfg.chainId !== chainId) {
    throw new ValidatorConfigError({
      field: "deployment",
      name: configFieldName(["deployment"], opts.names),
      reason: `deployment is for chain ${cfg.chainId}, the RPC serves chain ${chainId}`,
    });
  }
  const signing = openSigningRecord({
    file: path.join(cfg.dataDir, "signing.db"),
    account,
    chainId,
    settlement: cfg.settlement,
  });
  const state = openStateStore(path.join(cfg.dataDir, "state.db"));
  const receipts = openReceiptStore(path.join(cfg.dataDir, "da.db"));
  const daServer = createDaServer(receipts, { maxCacheBytes: cfg.daCacheBytes });
  let challengeFetches = 0;
  let lastPruneAt = 0;
  const metrics = createMetrics({ gasBalance: () => chain.publicClient.getBalance({ address: self }) });
  const backoff = new Backoff(cfg.retryBaseMs, cfg.retryMaxMs);
  const peerBackoff = new Backoff(cfg.retryBaseMs, cfg.retryMaxMs);
  const http = createBoundedGet({
    allowPrivate: cfg.daAllowPrivate,
    firstByteTimeoutMs: cfg.daFirstByteTimeoutMs,
    timeoutMs: cfg.daTimeoutMs,
  });
  const daBudgetOf = (count: number) =>
    daBudget(count, { bytesPerReceipt: cfg.daBytesPerReceipt, maxBytes: cfg.daMaxBytes });
  for (const h of state.parkedAtOpen) {
    metrics.daFetchesParked.inc();
    log.warn(
      { headerHash: h },
      "a DA fetch was in progress when the validator died: batch parked, not fetched again (rejected at the DA deadline)",
    );
  }

  // In-memory, rebuilt after a restart: a batch is re-verified once per run and the signing record
  // decides whether that verdict may be signed.
  const decided = new Map<string, SignedVerdict>();
  const peerSigs = new Map<string, Map<string, VerdictResponse>>(); // headerHash -> peer -> verdict
  const quorumAt = new Map<string, number>(); // headerHash -> when k signatures were first held
  const finalizeReadyAt = new Map<string, number>(); // first ready header hash -> when first seen ready
  let vset: { validators: Address[]; quorum: number; at: number } | undefined;
  let lastClaimAt = 0;
  let lastError: string | undefined;
  let lastTickAt = 0;
  let stopped = false;

  async function validatorSet() {
    if (!vset || Date.now() - vset.at > VSET_TTL_MS) vset = { ...(await chain.validatorSet()), at: Date.now() };
    return vset;
  }

  async function nowSec(): Promise<number> {
    // anvil and real chains stamp new blocks with wall time; an idle automining chain's head lags it.
    const head = await chain.head();
    return Math.max(Math.floor(Date.now() / 1000), Number(head.timestamp));
  }

  async function sendTx(fn: "attest" | "reject" | "finalize" | "claimRewards", args: readonly unknown[]): Promise<Hex> {
    return counted(fn, () => chain.send(fn, args));
  }

  async function counted(fn: string, send: () => Promise<Hex>): Promise<Hex> {
    try {
      const hash = await send();
      metrics.submitted.inc({ fn, result: "ok" });
      return hash;
    } catch (e) {
      metrics.submitted.inc({ fn, result: e instanceof TransactionRevertedError ? "reverted" : "error" });
      throw e;
    }
  }

  /** Signs `verdict` through the signing record; on a refused double signature keeps the recorded one. */
  async function signVerdict(b: TrackedBatch, verdict: Verdict, reason: string): Promise<SignedVerdict> {
    try {
      const existed = signing.get(b.headerHash) !== undefined;
      const v = await signing.sign(b.headerHash, verdict, reason);
      if (!existed) {
        metrics.verdicts.inc({ verdict: verdict === 1 ? "attest" : "reject", reason });
        log.info(
          { gateway: b.header.gateway, batchSeq: String(b.header.batchSeq), headerHash: b.headerHash, verdict, reason },
          "verdict signed",
        );
      }
      return v;
    } catch (e) {
      if (!(e instanceof DoubleSignRefusedError)) throw e;
      metrics.doubleSignRefused.inc();
      const recorded = signing.get(b.headerHash)!;
      log.fatal(
        {
          gateway: b.header.gateway,
          batchSeq: String(b.header.batchSeq),
          headerHash: b.headerHash,
          recorded: recorded.verdict,
          requested: verdict,
          reason,
        },
        "REFUSED TO DOUBLE-SIGN: a different verdict was already signed for this batch; keeping the recorded one",
      );
      return recorded;
    }
  }

  async function challengeWith(proof: EquivocationProof): Promise<Hex> {
    const hash = await counted("challengeEquivocation", () => submitEquivocation(chain, proof));
    metrics.equivocations.inc();
    log.warn(
      {
        gateway: proof.header.gateway,
        batchSeq: String(proof.header.batchSeq),
        callSeq: String(proof.signedReceipt.callSeq),
        tx: hash,
      },
      "equivocation proven: batch rejected, bond slashed",
    );
    return hash;
  }

  async function aggregate(b: TrackedBatch, own: SignedVerdict): Promise<void> {
    const h = b.headerHash;
    let got = peerSigs.get(h);
    if (!got) peerSigs.set(h, (got = new Map()));
    // A peer that failed recently is skipped for a while, so a dead peer does not stall every batch.
    const missing = cfg.peers.filter((p) => !got!.has(p) && peerBackoff.due(p));
    await Promise.all(
      missing.map(async (peer) => {
        try {
          const v = await fetchPeerVerdict(peer, h, Math.min(cfg.daTimeoutMs, 2_000));
          peerBackoff.clear(peer);
          if (v) got!.set(peer, v);
        } catch (e) {
          metrics.peerErrors.inc();
          peerBackoff.failed(peer, new RetryableError("peer unreachable", { cause: e }));
          log.debug({ peer, err: (e as Error).message }, "peer verdict fetch failed");
        }
      }),
    );
    const { validators, quorum } = await validatorSet();
    const candidates: { signer: Address; verdict: Verdict; sig: CompactSig }[] = [
      { signer: own.signer, verdict: own.verdict, sig: own.sig },
      ...got.values(),
    ];
    const q = await quorumFrom({
      chainId,
      settlement: cfg.settlement,
      verdict: own.verdict,
      headerHash: h,
      validators,
      candidates,
    });
    if (q.sigs.length < quorum) return;
    const now = Date.now();
    const since = quorumAt.get(h) ?? now;
    quorumAt.set(h, since);
    const rank = submitRank(h, self, validators);
    if (now < since + rank * cfg.submitStaggerMs) return;

    // Status right before sending: another validator may have won the race meanwhile.
    const fresh = await chain.batch(b.header.gateway, b.header.batchSeq);
    if (fresh.status !== BatchStatus.Submitted) return;
    const sigs = q.sigs.slice(0, Math.max(quorum, 1)); // k is enough; fewer signatures, less gas
    const signers = q.signers.slice(0, sigs.length);
    try {
      const tx =
        own.verdict === 1
          ? await sendTx("attest", [[{ gateway: b.header.gateway, batchSeq: b.header.batchSeq, headerHash: h }], sigs])
          : b.daURIRaw
            ? await sendRawReject(b, sigs)
            : await sendTx("reject", [[b.header], sigs]);
      log.info(
        { gateway: b.header.gateway, batchSeq: String(b.header.batchSeq), verdict: own.verdict, signers, tx },
        own.verdict === 1 ? "quorum attestation submitted" : "quorum rejection submitted",
      );
    } catch (e) {
      if (!(e instanceof TransactionRevertedError)) throw e;
      const after = await chain.batch(b.header.gateway, b.header.batchSeq);
      if (after.status !== BatchStatus.Submitted) {
        log.info({ batchSeq: String(b.header.batchSeq), status: after.status }, "batch concluded by another validator");
        return;
      }
      throw e;
    }
  }

  /** `reject` of a header whose daURI is not UTF-8: encoded with its raw bytes (rawDaUri.ts). */
  async function sendRawReject(b: TrackedBatch, sigs: readonly CompactSig[]): Promise<Hex> {
    try {
      const hash = await chain.sendCalldata(
        "reject",
        encodeRawDaUriCall("reject", [[{ ...b.header, daURI: b.daURIRaw }], sigs]),
      );
      metrics.submitted.inc({ fn: "reject", result: "ok" });
      return hash;
    } catch (e) {
      metrics.submitted.inc({ fn: "reject", result: e instanceof TransactionRevertedError ? "reverted" : "error" });
      throw e;
    }
  }

  function forget(h: string) {
    decided.delete(h);
    peerSigs.delete(h);
    quorumAt.delete(h);
    backoff.clear(h);
  }

  /** Moves a tracked batch along according to its on-chain status; true when it is still Submitted. */
  function syncStatus(b: TrackedBatch, onchain: OnchainBatch): boolean {
    if (onchain.status === BatchStatus.None || !prefixMatches(onchain.headerHashPrefix, b.headerHash)) {
      log.warn(
        { gateway: b.header.gateway, batchSeq: String(b.header.batchSeq), headerHash: b.headerHash },
        "batch no longer on chain (reorg): dropped",
      );
      state.setStatus(b.headerHash, "dropped");
      receipts.concluded(b.headerHash, Math.floor(Date.now() / 1000));
      forget(b.headerHash);
      return false;
    }
    if (onchain.status === BatchStatus.Attested) {
      state.setStatus(b.headerHash, "attested");
      forget(b.headerHash);
      return false;
    }
    if (onchain.status === BatchStatus.Finalized || onchain.status === BatchStatus.Rejected) {
      state.setStatus(b.headerHash, "done");
      // Kept `daRetentionSec` more: proofs against it stay possible while anyone may still need them.
      receipts.concluded(b.headerHash, Math.floor(Date.now() / 1000));
      forget(b.headerHash);
      return false;
    }
    return true;
  }

  async function processBatch(b: TrackedBatch): Promise<void> {
    const onchain = await chain.batch(b.header.gateway, b.header.batchSeq);
    if (!syncStatus(b, onchain)) return;
    let own = decided.get(b.headerHash);
    if (!own) {
      const t0 = performance.now();
      const parked = state.daFetchParked(b.headerHash);
      const fetches = !parked && !b.daURIRaw;
      // Marked durably before the fetch: if what it fetches kills this process, the restarted one
      // parks the batch instead of fetching it again (and dying again: a crash loop).
      if (fetches) state.daFetchBegin(b.headerHash);
      let d;
      try {
        d = await decide({
          chain,
          chainId,
          self,
          header: b.header,
          headerHash: b.headerHash,
          submittedAt: onchain.since,
          submittedBlock: b.blockNumber,
          nowSec: await nowSec(),
          daDeadlineSec: cfg.daDeadlineSec,
          http,
          daMaxBytes: daBudgetOf(b.header.count),
          parked,
          daUriInvalid: b.daURIRaw ? "not valid UTF-8" : undefined,
          receiptSamples: cfg.receiptSamples,
          log,
        });
      } finally {
        if (fetches) state.daFetchEnd(b.headerHash);
      }
      metrics.verifyLatency.observe((performance.now() - t0) / 1000);
      // A reorg while the receipts were fetched and checked can put another header at this
      // batchSeq, with its receipts at the same DA URL: act only for the batch on chain now, or a
      // verdict judged on another batch's receipts would bind us if this one came back. (Also
      // before waiting: the other header's receipts may be what made the fetch fail.)
      if (!syncStatus(b, await chain.batch(b.header.gateway, b.header.batchSeq))) return;
      if (d.kind === "wait") {
        metrics.daErrors.inc({ error: d.error.name });
        const delay = backoff.failed(b.headerHash, d.error, { notAfter: d.deadlineAt * 1000 + 250 });
        log.info(
          {
            gateway: b.header.gateway,
            batchSeq: String(b.header.batchSeq),
            headerHash: b.headerHash,
            error: d.error.name,
            err: d.error.shortMessage,
            retryInMs: delay,
            deadlineAt: d.deadlineAt,
          },
          "receipts unavailable; retrying",
        );
        return;
      }
      if (d.kind === "equivocation") {
        try {
          await challengeWith(d.proof);
        } catch (e) {
          // Another validator (or a user) proved it first: the batch is Rejected, which is the point.
          if (!(e instanceof TransactionRevertedError)) throw e;
          const after = await chain.batch(b.header.gateway, b.header.batchSeq);
          if (after.status === BatchStatus.Submitted) throw e;
          log.info(
            { batchSeq: String(b.header.batchSeq), status: after.status },
            "equivocation already proven by someone else",
          );
        }
        return;
      }
      // The DA committee's promise: an attest verdict is signed only once this validator holds the
      // batch's receipts durably, so it can serve them (and proofs) after the gateway is gone.
      if (d.verdict === 1 && d.da && d.check?.ok && d.check.tree && !receipts.has(b.headerHash)) {
        receipts.put({ headerHash: b.headerHash, header: b.header, da: d.da, tree: d.check.tree });
        metrics.daBatchesHeld.inc();
      }
      own = await signVerdict(b, d.verdict, d.reason);
      decided.set(b.headerHash, own);
    }
    await aggregate(b, own);
  }

  /** Finalizes, in one transaction, the ready batches of the oldest attestation that has any (finalize
   *  takes one attestation's batches with its signers, who share the validator fees). */
  async function finalizeReady(): Promise<void> {
    const attested = state.byStatus("attested");
    if (attested.length === 0) return;
    const now = await nowSec();
    const byAttestation = new Map<number, BatchHeader[]>();
    for (const b of attested) {
      const onchain = await chain.batch(b.header.gateway, b.header.batchSeq);
      if (onchain.status !== BatchStatus.Attested || !prefixMatches(onchain.headerHashPrefix, b.headerHash)) {
        syncStatus(b, onchain);
        continue;
      }
      if (BigInt(now) <= onchain.windowEnd) continue;
      const group = byAttestation.get(onchain.attestationId) ?? [];
      if (group.length < MAX_FINALIZE) group.push(b.header);
      byAttestation.set(onchain.attestationId, group);
    }
    if (byAttestation.size === 0) return;
    const attestationId = Math.min(...byAttestation.keys());
    const ready = byAttestation.get(attestationId)!;
    // Everyone sees the same windows end: stagger by rank so one validator sends, not all of them.
    const first = hashHeader(ready[0]!);
    const since = finalizeReadyAt.get(first) ?? Date.now();
    finalizeReadyAt.set(first, since);
    if (Date.now() < since + submitRank(first, self, (await validatorSet()).validators) * cfg.submitStaggerMs) return;
    finalizeReadyAt.delete(first);
    try {
      const tx = await sendTx("finalize", [ready, await chain.attesters(attestationId)]);
      log.info({ batches: ready.map((h) => `${h.gateway}:${h.batchSeq}`), tx }, "batches finalized");
    } catch (e) {
      // Someone else finalized some of them first: statuses are re-read next round.
      if (e instanceof TransactionRevertedError)
        log.info({ reason: e.reason }, "finalize not needed or not yet possible");
      else throw e;
    }
  }

  async function claim(): Promise<void> {
    if (Date.now() - lastClaimAt < cfg.claimIntervalMs) return;
    lastClaimAt = Date.now();
    const owed = await chain.rewardsOwed(self);
    if (owed === 0n) return;
    const to = cfg.rewardsTo ?? self;
    const tx = await sendTx("claimRewards", [to]);
    metrics.rewardsClaimed.inc(Number(owed));
    log.info({ amount: String(owed), to, tx }, "rewards claimed");
  }

  async function step(name: string, fn: () => Promise<void>) {
    try {
      await fn();
    } catch (e) {
      lastError = `${name}: ${(e as Error).message.split("\n")[0]}`;
      if (e instanceof RpcUnavailableError) metrics.rpcErrors.inc();
      log.warn({ step: name, err: (e as Error).message.split("\n")[0] }, "round step failed");
    }
  }

  async function round(): Promise<void> {
    await step("watch", async () => {
      const n = await pollBatches({
        chain,
        state,
        log,
        startBlock: BigInt(cfg.startBlock),
        confirmations: cfg.confirmations,
        maxBlockRange: cfg.maxBlockRange,
      });
      metrics.batchesSeen.inc(n);
    });
    const open = state.byStatus("open");
    metrics.openBatches.set(open.length);
    const work = async (b: TrackedBatch) => {
      if (stopped) return;
      if (!backoff.due(b.headerHash)) {
        // A permanently failed batch is still followed on-chain, so it leaves `open` when concluded.
        if (backoff.parked(b.headerHash))
          await step("status", async () => void syncStatus(b, await chain.batch(b.header.gateway, b.header.batchSeq)));
        return;
      }
      try {
        await processBatch(b);
      } catch (e) {
        const delay = backoff.failed(b.headerHash, e);
        if (e instanceof RpcUnavailableError) metrics.rpcErrors.inc();
        lastError = `batch ${b.header.batchSeq}: ${(e as Error).message.split("\n")[0]}`;
        log.warn(
          {
            gateway: b.header.gateway,
            batchSeq: String(b.header.batchSeq),
            err: (e as Error).message.split("\n")[0],
            name: (e as Error).name,
            retryInMs: delay,
          },
          "batch step failed",
        );
      }
    };
    // A few batches at once, each lane taking the next batch as soon as it is free, so one slow DA
    // endpoint holds up one lane, not every other gateway's batches.
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(BATCH_CONCURRENCY, open.length) }, async () => {
        while (next < open.length) await work(open[next++]!);
      }),
    );
    if (cfg.finalize) await step("finalize", finalizeReady);
    if (cfg.claim) await step("claim", claim);
    if (Date.now() - lastPruneAt > PRUNE_EVERY_MS) {
      lastPruneAt = Date.now();
      await step("prune", async () => {
        const n = receipts.prune(Math.floor(Date.now() / 1000) - cfg.daRetentionSec);
        if (n > 0) log.info({ batches: n }, "held receipts pruned after retention");
      });
    }
    lastTickAt = Date.now();
  }

  let running: Promise<void> | undefined;
  const tick = () => (running ??= round().finally(() => (running = undefined)));
  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    if (stopped) return;
    void tick().finally(() => {
      if (!stopped) timer = setTimeout(loop, cfg.pollIntervalMs);
    });
  };

  async function challenge(signed: SignedReceipt): Promise<Hex> {
    const gw = signed.receipt.gateway.toLowerCase();
    const s = signed.receipt.callSeq;
    // The leaves this validator holds (it attested the batch): no fetch per report.
    const heldHash = receipts.byCallSeq(signed.receipt.gateway, s);
    const held = heldHash ? daServer.leaves(heldHash) : undefined;
    if (held)
      return challengeWith(
        await buildEquivocationProof({
          chainId,
          settlement: cfg.settlement,
          header: held.header,
          leaves: held.leaves,
          tree: held.tree,
          signed,
        }),
      );
    const b = [...state.byStatus("open"), ...state.byStatus("attested")].find(
      (x) =>
        x.header.gateway.toLowerCase() === gw &&
        s >= x.header.firstCallSeq &&
        s < x.header.firstCallSeq + BigInt(x.header.count),
    );
    if (!b)
      throw new NotEquivocationError({
        reason: `no challengeable batch of ${signed.receipt.gateway} holds callSeq ${s}`,
      });
    if (b.daURIRaw) throw new NotEquivocationError({ reason: `batch ${b.header.batchSeq}'s daURI cannot be fetched` });
    // Not held (not verified yet, or rejected): one bounded fetch, a few at once at most.
    if (challengeFetches >= CHALLENGE_FETCHES)
      throw new DaBusyError({
        reason: `${challengeFetches} batch fetches for equivocation reports in progress; retry shortly`,
      });
    challengeFetches++;
    let da;
    try {
      da = await fetchDaBatch(http, b.header.daURI, { count: b.header.count, maxBytes: daBudgetOf(b.header.count) });
    } finally {
      challengeFetches--;
    }
    return challengeWith(
      await buildEquivocationProof({
        chainId,
        settlement: cfg.settlement,
        header: b.header,
        leaves: da.leaves,
        signed,
      }),
    );
  }

  const approvalSigner = {
    chain,
    chainId,
    account,
    maxAgeSec: cfg.attestationMaxAgeSec,
    trustedRoot: cfg.attestationRoot
      ? readAttestationRoot(cfg.attestationRoot, configFieldName(["attestationRoot"], opts.names))
      : AWS_NITRO_ROOT_PEM,
  };
  async function approve(
    enclave: Hex,
    document: Uint8Array,
    deadline?: bigint,
    publicKey?: Hex,
  ): Promise<EnclaveApproval> {
    const a = await approveEnclave(approvalSigner, enclave, document, new Date(), deadline, publicKey);
    log.info({ enclave, measurement: a.measurement, nonce: String(a.nonce) }, "enclave approval signed");
    return a;
  }

  const app = createValidatorApp({
    signing,
    metrics,
    challenge,
    approve,
    da: daServer,
    health: () => ({
      ok: !stopped && Date.now() - lastTickAt < Math.max(10_000, cfg.pollIntervalMs * 10),
      validator: self,
      chainId,
      settlement: cfg.settlement,
      cursor: state.cursor(),
      open: state.byStatus("open").length,
      attested: state.byStatus("attested").length,
      signed: signing.all().length,
      daHeld: receipts.count(),
      daCachedBytes: daServer.cachedBytes,
      lastError: lastError ?? null,
      lastTickAt,
    }),
    onError: (err, p) => log.error({ err: err.message, path: p }, "http handler failed"),
  });
  const server = await listen(app, cfg.port, cfg.host);
  const url = `http://${cfg.host}:${server.port}`;
  log.info(
    { url, chainId, settlement: cfg.settlement, peers: cfg.peers, startBlock: cfg.startBlock },
    "validator listening",
  );
  lastTickAt = Date.now();
  loop();

  return {
    address: self,
    url,
    port: server.port,
    config: cfg,
    metrics,
    log,
    signing,
    state,
    receipts,
    tick,
    challenge,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
      await server.close();
      await http.close();
      signing.close();
      state.close();
      receipts.close();
      log.info("validator stopped");
    },
  };
}

/** Reads the `attestationRoot` file (parseValidatorConfig checked it) and fails at start with the field named. */
function readAttestationRoot(file: string, name: string): TrustedRoot {
  try {
    const root = trustedRootFromFile(readFileSync(file));
    trustedRootDer(root);
    return root;
  } catch (e) {
    throw new ValidatorConfigError({
      field: "attestationRoot",
      name,
      reason: (e as { shortMessage?: string }).shortMessage ?? (e as Error).message,
    });
  }
}
