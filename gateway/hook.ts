/**
 * `createSettlementHook(config)`: what a gateway operator embeds in the TEE gateway. It records a
 * receipt after each fast-path response (synchronously, never waiting on the chain) and owns
 * everything after: durability, batching, signing, settlement and proofs.
 *
 * @example
 * const hook = await createSettlementHook({ store: "data/gateway.db", enclaveKey, rpcUrl, settlement,
 *   daBaseUrl: "https://gw.example/da", batch: { maxCalls: 1024, maxAgeMs: 5_000 } });
 * const { callSeq, digest, durable } = hook.record({ modelId, requestHash, responseHash, inputTokens, outputTokens });
 */
import { hexToBytes, type Address, type LocalAccount, type PublicClient } from "viem";
import pino, { type Logger } from "pino";
import { settlementDomain, signHeader, signReceipt, type SettlementDomain } from "../sdk/eip712.js";
import { configFieldName, type ConfigNames } from "../sdk/config.js";
import { parseHookConfig, type HookConfig, type HookConfigInput } from "./config.js";
import { Store, type BatchRow } from "./store.js";
import { Recorder, type Call, type Recorded } from "./record/recorder.js";
import { Committer } from "./commit/committer.js";
import { Sealer, type FeeCaps, type HeldBatch } from "./seal/sealer.js";
import { Submitter } from "./submit/submitter.js";
import { TreeBuilder } from "./seal/treeBuilder.js";
import { FeeRates, makePublicClient, readNextSeqs } from "./chain.js";
import { createMetrics, type HookMetrics } from "./metrics.js";
import { recover } from "./reconcile.js";
import { REC, decodeRecord, receiptStruct, type StoredReceipt } from "./record/receiptLayout.js";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { TreeCache, batchHead, batchView, durableReceiptView } from "./serve/daReader.js";
import { EnclaveRetiredError, GatewayConfigError, NotDurableError, ReconcileError } from "./errors.js";
import type { BatchHeader } from "../sdk/types.js";
import { SUCCESSOR_META, accountSigners, settlePredecessor, type SuccessionResult } from "./succession.js";
import { gatewayRegistryAbi, proofSettlementAbi } from "../sdk/abis.js";
import { recoverOnHost, restoreFromHost, type RestoredLog } from "./hoststore/restore.js";

export type { Call, Recorded } from "./record/recorder.js";

/** Status of a callSeq as the HTTP API reports it. */
export type ReceiptStatus = "pending" | "sealed" | "submitted" | "confirmed";

export interface ReceiptView {
  receipt: StoredReceipt & { gateway: Address };
  status: ReceiptStatus;
  durable: boolean;
  batchSeq?: number;
  header?: BatchHeader;
  headerSignature?: string;
  proof?: string[];
  index?: number;
  tx?: { hash: string; blockNumber: number | null; blockHash: string | null };
}

export interface BatchView {
  header: BatchHeader;
  signature: string | null;
  status: ReceiptStatus;
  tx?: { hash: string; blockNumber: number | null; blockHash: string | null };
  receipts: StoredReceipt[];
}

