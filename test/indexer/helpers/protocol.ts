/**
 * Drives a real proofpath (v2) deployment on a test chain with the SDK: deploy (the deployer stakes
 * `validatorStake` for each admitted validator), register and approve an enclave key (approvals carry
 * a deadline), fund it, and submit / attest / reject / finalize batches built from real receipts;
 * commit–reveal equivocation challenges and contradiction slashing of a validator.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
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
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { devAccount } from "../../../tools/devchain.js";
import { gatewayRegistryAbi, opgTokenAbi, proofSettlementAbi, validatorSetAbi } from "../../../sdk/abis.js";
import { deployProofpath, localDeployDefaults } from "../../../tools/deploy.js";
import { writeDeployment, type Deployment } from "../../../sdk/deployment.js";
import { signHeader, signReceipt, settlementDomain } from "../../../sdk/eip712.js";
import { challengeCommitment, orphanCommitment, slashCommitment } from "../../../sdk/challenge.js";
import { computeFee, type FeeRateFields } from "../../../sdk/fees.js";
import { hashHeader, hashReceipt, receiptLeaf } from "../../../sdk/hashing.js";
import { buildTree, type MerkleTree } from "../../../sdk/merkle.js";
import {
  APPROVAL_TTL_SEC,
  enclaveApprovalDigest,
  enclaveRegistrationDigest,
  quorumSignatures,
  signCompact,
  VERDICT_ATTEST,
  VERDICT_REJECT,
  verdictDigest,
} from "../../../sdk/approvals.js";

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

export interface Receipt {
  gateway: Address;
  callSeq: bigint;
  modelId: Hex;
  requestHash: Hex;
  responseHash: Hex;
  inputTokens: number;
  outputTokens: number;
  servedAt: bigint;
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
  submit(
    calls: Call[],
    opts?: { gw?: LocalAccount; servedAt?: bigint },
  ): Promise<{ header: Header; tx: Hex; block: bigint }>;
  /**
   * Submits many batches fast: automine off, every transaction signed locally and sent with a fixed
   * gas limit and nonce, then blocks mined until all are in. Returns the headers, in order.
   */
  submitMany(batches: Call[][], opts?: { gw?: LocalAccount; perBlock?: number }): Promise<Header[]>;
  /** A quorum (default: the first two validators) attests; remembers the signers for `finalize`. */
  attest(headers: Header[], signers?: LocalAccount[]): Promise<{ tx: Hex; attestationId: bigint; signers: Address[] }>;
  reject(headers: Header[], signers?: LocalAccount[]): Promise<Hex>;
  /** Finalizes batches of one attestation, passing its recorded signers. */
  finalize(headers: Header[]): Promise<Hex>;
  /**
   * Proves that the enclave equivocated on leaf `index` of `header` (it signed another receipt for that
   * callSeq), commit–reveal, from `challenger` (a dev account index): the batch is rejected, the key's
   * bond slashed and, if attested, its attesters' stakes.
   */
  challengeEquivocation(header: Header, index: number, challenger: number): Promise<Hex>;
  /** `validator` signed an attest verdict over `header` besides a reject: anyone proves it, commit–reveal. */
  slashContradiction(validator: LocalAccount, header: Header, prover: number): Promise<Hex>;
  /** The validator claims its fee rewards to itself; returns the amount claimed. */
  claimRewards(validator: LocalAccount): Promise<bigint>;
  /** The settlement's `rewardsOwed(v)`. */
  rewardsOwed(validator: Address): Promise<bigint>;
  /** ValidatorSet's record of `v`. */
  validatorRecord(v: Address): Promise<{ status: number; unlockAt: bigint; stake: bigint }>;
  /** Registers, approves and funds a fresh enclave key. */
  addGateway(): Promise<LocalAccount>;
  /** The operator hands `predecessor`'s account to `successor` (GatewayRegistry.succeed). */
  succeed(predecessor: Address, successor: Address): Promise<Hex>;
  /** The operator closes a retired key's account (GatewayRegistry.closeAccount). */
  closeAccount(account: Address): Promise<Hex>;
  /**
   * The account's key (built by this helper) signed a receipt at `callSeq` that its closed account
   * never settled; `challenger` (a dev account index) proves it, commit–reveal: the key's bond is slashed.
   */
  proveOrphan(account: Address, callSeq: bigint, challenger: number): Promise<Hex>;
  /** Moves chain time past the challenge window and mines a block. */
  passChallengeWindow(): Promise<void>;
  /** Governance (the deployer here; a timelock in production) lengthens the challenge window. */
  setChallengeWindow(seconds: number): Promise<Hex>;
  /**
   * In one block and in this order: a batch of `before`, governance's `setModelFeeRate(modelId,
   * rate, true)`, then a batch of `after` priced with that rate (the contract checks it). Returns
   * both headers and the block.
   */
  modelRateChangeInBlock(
    modelId: Hex,
    rate: FeeRateFields,
    before: Call[],
    after: Call[],
  ): Promise<{ before: Header; after: Header; block: bigint }>;
  /** The settlement's `batch(gateway, batchSeq)` view. */
  batchOnChain(h: Header): Promise<{ status: number; since: bigint; windowEnd: bigint; attestationId: bigint }>;
}

