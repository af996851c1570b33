/**
 * Key succession, hook side: a new enclave whose key the registry approved as the successor of a
 * dead key (`GatewayRegistry.succeed`) finishes the dead key's account before it serves under its own.
 * It opens the predecessor's durable store (on the host: the dead enclave kept nothing; with
 * `hostStore`, the dead key's verified log on the host store), reconciles it
 * with the chain like a restart would (callSeqs reserved but never durable become void leaves: the
 * dead enclave may have handed them out, never signed them), re-signs every batch the chain does not
 * have with its own key (the predecessor's signatures no longer count) and settles them all, in the
 * predecessor's callSeq sequence, until the chain holds every callSeq the predecessor ever reserved.
 * The account then takes no more calls: nothing in it is ever handed out again.
 */
import { hexToBytes, isAddressEqual, type Address, type PublicClient } from "viem";
import type { Logger } from "pino";
import type { SettlementDomain } from "../sdk/eip712.js";
import { signHeader } from "../sdk/eip712.js";
import { gatewayRegistryAbi, proofSettlementAbi } from "../sdk/abis.js";
import { readNextSeqs, FeeRates } from "./chain.js";
import type { HookConfig } from "./config.js";
import { Committer } from "./commit/committer.js";
import { GatewayConfigError } from "./errors.js";
import { createMetrics } from "./metrics.js";
import { recover } from "./reconcile.js";
import { REC } from "./record/receiptLayout.js";
import { Sealer, parseHeader } from "./seal/sealer.js";
import { TreeBuilder } from "./seal/treeBuilder.js";
import { Store } from "./store.js";
import { Submitter } from "./submit/submitter.js";
import { recoverOnHost, restoreFromHost, type RestoredLog } from "./hoststore/restore.js";

/** A retired key whose account this hook settles to the end, and its durable store. */
export interface Predecessor {
  account: Address;
  store: string;
}

export interface SuccessionResult {
  account: Address;
  /** The account's end: every callSeq below it is settled (served or void). */
  settledEnd: number;
  /** callSeqs this run settled as void leaves (reserved by the predecessor, never durable). */
  voided: number;
  /** Batches this run signed (re-signed or newly sealed) as the successor. */
  signed: number;
}

/** Where a successor serves a predecessor's batches (`GET …/predecessors/:account/batches/:n`). */
export function predecessorDaBase(daBaseUrl: string, account: Address): string {
  return `${daBaseUrl.replace(/\/+$/, "")}/predecessors/${account}`;
}

/** Meta key a successor writes into the predecessor's store; the predecessor's hook refuses the store then. */
export const SUCCESSOR_META = "successor";

/**
 * Settles `p.account` to its end, signing as the hook's enclave key. Resolves once the chain's
 * `nextCallSeq` for the account reaches the end of everything the predecessor reserved and every
 * batch is confirmed; retries RPC failures like the hook does.
 */