export interface SettlementHook {
  /** The enclave key's address (the receipts' `gateway`). */
  readonly gateway: Address;
  readonly settlement: Address;
  readonly chainId: number;
  readonly domain: SettlementDomain;
  readonly metrics: HookMetrics;
  readonly log: Logger;
  /** The predecessors' accounts this hook settled to their end before it started (key succession). */
  readonly succeeded: readonly SuccessionResult[];
  /** Records one served call. Synchronous; throws InvalidCallError (allocating nothing) on bad input. */
  record(call: Call): Recorded;
  /** Group-commits now and seals everything queued (instead of waiting for size/age). */
  flush(): Promise<void>;
  /** Resolves when every sealed batch is confirmed (or rejects after `timeoutMs`). */
  settled(timeoutMs?: number): Promise<void>;
  receipt(callSeq: number): ReceiptView | undefined;
  /**
   * The enclave's EIP-712 signature over a served receipt, only once it is durable (rejects with
   * NotDurableError before: a crash would void the callSeq and the signature would prove
   * "equivocation"). Computed once, off the event loop when the key is hex, and cached.
   */
  receiptSignature(r: StoredReceipt): Promise<string>;
  batch(batchSeq: number): BatchView | undefined;
  /**
   * A batch of a predecessor's account this hook settled (key succession), as `/batches/:n` gives
   * its own: what validators fetch at the daURI `…/predecessors/:account/batches/:n`.
   */
  predecessorBatch(account: string, batchSeq: number): (BatchView & { gateway: Address }) | undefined;
  /**
   * `/batches/:n` as bytes, in two parts: `head` (header, signature, status, tx; small, made per
   * request) and `receipts` (the JSON array of every receipt; immutable once sealed, built once on
   * the worker from the store and cached, at most {@link BATCH_CACHE_BYTES} in all). The body is
   * `head + receipts + "}"`.
   */
  batchBody(batchSeq: number): Promise<{ head: string; receipts: Uint8Array } | undefined>;
  health(): Record<string, unknown>;
  /**
   * What a DA worker (gateway/serve/daServer.ts) needs to answer beside the hook, on its own event
   * loop: see {@link DaChannel}. Each call opens a new signing port; `niceness` is its signer
   * thread's (default 10).
   */
  daChannel(o?: { niceness?: number }): DaChannel;
  /** Batches the hook refuses to sign: their fee is above a cap (see `maxFeePerCall`/`maxFeePerBatch`). */
  feeCapHeld(): HeldBatch[];
  /** Raises (or lowers) the fee caps at run time; held batches are re-checked at the submitter's next step. */
  setFeeCaps(caps: FeeCaps): void;
  /** Flushes (commit + seal + sign), stops the submitter and closes the store. */
  close(opts?: { drain?: boolean; timeoutMs?: number }): Promise<void>;
}

/** The hook's side of a DA worker: everything it reads, nothing it could write. */
export interface DaChannel {
  gateway: Address;
  /** The hook's store file (the worker opens it read-only) and its predecessors' (key succession). */
  store: string;
  predecessors: { account: string; store: string }[];
  /**
   * Float64 [0]: the next callSeq the hook hands out. A callSeq below it that the store does not
   * hold is recorded but not durable yet (409), one at or above it unknown (404).
   */
  issued: SharedArrayBuffer;
  /**
   * Signs a durable receipt by callSeq: `{ id, callSeq }` → `{ id, signature }` or `{ id, error }`
   * (`error: "not_durable"` when the store does not hold it served). The signer reads the record
   * from the store itself, so nothing that is not durable is ever signed. On a seal worker of its
   * own (a nicer thread) when the hook holds the enclave key, else on the hook's thread.
   */
  signer: MessagePort;
}

/** Bytes of batch receipt JSON kept in memory for `/batches/:n` (least recently used go first). */
export const BATCH_CACHE_BYTES = 64 * 1024 * 1024;

async function withRetry<T>(
  what: string,
  log: Logger,
  fn: () => Promise<T>,
  retry: { baseMs: number; maxMs: number },
): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ReconcileError) throw e;
      const ms = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(i, 16));
      log.warn({ err: (e as Error).message?.split("\n")[0], retryInMs: ms }, `${what} failed`);
      await new Promise((r) => setTimeout(r, ms));
    }
  }
}

/**
 * Opens the store, reconciles with the chain (`nextSeqs`: the chain wins; retried until the RPC
 * answers), voids callSeqs a crash left reserved but not durable, and starts sealing + submitting.
 */
