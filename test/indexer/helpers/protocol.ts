/**
 * Drives a real proofpath deployment on a test chain with the SDK: deploy, register and approve an
 * enclave key, fund it, and submit / attest / reject / finalize batches built from real receipts.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  keccak256,
  toHex,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { gatewayRegistryAbi, opgTokenAbi, proofSettlementAbi } from "../../../sdk/abis.js";
import { deployProofpath, localDeployDefaults, writeDeployment, type Deployment } from "../../../sdk/deploy.js";
import { signHeader, settlementDomain } from "../../../sdk/eip712.js";
import { computeFee } from "../../../sdk/fees.js";
import { hashHeader, receiptLeaf } from "../../../sdk/hashing.js";
import { buildTree } from "../../../sdk/merkle.js";
import { enclaveApprovalDigest, enclaveRegistrationDigest, quorumSignatures, signCompact, verdictDigest } from "../../../sdk/quorum.js";

const MNEMONIC = "test test test test test test test test test test test junk";
export const devAccount = (i: number) => mnemonicToAccount(MNEMONIC, { addressIndex: i });

export const MODELS = {
  llama: keccak256(toHex("llama-3.1-8b")),
  mistral: keccak256(toHex("mistral-7b")),
  qwen: keccak256(toHex("qwen2.5-14b")),
} as const;

type Wallet = WalletClient<Transport, Chain, Account>;

export interface Header {
  gateway: Address;
  batchSeq: bigint;
  firstCallSeq: bigint;
  count: number;
  root: Hex;
  usage: { modelId: Hex; calls: number; inputTokens: bigint; outputTokens: bigint }[];
  fee: bigint;
  firstServedAt: bigint;
  lastServedAt: bigint;
  daURI: string;
}

/** One served call as the test makes it up. */
export interface Call {
  modelId: Hex;
  inputTokens: number;
  outputTokens: number;
}

export interface Protocol {
  chainId: number;
  deployment: Deployment;
  deploymentFile: string;
  pub: PublicClient;
  owner: Wallet;
  validators: LocalAccount[];
  gateway: LocalAccount;
  /** Submits a batch of these calls for `gw` (default: the first gateway); returns its header and tx. */
  submit(calls: Call[], opts?: { gw?: LocalAccount; servedAt?: bigint }): Promise<{ header: Header; tx: Hex; block: bigint }>;
  /**
   * Submits many batches fast: automine off, every transaction signed locally and sent with a fixed
   * gas limit and nonce, then blocks mined until all are in. Returns the headers, in order.
   */
  submitMany(batches: Call[][], opts?: { gw?: LocalAccount; perBlock?: number }): Promise<Header[]>;
  attest(headers: Header[]): Promise<Hex>;
  reject(headers: Header[]): Promise<Hex>;
  finalize(headers: Header[]): Promise<Hex>;
  /** Registers, approves and funds a fresh enclave key. */
  addGateway(): Promise<LocalAccount>;
  /** Moves chain time past the challenge window and mines a block. */
  passChallengeWindow(): Promise<void>;
}