export async function setupProtocol(
  rpcUrl: string,
  rpc: <T>(m: string, p?: unknown[]) => Promise<T>,
  /** The chain's id (default 31337); the first gateway's key (default: a fresh one), e.g. one key on two chains. */
  opts: { chainId?: number; gatewayKey?: Hex } = {},
): Promise<Protocol> {
  const chain = defineChain({
    id: opts.chainId ?? 31337,
    name: "anvil",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const transport = http(rpcUrl);
  const pub = createPublicClient({ chain, transport }) as PublicClient;
  const wallet = (i: number) => createWalletClient({ chain, transport, account: devAccount(i) }) as Wallet;
  const owner = wallet(0);
  const operator = wallet(4);
  const validators = [devAccount(1), devAccount(2), devAccount(3)] as unknown as LocalAccount[];
  const quorum = 2;

  // localDeployDefaults.validatorStake: the deployer stakes minStake for each validator, so all are active.
  const deployment = await deployProofpath(owner, pub, {
    ...localDeployDefaults,
    validators: validators.map((v) => v.address),
    quorum,
  });
  const deploymentFile = path.join(mkdtempSync(path.join(tmpdir(), "proofpath-deploy-")), "local.json");
  writeDeployment(deploymentFile, deployment);
  const c = deployment.contracts;
  const chainId = deployment.chainId;
  const domain = settlementDomain(chainId, c.ProofSettlement);
  const rate = localDeployDefaults.rate;

  async function send(
    w: Wallet,
    address: Address,
    abi: readonly unknown[],
    functionName: string,
    args: unknown[],
  ): Promise<{ tx: Hex; block: bigint }> {
    const tx = await w.writeContract({ address, abi, functionName, args });
    const r = await pub.waitForTransactionReceipt({ hash: tx, pollingInterval: 50 });
    if (r.status !== "success") throw new Error(`${functionName} reverted (${tx})`);
    return { tx, block: r.blockNumber };
  }

  const measurement = keccak256(toHex("pcr0|pcr1|pcr2"));
  await send(owner, c.GatewayRegistry, gatewayRegistryAbi, "allowMeasurement", [measurement]);
  await send(owner, c.OPGToken, opgTokenAbi, "transfer", [operator.account.address, 1_000_000n * 10n ** 18n]);

  async function addGateway(key: LocalAccount = privateKeyToAccount(generatePrivateKey())): Promise<LocalAccount> {
    const attestationHash = keccak256(toHex(`attestation:${key.address}`));
    const keyConfigHash = keccak256(toHex(`ohttp:${key.address}`));
    const bond = localDeployDefaults.minBond;
    await send(operator, c.OPGToken, opgTokenAbi, "approve", [c.GatewayRegistry, bond]);
    const keySig = await signCompact(
      key,
      enclaveRegistrationDigest(chainId, c.GatewayRegistry, {
        operator: operator.account.address,
        measurement,
        attestationHash,
        keyConfigHash,
      }),
    );
    await send(operator, c.GatewayRegistry, gatewayRegistryAbi, "registerEnclave", [
      key.address,
      measurement,
      attestationHash,
      keyConfigHash,
      bond,
      keySig,
    ]);
    const { timestamp } = await pub.getBlock({ blockTag: "latest" });
    const deadline = timestamp + APPROVAL_TTL_SEC;
    const digest = enclaveApprovalDigest(chainId, c.GatewayRegistry, {
      key: key.address,
      measurement,
      attestationHash,
      keyConfigHash,
      nonce: 0n,
      deadline,
    });
    await send(owner, c.GatewayRegistry, gatewayRegistryAbi, "approveEnclave", [
      key.address,
      deadline,
      await quorumSignatures(validators.slice(0, quorum), digest),
    ]);
    const fund = 10_000n * 10n ** 18n;
    await send(operator, c.OPGToken, opgTokenAbi, "approve", [c.ProofSettlement, fund]);
    await send(operator, c.ProofSettlement, proofSettlementAbi, "deposit", [key.address, fund]);
    return key;
  }

  const gateway = await addGateway(opts.gatewayKey ? privateKeyToAccount(opts.gatewayKey) : undefined);
  const next = new Map<Address, { batchSeq: bigint; callSeq: bigint }>();
  const keys = new Map<Address, LocalAccount>([[gateway.address, gateway]]);
  const built = new Map<string, { receipts: Receipt[]; tree: MerkleTree }>();
  const attestersOf = new Map<string, Address[]>();
  const idOf = (h: Header) => `${h.gateway.toLowerCase()}:${h.batchSeq}`;

  async function build(
    calls: Call[],
    opts: { gw?: LocalAccount; servedAt?: bigint; modelRates?: Map<Hex, FeeRateFields> } = {},
  ) {
    const gw = opts.gw ?? gateway;
    const seqs = next.get(gw.address) ?? { batchSeq: 0n, callSeq: 0n };
    const servedAt = opts.servedAt ?? BigInt(Date.now()) - 2_000n;
    const receipts: Receipt[] = calls.map((call, i) => ({
      gateway: gw.address,
      callSeq: seqs.callSeq + BigInt(i),
      modelId: call.modelId,
      requestHash: keccak256(toHex(`req:${seqs.callSeq + BigInt(i)}`)),
      responseHash: keccak256(toHex(`res:${seqs.callSeq + BigInt(i)}`)),
      inputTokens: call.inputTokens,
      outputTokens: call.outputTokens,
      servedAt: servedAt + BigInt(i),
    }));
    const tree = buildTree(receipts.map(receiptLeaf));
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
      root: tree.root,
      usage,
      fee: computeFee(usage, rate, opts.modelRates),
      firstServedAt: servedAt,
      lastServedAt: servedAt + BigInt(calls.length - 1),
      daURI: `http://gateway.test/batches/${seqs.batchSeq}`,
    };
    const sig = await signHeader(gw, domain, header);
    next.set(gw.address, { batchSeq: seqs.batchSeq + 1n, callSeq: seqs.callSeq + BigInt(calls.length) });
    built.set(idOf(header), { receipts, tree });
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
          }),
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

  async function modelRateChangeInBlock(modelId: Hex, rate: FeeRateFields, before: Call[], after: Call[]) {
    const relayer = wallet(5);
    const nonce = await pub.getTransactionCount({ address: relayer.account.address, blockTag: "pending" });
    const first = await build(before);
    const second = await build(after, { modelRates: new Map([[modelId, rate]]) });
    // The block orders by tip: the first batch, the rate change, the second (also after the first by nonce).
    const gasOf = (tip: bigint) => ({ gas: 400_000n, maxFeePerGas: 50_000_000_000n, maxPriorityFeePerGas: tip });
    await rpc("evm_setAutomine", [false]);
    let txs: Hex[];
    try {
      txs = [
        await relayer.writeContract({
          address: c.ProofSettlement,
          abi: proofSettlementAbi,
          functionName: "submitBatch",
          args: [first.header, first.sig],
          nonce,
          ...gasOf(3_000_000_000n),
        }),
        await owner.writeContract({
          address: c.ProofSettlement,
          abi: proofSettlementAbi,
          functionName: "setModelFeeRate",
          args: [modelId, rate, true],
          ...gasOf(2_000_000_000n),
        }),
        await relayer.writeContract({
          address: c.ProofSettlement,
          abi: proofSettlementAbi,
          functionName: "submitBatch",
          args: [second.header, second.sig],
          nonce: nonce + 1,
          ...gasOf(1_000_000_000n),
        }),
      ];
      await rpc("evm_mine", []);
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    const receipts = await Promise.all(txs.map((hash) => pub.getTransactionReceipt({ hash })));
    for (const r of receipts) if (r.status !== "success") throw new Error(`transaction ${r.transactionHash} reverted`);
    const order = receipts.map((r) => r.transactionIndex);
    if (new Set(receipts.map((r) => r.blockNumber)).size !== 1 || !(order[0]! < order[1]! && order[1]! < order[2]!))
      throw new Error(`not one block in order: ${receipts.map((r) => `${r.blockNumber}:${r.transactionIndex}`)}`);
    return { before: first.header, after: second.header, block: receipts[0]!.blockNumber };
  }

  async function verdict(kind: 1 | 2, headers: Header[], signers: LocalAccount[]) {
    const hashes = headers.map((h) => hashHeader(h));
    return quorumSignatures(signers, verdictDigest(chainId, c.ProofSettlement, kind, hashes));
  }
  const ascending = (signers: LocalAccount[]) =>
    signers.map((s) => s.address).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  const walletOf = (account: LocalAccount) => createWalletClient({ chain, transport, account }) as Wallet;
  const rewardsOwed = async (v: Address) =>
    (await pub.readContract({
      address: c.ProofSettlement,
      abi: proofSettlementAbi,
      functionName: "rewardsOwed",
      args: [v],
    })) as bigint;

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
    modelRateChangeInBlock,
    async addGateway() {
      const key = await addGateway();
      keys.set(key.address, key);
      return key;
    },
    async attest(headers, signers = validators.slice(0, quorum)) {
      const refs = headers.map((h) => ({ gateway: h.gateway, batchSeq: h.batchSeq, headerHash: hashHeader(h) }));
      const { tx } = await send(owner, c.ProofSettlement, proofSettlementAbi, "attest", [
        refs,
        await verdict(VERDICT_ATTEST, headers, signers),
      ]);
      const [, , , attestationId] = (await pub.readContract({
        address: c.ProofSettlement,
        abi: proofSettlementAbi,
        functionName: "batch",
        args: [headers[0]!.gateway, headers[0]!.batchSeq],
      })) as readonly [number, bigint, bigint, number, Hex];
      const addrs = ascending(signers);
      for (const h of headers) attestersOf.set(idOf(h), addrs);
      return { tx, attestationId: BigInt(attestationId), signers: addrs };
    },
    async reject(headers, signers = validators.slice(0, quorum)) {
      return (
        await send(owner, c.ProofSettlement, proofSettlementAbi, "reject", [
          headers,
          await verdict(VERDICT_REJECT, headers, signers),
        ])
      ).tx;
    },
    async finalize(headers) {
      const attesters = attestersOf.get(idOf(headers[0]!));
      if (!attesters) throw new Error(`finalize: ${idOf(headers[0]!)} was not attested through this helper`);
      return (await send(owner, c.ProofSettlement, proofSettlementAbi, "finalize", [headers, attesters])).tx;
    },
    async challengeEquivocation(header, index, challengerIndex) {
      const b = built.get(idOf(header));
      const key = keys.get(header.gateway);
      if (!b || !key) throw new Error(`challengeEquivocation: ${idOf(header)} was not built by this helper`);
      const settled = b.receipts[index]!;
      // What the enclave showed the user for that callSeq: another response, signed all the same.
      const signed = { ...settled, responseHash: keccak256(toHex(`other:${settled.callSeq}`)) };
      const receiptSig = (await signReceipt(key, domain, signed)).compact;
      const challenger = wallet(challengerIndex);
      const salt = keccak256(toHex(`salt:${idOf(header)}:${index}`));
      const headerHash = hashHeader(header);
      const commitment = challengeCommitment(challenger.account.address, headerHash, hashReceipt(signed), salt);
      // Commit, then reveal in a later block (automine: each transaction is its own block).
      await send(challenger, c.ProofSettlement, proofSettlementAbi, "commitChallenge", [commitment]);
      const proof = {
        signedReceipt: signed,
        receiptSig,
        settledReceipt: settled,
        settledIsVoid: false,
        proof: b.tree.proof(index),
      };
      const attesters = attestersOf.get(idOf(header)) ?? [];
      return (
        await send(challenger, c.ProofSettlement, proofSettlementAbi, "challengeEquivocation", [
          header,
          proof,
          salt,
          attesters,
        ])
      ).tx;
    },
    async slashContradiction(validator, header, proverIndex) {
      const hashes = [hashHeader(header)];
      const attestSig = await signCompact(validator, verdictDigest(chainId, c.ProofSettlement, VERDICT_ATTEST, hashes));
      const rejectSig = await signCompact(validator, verdictDigest(chainId, c.ProofSettlement, VERDICT_REJECT, hashes));
      const prover = wallet(proverIndex);
      const salt = keccak256(toHex(`slash:${validator.address}`));
      const commitment = slashCommitment(prover.account.address, validator.address, hashes[0]!, salt);
      await send(prover, c.ValidatorSet, validatorSetAbi, "commitSlash", [commitment]);
      return (
        await send(prover, c.ValidatorSet, validatorSetAbi, "slashContradiction", [
          hashes,
          attestSig,
          hashes,
          rejectSig,
          0n,
          0n,
          salt,
        ])
      ).tx;
    },
    async claimRewards(validator) {
      const owed = await rewardsOwed(validator.address);
      await send(walletOf(validator), c.ProofSettlement, proofSettlementAbi, "claimRewards", [validator.address]);
      return owed;
    },
    rewardsOwed,
    async validatorRecord(v) {
      const r = (await pub.readContract({
        address: c.ValidatorSet,
        abi: validatorSetAbi,
        functionName: "validator",
        args: [v],
      })) as {
        status: number;
        unlockAt: bigint;
        stake: bigint;
      };
      return { status: r.status, unlockAt: r.unlockAt, stake: r.stake };
    },
    async passChallengeWindow() {
      const window = (await pub.readContract({
        address: c.ProofSettlement,
        abi: proofSettlementAbi,
        functionName: "challengeWindow",
      })) as number;
      await rpc("evm_increaseTime", [window + 1]);
      await rpc("evm_mine", []);
    },
    async setChallengeWindow(seconds) {
      return (
        await send(owner, c.ProofSettlement, proofSettlementAbi, "setWindows", [
          seconds,
          localDeployDefaults.withdrawDelay,
        ])
      ).tx;
    },
    async batchOnChain(h) {
      const [status, since, windowEnd, attestationId] = (await pub.readContract({
        address: c.ProofSettlement,
        abi: proofSettlementAbi,
        functionName: "batch",
        args: [h.gateway, h.batchSeq],
      })) as readonly [number, bigint, bigint, number, Hex];
      return { status, since: BigInt(since), windowEnd: BigInt(windowEnd), attestationId: BigInt(attestationId) };
    },
    async succeed(predecessor, successor) {
      return (await send(operator, c.GatewayRegistry, gatewayRegistryAbi, "succeed", [predecessor, successor])).tx;
    },

    async closeAccount(account) {
      return (await send(operator, c.GatewayRegistry, gatewayRegistryAbi, "closeAccount", [account])).tx;
    },

    async proveOrphan(account, callSeq, challengerIndex) {
      const key = keys.get(getAddress(account));
      if (!key) throw new Error(`proveOrphan: ${account} was not built by this helper`);
      const signed = {
        gateway: getAddress(account),
        callSeq,
        modelId: keccak256(toHex("orphan model")),
        requestHash: keccak256(toHex(`orphan req:${callSeq}`)),
        responseHash: keccak256(toHex(`orphan res:${callSeq}`)),
        inputTokens: 1,
        outputTokens: 1,
        servedAt: 1n,
      };
      const receiptSig = (await signReceipt(key, domain, signed)).compact;
      const challenger = wallet(challengerIndex);
      const salt = keccak256(toHex(`orphan salt:${account}:${callSeq}`));
      const commitment = orphanCommitment(challenger.account.address, hashReceipt(signed), salt);
      await send(challenger, c.ProofSettlement, proofSettlementAbi, "commitChallenge", [commitment]);
      return (
        await send(challenger, c.ProofSettlement, proofSettlementAbi, "challengeOrphanedReceipt", [
          signed,
          receiptSig,
          salt,
        ])
      ).tx;
    },
  };
}