export async function settlePredecessor(
  p: Predecessor,
  o: {
    cfg: HookConfig;
    client: PublicClient;
    chainId: number;
    domain: SettlementDomain;
    log: Logger;
    retry: <T>(what: string, fn: () => Promise<T>) => Promise<T>;
  },
): Promise<SuccessionResult> {
  const { cfg, client, domain } = o;
  const me = cfg.enclave.address;
  const account = p.account;
  const log = o.log.child({ predecessor: account });
  if (isAddressEqual(account, me))
    throw new GatewayConfigError({ field: "predecessors", reason: `${account} is this hook's own key` });
  if (p.store === cfg.store)
    throw new GatewayConfigError({ field: "predecessors", reason: `${p.store} is this hook's own store` });

  // With a host store the dead key's log is on the host: verified (its last frame signed by the dead
  // key, by a successor the registry handed the account to — one that died midway through settling it
  // — or by this key) and replayed into a cache.
  let host: RestoredLog | undefined;
  let store: Store;
  if (cfg.hostStore) {
    const signers = await o.retry("reading the account's succession", () =>
      accountSigners(client, cfg.settlement, account, cfg.startBlock),
    );
    const r = await restoreFromHost(
      { endpoint: cfg.hostStore.endpoint, log: account.toLowerCase() },
      account,
      signers.some((s) => isAddressEqual(s, me)) ? signers : [...signers, me],
      p.store,
    );
    host = r;
    store = r.store;
  } else store = new Store(p.store, cfg.synchronous);
  const owner = store.getMeta("gateway");
  const where = store.getMeta("settlement");
  if ((owner && !isAddressEqual(owner as Address, account)) || (where && where !== `${o.chainId}:${cfg.settlement}`)) {
    host?.client.close();
    store.close();
    throw new GatewayConfigError({
      field: "predecessors",
      reason: `${p.store} belongs to ${owner ?? "?"} on ${where ?? "?"}, not ${account} on ${o.chainId}:${cfg.settlement}`,
    });
  }
  store.setMeta("gateway", account);
  store.setMeta("settlement", `${o.chainId}:${cfg.settlement}`);
  // Fence: a predecessor enclave that was not dead after all can no longer open this store.
  store.setMeta(SUCCESSOR_META, me);

  let state: ReturnType<typeof recover>;
  try {
    const chain = await o.retry("reading the predecessor's nextSeqs", () =>
      readNextSeqs(client, cfg.settlement, account),
    );
    const recovery = async () => {
      // reserveSize 0: nothing new is ever reserved in a retired account.
      const s = recover(store, account, chain, 0, log, p.store);
      if (s.nextSeq > chain.nextCallSeq && !(await o.retry("reading signsFor", () => signsFor(o, account, me)))) {
        throw new GatewayConfigError({
          field: "predecessors",
          reason: `${me} may not sign for ${account}: it is not the account's active successor (GatewayRegistry.succeed, then a validator approval), or the account is slashed, its bond is being withdrawn or its measurement revoked`,
        });
      }
      return s;
    };
    if (host) {
      // The void leaves go to the dead key's log, signed by this key, before anything is settled.
      const r = await recoverOnHost(host, account, cfg.enclavePrivateKey!, recovery);
      host.state = r.state;
      state = r.out;
    } else state = await recovery();
  } catch (e) {
    host?.client.close();
    store.close();
    throw e;
  }
  const end = state.nextSeq;
  log.info({ ...state, end }, "settling a predecessor's account as its successor");

  const trees = new TreeBuilder({
    store: p.store,
    ...(cfg.enclavePrivateKey ? { signingKey: cfg.enclavePrivateKey } : {}),
  });
  let failure: Error | undefined;
  const committer = new Committer(
    {
      file: p.store,
      synchronous: cfg.synchronous,
      gateway: hexToBytes(account),
      host:
        host && cfg.hostStore
          ? {
              endpoint: cfg.hostStore.endpoint,
              log: account.toLowerCase(),
              privateKey: cfg.enclavePrivateKey!,
              state: host.state,
              compactEvery: cfg.hostStore.compactEvery,
              compactKeepMs: cfg.hostStore.compactKeepMs,
            }
          : undefined,
    },
    (e) => (failure = e),
  );
  // The re-signed headers (this key's, new daURI) and their transactions go to the dead key's log.
  if (host) store.sink = (w) => committer.update(w);
  let sealer!: Sealer;
  const metrics = createMetrics({
    recorded: () => 0,
    queueDepth: () => sealer.queued,
    unconfirmed: () => store.unconfirmed().length,
    feeCapHeld: () => sealer.held.size,
    chainState: () => undefined,
  });
  let signed = 0;
  const daBase = predecessorDaBase(cfg.daBaseUrl, account);
  sealer = new Sealer(
    {
      store,
      committer,
      trees,
      rates: new FeeRates(client, cfg.settlement, cfg.rateRefreshMs),
      metrics,
      log,
      gateway: account,
      signHeader: async (h) => {
        signed++;
        return trees.canSign ? trees.signHeader(domain, h) : (await signHeader(cfg.enclave, domain, h)).signature;
      },
      daBaseUrl: daBase,
      maxCalls: cfg.batch.maxCalls,
      maxAgeMs: cfg.batch.maxAgeMs,
      onSealed: () => submitter.kick(),
      feeCaps: { maxFeePerCall: cfg.maxFeePerCall, maxFeePerBatch: cfg.maxFeePerBatch },
    },
    { nextBatchSeq: state.nextBatchSeq },
  );
  const submitter = new Submitter({
    store,
    client,
    relayer: cfg.relayer,
    gateway: account,
    settlement: cfg.settlement,
    chainId: o.chainId,
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
  try {
    // Batches sealed before, that the chain does not have: signed by a retired key, so signed again.
    const chain = await o.retry("reading the predecessor's nextSeqs", () =>
      readNextSeqs(client, cfg.settlement, account),
    );
    for (const b of store.unconfirmed()) {
      if (b.batchSeq < chain.nextBatchSeq || b.status !== "signed") continue;
      // Not on-chain yet, so its daURI may still move to where this hook serves the account.
      await sealer.sign(b.batchSeq, { ...parseHeader(b.header), daURI: `${daBase}/batches/${b.batchSeq}` });
    }
    // Every durable receipt (and void leaf) not yet sealed, in callSeq order.
    for (const seg of store.segmentsFrom(state.sealedUntil)) {
      const skip = Math.max(0, state.sealedUntil - seg.firstSeq);
      sealer.push({
        firstSeq: seg.firstSeq + skip,
        count: seg.count - skip,
        data: seg.data.subarray(skip * REC),
        committedAt: 0,
      });
    }
    await sealer.drain();
    if (failure) throw failure;
    submitter.start();
    for (;;) {
      if (failure) throw failure;
      const now = await o.retry("reading the predecessor's nextSeqs", () =>
        readNextSeqs(client, cfg.settlement, account),
      );
      if (now.nextCallSeq >= end && store.unconfirmed().length === 0) break;
      if (sealer.queued) await sealer.drain();
      submitter.kick();
      await new Promise((r) => setTimeout(r, cfg.pollMs));
    }
  } finally {
    await submitter.stop();
    await trees.close();
    await committer.close();
    store.close();
  }
  log.info({ end, voided: state.voided, signed }, "predecessor's account settled to its end");
  return { account, settledEnd: end, voided: state.voided, signed };
}

/**
 * The keys that ever signed for `account`: the account's own key, then every successor the registry
 * handed it to (`EnclaveSucceeded(account, …)`, oldest first). A host log of the account may end in a
 * frame signed by any of them; any other key's frame is the host's forgery.
 */
export async function accountSigners(
  client: PublicClient,
  settlement: Address,
  account: Address,
  /** The deployment's first block (no registry event is older). */
  fromBlock: number,
): Promise<Address[]> {
  const registry = (await client.readContract({
    address: settlement,
    abi: proofSettlementAbi,
    functionName: "REGISTRY",
  })) as Address;
  const events = await client.getContractEvents({
    address: registry,
    abi: gatewayRegistryAbi,
    eventName: "EnclaveSucceeded",
    args: { predecessor: account },
    fromBlock: BigInt(fromBlock),
    toBlock: "latest",
    strict: true,
  });
  const out: Address[] = [account];
  for (const e of events) if (!out.some((a) => isAddressEqual(a, e.args.successor))) out.push(e.args.successor);
  return out;
}

/** Whether the registry counts `signer`'s signature as `account`'s now (`GatewayRegistry.signsFor`). */
async function signsFor(
  o: { client: PublicClient; cfg: HookConfig },
  account: Address,
  signer: Address,
): Promise<boolean> {
  const registry = (await o.client.readContract({
    address: o.cfg.settlement,
    abi: proofSettlementAbi,
    functionName: "REGISTRY",
  })) as Address;
  return (await o.client.readContract({
    address: registry,
    abi: gatewayRegistryAbi,
    functionName: "signsFor",
    args: [account, signer],
  })) as boolean;
}