export async function createSettlementHook(
  input: HookConfigInput,
  /** `names`: what the operator called each field when not its file key (sdk/config.ts `loadConfig`). */
  opts: { names?: ConfigNames } = {},
): Promise<SettlementHook> {
  const cfg: HookConfig = parseHookConfig(input, { names: opts.names });
  const log = cfg.logger ?? pino({ name: "proofpath-gateway", level: process.env.LOG_LEVEL ?? "info" });
  const gateway = cfg.enclave.address;
  const client: PublicClient = makePublicClient(cfg.rpcUrls);
  const chainId = cfg.chainId ?? (await withRetry("eth_chainId", log, () => client.getChainId(), cfg.retry));
  const domain = settlementDomain(chainId, cfg.settlement);

  if (cfg.hostStore) {
    // A retired key never signs again, and its log on the host may already end in its successor's
    // frames: refuse to start, naming the successor (before anything is opened or settled).
    const signers = await withRetry(
      "reading the key's succession",
      log,
      () => accountSigners(client, cfg.settlement, gateway, cfg.startBlock),
      cfg.retry,
    );
    if (signers.length > 1) throw new EnclaveRetiredError(gateway, signers.at(-1)!);
  }

  // Key succession: the retired keys' accounts are finished first (one relayer, one nonce sequence).
  const succeeded: SuccessionResult[] = [];
  for (const p of cfg.predecessors) {
    succeeded.push(
      await settlePredecessor(p, {
        cfg,
        client,
        chainId,
        domain,
        log,
        retry: (what, fn) => withRetry(what, log, fn, cfg.retry),
      }),
    );
  }

  // Their stores stay open read-only for validators (the settled batches' daURI points here).
  const predecessorStores = new Map(
    cfg.predecessors.map((p) => [p.account.toLowerCase(), new Store(p.store, cfg.synchronous)] as const),
  );

  // With a host store the SQLite file is a cache rebuilt from the host's verified log.
  let host: RestoredLog | undefined;
  let store: Store;
  if (cfg.hostStore) {
    const restored = await restoreFromHost(
      { endpoint: cfg.hostStore.endpoint, log: gateway.toLowerCase() },
      gateway,
      [gateway],
      cfg.store,
    );
    host = restored;
    store = restored.store;
    log.info({ endpoint: cfg.hostStore.endpoint, frames: restored.frames }, "store restored from the host store");
  } else store = new Store(cfg.store, cfg.synchronous);
  const owner = store.getMeta("gateway");
  const successor = store.getMeta(SUCCESSOR_META);
  if (successor) {
    store.close();
    throw new GatewayConfigError({
      field: "store",
      name: configFieldName(["store"], opts.names),
      reason: `${cfg.store} was taken over by ${successor}: gateway ${gateway} is retired`,
    });
  }
  const where = store.getMeta("settlement");
  if (owner && owner !== gateway) {
    store.close();
    throw new GatewayConfigError({
      field: "store",
      name: configFieldName(["store"], opts.names),
      reason: `${cfg.store} belongs to gateway ${owner}, not ${gateway}`,
    });
  }
  if (where && where !== `${chainId}:${cfg.settlement}`) {
    store.close();
    throw new GatewayConfigError({
      field: "store",
      name: configFieldName(["store"], opts.names),
      reason: `${cfg.store} settles on ${where}, not ${chainId}:${cfg.settlement}`,
    });
  }
  store.setMeta("gateway", gateway);
  store.setMeta("settlement", `${chainId}:${cfg.settlement}`);

  let state;
  try {
    const chain = await withRetry(
      "reading nextSeqs",
      log,
      () => readNextSeqs(client, cfg.settlement, gateway),
      cfg.retry,
    );
    const recovery = async () => recover(store, gateway, chain, cfg.reserveSize, log, cfg.store);
    if (host) {
      const r = await recoverOnHost(host, gateway, cfg.enclavePrivateKey!, recovery);
      host.state = r.state;
      state = r.out;
    } else state = await recovery();
  } catch (e) {
    host?.client.close();
    store.close();
    throw e;
  }
  log.info({ gateway, settlement: cfg.settlement, chainId, ...state }, "settlement hook started");

  const trees = new TreeBuilder({
    store: cfg.store,
    ...(cfg.enclavePrivateKey ? { signingKey: cfg.enclavePrivateKey } : {}),
  });
  let recorder!: Recorder;
  const committer = new Committer(
    {
      file: cfg.store,
      synchronous: cfg.synchronous,
      gateway: hexToBytes(gateway),
      host:
        host && cfg.hostStore
          ? {
              endpoint: cfg.hostStore.endpoint,
              log: gateway.toLowerCase(),
              privateKey: cfg.enclavePrivateKey!,
              state: host.state,
              compactEvery: cfg.hostStore.compactEvery,
              compactKeepMs: cfg.hostStore.compactKeepMs,
            }
          : undefined,
    },
    (e) => {
      log.error({ err: e.message }, "durable writes failed: the hook stops recording");
      recorder.fail(e);
    },
  );
  // A re-signed header, a stored transaction: on the host before the hook acts on them.
  if (host) store.sink = (w) => committer.update(w);
  let sealer!: Sealer;
  // Relayer gas, OPG deposit and key expiry, read every rateRefreshMs for metrics and /health.
  let chainState: { relayerGasWei: bigint; depositWei: bigint; activeUntil: number; at: number } | undefined;
  let registryAddr: Address | undefined;
  const readChainState = async () => {
    try {
      registryAddr ??= (await client.readContract({
        address: cfg.settlement,
        abi: proofSettlementAbi,
        functionName: "REGISTRY",
      })) as Address;
      const [relayerGasWei, depositWei, enclave] = await Promise.all([
        client.getBalance({ address: cfg.relayer.address }),
        client.readContract({
          address: cfg.settlement,
          abi: proofSettlementAbi,
          functionName: "balanceOf",
          args: [gateway],
        }) as Promise<bigint>,
        client.readContract({
          address: registryAddr,
          abi: gatewayRegistryAbi,
          functionName: "enclave",
          args: [gateway],
        }) as Promise<{ activeUntil: bigint | number }>,
      ]);
      chainState = { relayerGasWei, depositWei, activeUntil: Number(enclave.activeUntil), at: Date.now() };
    } catch (e) {
      log.warn({ err: (e as Error).message?.split("\n")[0] }, "reading balances and key expiry failed");
    }
  };
  const metrics = createMetrics({
    recorded: () => recorder.recordedTotal,
    queueDepth: () => recorder.pendingCount + sealer.queued,
    unconfirmed: () => store.unconfirmed().length,
    feeCapHeld: () => sealer.held.size,
    chainState: () => chainState,
  });
  let submitter: Submitter | undefined;
  sealer = new Sealer(
    {
      store,
      committer,
      trees,
      rates: new FeeRates(client, cfg.settlement, cfg.rateRefreshMs),
      metrics,
      log,
      gateway,
      // An account given as an object (a custom signer) signs here; a hex key signs on the seal worker.
      signHeader: trees.canSign
        ? (h) => trees.signHeader(domain, h)
        : async (h) => (await signHeader(cfg.enclave, domain, h)).signature,
      daBaseUrl: cfg.daBaseUrl.replace(/\/+$/, ""),
      maxCalls: cfg.batch.maxCalls,
      maxAgeMs: cfg.batch.maxAgeMs,
      onSealed: () => submitter?.kick(),
      feeCaps: { maxFeePerCall: cfg.maxFeePerCall, maxFeePerBatch: cfg.maxFeePerBatch },
    },
    { nextBatchSeq: state.nextBatchSeq },
  );
  // Durable but unsealed receipts from before the restart go first.
  for (const seg of store.segmentsFrom(state.sealedUntil)) {
    const skip = Math.max(0, state.sealedUntil - seg.firstSeq);
    const count = seg.count - skip;
    sealer.push({
      firstSeq: seg.firstSeq + skip,
      count,
      data: seg.data.subarray(skip * REC),
      committedAt: Date.now() - cfg.batch.maxAgeMs,
    });
  }
  recorder = new Recorder(
    store,
    gateway,
    state,
    {
      reserveSize: cfg.reserveSize,
      commitIntervalMs: cfg.commitIntervalMs,
      reserve: cfg.hostStore ? (until) => committer.reserveSync(until, cfg.hostStore!.timeoutMs) : undefined,
    },
    (seg) => {
      metrics.durable.inc(seg.count);
      sealer.push(seg);
    },
    committer,
  );
  sealer.start();
  void sealer.kick();
  void readChainState();
  const chainStateTimer = setInterval(() => void readChainState(), cfg.rateRefreshMs);
  chainStateTimer.unref();
  if (cfg.submit) {
    submitter = new Submitter({
      store,
      client,
      relayer: cfg.relayer,
      gateway,
      settlement: cfg.settlement,
      chainId,
      sealer,
      metrics,
      log,
      confirmations: cfg.confirmations,
      maxInFlight: cfg.maxInFlight,
      bumpAfterMs: cfg.bumpAfterMs,
      maxFeePerGas: cfg.maxFeePerGas,
      maxPriorityFeePerGas: cfg.maxPriorityFeePerGas,
      pollMs: cfg.pollMs,
      retry: cfg.retry,
      ...(cfg.gasLimit === undefined ? {} : { gasLimit: cfg.gasLimit }),
    });
    submitter.start();
  }

  const treeCache = new TreeCache(store);
  const issued = new SharedArrayBuffer(8);
  const issuedNext = new Float64Array(issued);
  issuedNext[0] = recorder.next;
  const sigCache = new Map<string, string>();
  const batchJsonCache = new Map<number, Uint8Array>();
  let batchJsonBytes = 0;
  const batchJsonBuilding = new Map<number, Promise<Uint8Array>>();
  const batchJson = (b: Pick<BatchRow, "batchSeq" | "firstSeq" | "count">): Promise<Uint8Array> => {
    const hit = batchJsonCache.get(b.batchSeq);
    if (hit) {
      batchJsonCache.delete(b.batchSeq); // most recently used last
      batchJsonCache.set(b.batchSeq, hit);
      return Promise.resolve(hit);
    }
    let building = batchJsonBuilding.get(b.batchSeq);
    if (!building) {
      building = trees.batchJson(b.firstSeq, b.count).then(
        (json) => {
          batchJsonBuilding.delete(b.batchSeq);
          if (json.length <= BATCH_CACHE_BYTES / 4) {
            while (batchJsonBytes + json.length > BATCH_CACHE_BYTES && batchJsonCache.size) {
              const [k, v] = batchJsonCache.entries().next().value!;
              batchJsonCache.delete(k);
              batchJsonBytes -= v.length;
            }
            batchJsonCache.set(b.batchSeq, json);
            batchJsonBytes += json.length;
          }
          return json;
        },
        (e: unknown) => {
          batchJsonBuilding.delete(b.batchSeq);
          throw e;
        },
      );
      batchJsonBuilding.set(b.batchSeq, building);
    }
    return building;
  };
  let closed = false;

  const hook: SettlementHook = {
    gateway,
    settlement: cfg.settlement,
    chainId,
    domain,
    metrics,
    log,
    succeeded,
    record(call) {
      const r = recorder.record(call);
      issuedNext[0] = recorder.next;
      return r;
    },

    async flush() {
      await recorder.flush();
      await sealer.drain();
    },

    async settled(timeoutMs = 120_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        // `busy`: a batch leaves the sealer's queue before its row is stored; until then the store
        // shows nothing unconfirmed, yet nothing is settled.
        if (recorder.pendingCount === 0 && sealer.queued === 0 && !sealer.busy && store.unconfirmed().length === 0)
          return;
        if (Date.now() > end)
          throw new Error(
            `not settled after ${timeoutMs} ms: ${JSON.stringify(store.statusCounts())}, queued ${sealer.queued}`,
          );
        submitter?.kick();
        await new Promise((r) => setTimeout(r, 100));
      }
    },

    receipt(callSeq) {
      if (!Number.isSafeInteger(callSeq) || callSeq < 0) return undefined;
      const pending = recorder.pendingRecord(callSeq);
      if (pending)
        return { receipt: { gateway, ...decodeRecord(pending, 0, callSeq) }, status: "pending", durable: false };
      return durableReceiptView(store, gateway, callSeq, treeCache);
    },

    async receiptSignature(r) {
      const seq = Number(r.callSeq);
      const key = `${seq}:${r.leaf}`;
      let sig = sigCache.get(key);
      if (sig) return sig;
      // Sign only what the store holds durably, exactly as given: the durable record is what
      // recovery keeps (only callSeqs past the durable end are voided after a crash).
      const rec = store.record(seq);
      const stored = rec && decodeRecord(rec, 0, seq);
      if (stored?.kind !== "served" || stored.leaf !== r.leaf || r.kind !== "served") throw new NotDurableError(seq);
      const fields = receiptStruct(gateway, stored);
      sig = trees.canSign
        ? await trees.signReceipt(domain, fields)
        : (await signReceipt(cfg.enclave as LocalAccount, domain, fields)).signature;
      if (sigCache.size >= 10_000) sigCache.delete(sigCache.keys().next().value!);
      sigCache.set(key, sig);
      return sig;
    },

    batch(batchSeq) {
      return batchView(store, batchSeq);
    },

    predecessorBatch(account, batchSeq) {
      const s = predecessorStores.get(account.toLowerCase());
      const view = s && batchView(s, batchSeq);
      return view && { gateway: view.header.gateway, ...view };
    },

    async batchBody(batchSeq) {
      if (!Number.isSafeInteger(batchSeq) || batchSeq < 0) return undefined;
      const b = store.batchMeta(batchSeq);
      if (!b) return undefined;
      const receipts = await batchJson(b);
      return { head: batchHead(gateway, b), receipts };
    },

    daChannel(o: { niceness?: number } = {}) {
      const { port1, port2 } = new MessageChannel();
      if (trees.canSign) trees.serveReceiptSigner(port2, { gateway, domain }, o.niceness);
      else {
        port2.on("message", async ({ id, callSeq }: { id: number; callSeq: number }) => {
          try {
            const v = hook.receipt(callSeq);
            if (!v?.durable || v.receipt.kind !== "served") throw new NotDurableError(callSeq);
            port2.postMessage({ id, signature: await hook.receiptSignature(v.receipt) });
          } catch (e) {
            port2.postMessage({ id, error: e instanceof NotDurableError ? "not_durable" : (e as Error).message });
          }
        });
        port2.unref();
      }
      return {
        gateway,
        store: cfg.store,
        predecessors: cfg.predecessors.map((p) => ({ account: p.account.toLowerCase(), store: p.store })),
        issued,
        signer: port1,
      };
    },

    feeCapHeld: () => [...sealer.held.values()],
    setFeeCaps(caps) {
      sealer.setFeeCaps(caps);
      submitter?.kick();
    },

    health() {
      const chain = submitter?.chain;
      // Warnings leave `ok` true: the gateway serves, but settlement needs the operator soon (or now).
      const warnings: string[] = [];
      const held = [...sealer.held.values()];
      if (held.length)
        warnings.push(
          `fee cap: ${held.length} batch(es) not signed, e.g. batch ${held[0]!.batchSeq}: ${held[0]!.reason}`,
        );
      const perBatch = sealer.lastFee;
      if (
        chainState &&
        perBatch !== undefined &&
        perBatch > 0n &&
        chainState.depositWei / perBatch < BigInt(cfg.warnBatchesLeft)
      ) {
        warnings.push(
          `OPG deposit ${chainState.depositWei} covers ${chainState.depositWei / perBatch} batches at the last fee ${perBatch} (< ${cfg.warnBatchesLeft}): deposit more`,
        );
      }
      if (chainState) {
        const left = Math.floor(chainState.activeUntil - Date.now() / 1000);
        if (left < cfg.warnActiveUntilSec)
          warnings.push(`enclave key activeUntil in ${left} s (< ${cfg.warnActiveUntilSec} s): re-attest`);
      }
      return {
        ok: !closed && submitter?.lastError === undefined,
        warnings,
        gateway,
        settlement: cfg.settlement,
        chainId,
        nextCallSeq: recorder.next,
        queued: recorder.pendingCount + sealer.queued,
        batches: store.statusCounts(),
        chain: chain
          ? {
              nextCallSeq: chain.nextCallSeq,
              nextBatchSeq: chain.nextBatchSeq,
              head: String(chain.head),
              ageMs: Date.now() - chain.at,
            }
          : null,
        lastError: submitter?.lastError ?? null,
        feeCap: {
          maxFeePerCall: sealer.feeCaps.maxFeePerCall?.toString() ?? null,
          maxFeePerBatch: sealer.feeCaps.maxFeePerBatch?.toString() ?? null,
          held: held.map((h) => ({
            batchSeq: h.batchSeq,
            fee: String(h.fee),
            servedCalls: h.servedCalls,
            reason: h.reason,
            since: h.since,
          })),
        },
        balances: chainState
          ? {
              relayerGasWei: String(chainState.relayerGasWei),
              depositWei: String(chainState.depositWei),
              activeUntil: chainState.activeUntil,
              ageMs: Date.now() - chainState.at,
            }
          : null,
      };
    },

    async close(opts = {}) {
      if (closed) return;
      await recorder.close().catch(() => {});
      await sealer.drain().catch(() => {});
      if (opts.drain) await hook.settled(opts.timeoutMs);
      closed = true;
      clearInterval(chainStateTimer);
      sealer.stop();
      await submitter?.stop();
      await trees.close();
      await committer.close();
      store.close();
      for (const s of predecessorStores.values()) s.close();
    },
  };
  return hook;
}