export async function setupProtocol(rpcUrl: string, rpc: <T>(m: string, p?: unknown[]) => Promise<T>): Promise<Protocol> {
  const chain = defineChain({ id: 31337, name: "anvil", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
  const transport = http(rpcUrl);
  const pub = createPublicClient({ chain, transport }) as PublicClient;
  const wallet = (i: number) => createWalletClient({ chain, transport, account: devAccount(i) }) as Wallet;
  const owner = wallet(0);
  const operator = wallet(4);
  const validators = [devAccount(1), devAccount(2), devAccount(3)] as unknown as LocalAccount[];
  const quorum = 2;

  const deployment = await deployProofpath(owner, pub, { ...localDeployDefaults, validators: validators.map((v) => v.address), quorum });
  const deploymentFile = path.join(mkdtempSync(path.join(tmpdir(), "proofpath-deploy-")), "local.json");
  writeDeployment(deploymentFile, deployment);
  const c = deployment.contracts;
  const chainId = deployment.chainId;
  const domain = settlementDomain(chainId, c.ProofSettlement);
  const rate = localDeployDefaults.rate;

  async function send(w: Wallet, address: Address, abi: readonly unknown[], functionName: string, args: unknown[]): Promise<{ tx: Hex; block: bigint }> {
    const tx = await w.writeContract({ address, abi, functionName, args } as never);
    const r = await pub.waitForTransactionReceipt({ hash: tx, pollingInterval: 50 });
    if (r.status !== "success") throw new Error(`${functionName} reverted (${tx})`);
    return { tx, block: r.blockNumber };
  }

  const measurement = keccak256(toHex("pcr0|pcr1|pcr2"));
  await send(owner, c.GatewayRegistry, gatewayRegistryAbi, "allowMeasurement", [measurement]);
  await send(owner, c.OPGToken, opgTokenAbi, "transfer", [operator.account.address, 1_000_000n * 10n ** 18n]);

  async function addGateway(): Promise<LocalAccount> {
    const key = privateKeyToAccount(generatePrivateKey());
    const attestationHash = keccak256(toHex(`attestation:${key.address}`));
    const keyConfigHash = keccak256(toHex(`ohttp:${key.address}`));
    const bond = localDeployDefaults.minBond;
    await send(operator, c.OPGToken, opgTokenAbi, "approve", [c.GatewayRegistry, bond]);
    const keySig = await signCompact(key, enclaveRegistrationDigest(chainId, c.GatewayRegistry, { operator: operator.account.address, measurement, attestationHash, keyConfigHash }));
    await send(operator, c.GatewayRegistry, gatewayRegistryAbi, "registerEnclave", [key.address, measurement, attestationHash, keyConfigHash, bond, keySig]);
    const digest = enclaveApprovalDigest(chainId, c.GatewayRegistry, { key: key.address, measurement, attestationHash, keyConfigHash, nonce: 0n });
    await send(owner, c.GatewayRegistry, gatewayRegistryAbi, "approveEnclave", [key.address, await quorumSignatures(validators.slice(0, quorum), digest)]);
    const fund = 10_000n * 10n ** 18n;
    await send(operator, c.OPGToken, opgTokenAbi, "approve", [c.ProofSettlement, fund]);
    await send(operator, c.ProofSettlement, proofSettlementAbi, "deposit", [key.address, fund]);
    return key;
  }

  const gateway = await addGateway();
  const next = new Map<Address, { batchSeq: bigint; callSeq: bigint }>();

  async function build(calls: Call[], opts: { gw?: LocalAccount; servedAt?: bigint } = {}) {
    const gw = opts.gw ?? gateway;
    const seqs = next.get(gw.address) ?? { batchSeq: 0n, callSeq: 0n };
    const servedAt = opts.servedAt ?? BigInt(Date.now()) - 2_000n;
    const leaves = calls.map((call, i) =>
      receiptLeaf({
        gateway: gw.address,
        callSeq: seqs.callSeq + BigInt(i),
        modelId: call.modelId,
        requestHash: keccak256(toHex(`req:${seqs.callSeq + BigInt(i)}`)),
        responseHash: keccak256(toHex(`res:${seqs.callSeq + BigInt(i)}`)),
        inputTokens: call.inputTokens,
        outputTokens: call.outputTokens,
        servedAt: servedAt + BigInt(i),
      }),
    );
    const byModel = new Map<Hex, { modelId: Hex; calls: number; inputTokens: bigint; outputTokens: bigint }>();
    for (const call of calls) {
      const u = byModel.get(call.modelId) ?? { modelId: call.modelId, calls: 0, inputTokens: 0n, outputTokens: 0n };
      u.calls += 1;
      u.inputTokens += BigInt(call.inputTokens);
      u.outputTokens += BigInt(call.outputTokens);
      byModel.set(call.modelId, u);
    }
    const usage = [...byModel.values()].sort((a, b) => (BigInt(a.modelId) < BigInt(b.modelId) ? -1 : 1));
    const header: Header = {
      gateway: gw.address,
      batchSeq: seqs.batchSeq,
      firstCallSeq: seqs.callSeq,
      count: calls.length,
      root: buildTree(leaves).root,
      usage,
      fee: computeFee(usage, rate),
      firstServedAt: servedAt,
      lastServedAt: servedAt + BigInt(calls.length - 1),
      daURI: `http://gateway.test/batches/${seqs.batchSeq}`,
    };
    const sig = await signHeader(gw, domain, header);
    next.set(gw.address, { batchSeq: seqs.batchSeq + 1n, callSeq: seqs.callSeq + BigInt(calls.length) });
    return { header, sig: sig.compact };
  }

  async function submit(calls: Call[], opts: { gw?: LocalAccount; servedAt?: bigint } = {}) {
    const { header, sig } = await build(calls, opts);
    const { tx, block } = await send(owner, c.ProofSettlement, proofSettlementAbi, "submitBatch", [header, sig]);
    return { header, tx, block };
  }

  async function submitMany(batches: Call[][], opts: { gw?: LocalAccount; perBlock?: number } = {}): Promise<Header[]> {
    const relayer = wallet(5);
    let nonce = await pub.getTransactionCount({ address: relayer.account.address, blockTag: "pending" });
    await rpc("evm_setAutomine", [false]);
    const headers: Header[] = [];
    let lastTx: Hex | undefined;
    try {
      // Sends overlap (up to 64 in flight): explicit nonces keep their order on the chain.
      let inflight: Promise<Hex>[] = [];
      for (const calls of batches) {
        const { header, sig } = await build(calls, opts);
        inflight.push(
          relayer.writeContract({
            address: c.ProofSettlement,
            abi: proofSettlementAbi,
            functionName: "submitBatch",
            args: [header, sig],
            gas: 400_000n,
            maxFeePerGas: 50_000_000_000n,
            maxPriorityFeePerGas: 1_000_000_000n,
            nonce: nonce++,
          } as never),
        );
        headers.push(header);
        if (inflight.length >= 64 || (opts.perBlock && headers.length % opts.perBlock === 0)) {
          lastTx = (await Promise.all(inflight)).at(-1);
          inflight = [];
        }
        if (opts.perBlock && headers.length % opts.perBlock === 0) await rpc("evm_mine", []);
      }
      if (inflight.length) lastTx = (await Promise.all(inflight)).at(-1);
      // Mine until the last one is in (a block holds as many as its gas limit allows).
      for (;;) {
        await rpc("evm_mine", []);
        if (await rpc("eth_getTransactionReceipt", [lastTx])) break;
      }
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    const r = await pub.getTransactionReceipt({ hash: lastTx! });
    if (r.status !== "success") throw new Error(`bulk submitBatch reverted (${lastTx})`);
    return headers;
  }

  async function verdict(kind: 1 | 2, headers: Header[]) {
    const hashes = headers.map((h) => hashHeader(h));
    return quorumSignatures(validators.slice(0, quorum), verdictDigest(chainId, c.ProofSettlement, kind, hashes));
  }

  return {
    chainId,
    deployment,
    deploymentFile,
    pub,
    owner,
    validators,
    gateway,
    submit,
    submitMany,
    addGateway,
    async attest(headers) {
      const refs = headers.map((h) => ({ gateway: h.gateway, batchSeq: h.batchSeq, headerHash: hashHeader(h) }));
      return (await send(owner, c.ProofSettlement, proofSettlementAbi, "attest", [refs, await verdict(1, headers)])).tx;
    },
    async reject(headers) {
      return (await send(owner, c.ProofSettlement, proofSettlementAbi, "reject", [headers, await verdict(2, headers)])).tx;
    },
    async finalize(headers) {
      return (await send(owner, c.ProofSettlement, proofSettlementAbi, "finalize", [headers])).tx;
    },
    async passChallengeWindow() {
      await rpc("evm_increaseTime", [localDeployDefaults.challengeWindow + 1]);
      await rpc("evm_mine", []);
    },
  };
}
