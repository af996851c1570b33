/**
 * Shared setup for the contract tests: a full proofpath v2 deployment (OPGToken, ValidatorSet with five
 * staked local-key validators and quorum 3, GatewayRegistry, ProofSettlement, wired by address
 * prediction), an enclave key
 * registered and approved by a validator quorum, a funded fee balance, and builders for batches of
 * random receipts made with the SDK exactly as a gateway makes them.
 */
import { randomBytes } from "node:crypto";
import type { network } from "hardhat";
import type { ContractReturnType } from "@nomicfoundation/hardhat-viem/types";
import {
  encodeAbiParameters,
  getAddress,
  getContractAddress,
  keccak256,
  maxUint256,
  parseEther,
  toHex,
  type Address,
  type Hex,
  type LocalAccount,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  buildTree,
  computeFee,
  hashHeader,
  hashReceipt,
  receiptLeaf,
  settlementDomain,
  signHeader,
  signReceipt,
  voidLeaf,
  type MerkleTree,
  type PerModelRates,
  type SettlementDomain,
} from "../../sdk/index.js";
import {
  enclaveApprovalDigest,
  enclaveRegistrationDigest,
  quorumSignatures,
  signCompact,
  verdictDigest,
  type CompactSig,
} from "../../sdk/approvals.js";

export type Connection = Awaited<ReturnType<typeof network.create>>;
export type Viem = Connection["viem"];
export type Token = ContractReturnType<"OPGToken">;
export type ValidatorSet = ContractReturnType<"ValidatorSet">;
export type Registry = ContractReturnType<"GatewayRegistry">;
export type Settlement = ContractReturnType<"ProofSettlement">;

// ------------------------------------------------------------------ on-chain shapes (viem ABI types)

export interface ModelUsage {
  modelId: Hex;
  calls: number;
  inputTokens: bigint;
  outputTokens: bigint;
}

export interface Header {
  gateway: Address;
  batchSeq: bigint;
  firstCallSeq: bigint;
  count: number;
  root: Hex;
  usage: ModelUsage[];
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

export interface FeeRate {
  perCall: bigint;
  perKiloInputToken: bigint;
  perKiloOutputToken: bigint;
}

/** BatchStatus enum of Types.sol. */
export const Status = { None: 0, Submitted: 1, Attested: 2, Finalized: 3, Rejected: 4 } as const;
export const VERDICT_ATTEST = 1;
export const VERDICT_REJECT = 2;
export const BURN_ADDRESS: Address = "0x000000000000000000000000000000000000dEaD";
/** secp256k1 group order: a signature (r, s) and (r, n - s) are both valid without the low-s rule. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

// ------------------------------------------------------------------ parameters

export const OPG = (n: number | bigint): bigint => parseEther(String(n));

/**
 * Launch parameters of the test deployment: short windows, a non-zero refund so refunds are visible
 * (v2's deploy default is 0, see deploy.test.ts), and v2's staking and penalty parameters.
 */
export const PARAMS = {
  initialSupply: OPG(1_000_000_000),
  rate: { perCall: 10n ** 12n, perKiloInputToken: 10n ** 13n, perKiloOutputToken: 3n * 10n ** 13n } satisfies FeeRate,
  maxBatchSize: 256,
  challengeWindow: 600,
  withdrawDelay: 3600,
  validatorBps: 7000,
  treasuryBps: 2000,
  burnBps: 1000,
  rejectedRefundBps: 5000,
  attesterSlashBps: 1000,
  minBond: OPG(1000),
  heartbeatInterval: 86_400,
  bondWithdrawDelay: 7 * 86_400,
  challengerRewardBps: 1000,
  rejectedSlashBps: 1000,
  quorum: 3,
  minStake: OPG(10_000),
  validatorStake: OPG(10_000),
  exitDelay: 3600,
  proverRewardBps: 1000,
  deposit: OPG(1000),
} as const;

/** An approval deadline far in the future (2096), for tests that are not about deadlines. */
export const DEADLINE = 4_000_000_000n;
/** Default salt of challenge and slash commitments. */
export const SALT: Hex = keccak256(toHex("proofpath test salt"));

export const MEASUREMENT_A: Hex = keccak256(toHex("pcr0|pcr1|pcr2 of enclave image A"));
export const MEASUREMENT_B: Hex = keccak256(toHex("pcr0|pcr1|pcr2 of enclave image B"));
export const ATTESTATION_HASH: Hex = keccak256(toHex("attestation document"));
export const KEY_CONFIG_HASH: Hex = keccak256(toHex("ohttp key config"));
/** A few model ids; receipts draw from them, so usage usually has several sorted entries. */
export const MODELS: Hex[] = ["llama-3.1-8b", "qwen-2.5-7b", "mistral-7b"].map((m) => keccak256(toHex(m)));

/** A deterministic local account, distinct per label. */
export function localAccount(label: string): LocalAccount {
  return privateKeyToAccount(keccak256(toHex(`proofpath test key: ${label}`)));
}

/** The five validators, sorted by address ascending (quorum order). */
export const VALIDATORS: LocalAccount[] = [0, 1, 2, 3, 4]
  .map((i) => localAccount(`validator ${i}`))
  .sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));

export const ENCLAVE_A = localAccount("enclave A");
export const ENCLAVE_B = localAccount("enclave B");
export const TREASURY: Address = getAddress(localAccount("treasury").address);

// ------------------------------------------------------------------ deployment

export interface Deployed {
  token: Token;
  validatorSet: ValidatorSet;
  registry: Registry;
  settlement: Settlement;
}

export interface Ctx extends Deployed {
  viem: Viem;
  chainId: number;
  domain: SettlementDomain;
  owner: Address;
  operator: Address;
  relayer: Address;
  stranger: Address;
  challenger: Address;
}

export interface DeployOptions {
  /** Settle in this token instead of a fresh OPGToken (the owner must hold enough to stake). */
  token?: Address;
  rejectedRefundBps?: number;
  /** The owner stakes `PARAMS.validatorStake` for every admitted validator (default true). */
  stake?: boolean;
  /** Validators admitted at launch (default: VALIDATORS). */
  validators?: readonly Address[];
  quorum?: number;
}

/** The registry's Params struct of the test deployment. */
export const registryParams = (
  o: Partial<{
    minBond: bigint;
    heartbeatInterval: bigint;
    bondWithdrawDelay: bigint;
    challengerRewardBps: number;
    rejectedSlashBps: number;
  }> = {},
) => ({
  minBond: o.minBond ?? PARAMS.minBond,
  heartbeatInterval: o.heartbeatInterval ?? BigInt(PARAMS.heartbeatInterval),
  bondWithdrawDelay: o.bondWithdrawDelay ?? BigInt(PARAMS.bondWithdrawDelay),
  challengerRewardBps: o.challengerRewardBps ?? PARAMS.challengerRewardBps,
  rejectedSlashBps: o.rejectedSlashBps ?? PARAMS.rejectedSlashBps,
});

/** The settlement's InitParams of the test deployment. */
export const settlementInit = (owner: Address, o: { rejectedRefundBps?: number } = {}) => ({
  owner,
  treasury: TREASURY,
  rate: PARAMS.rate,
  maxBatchSize: PARAMS.maxBatchSize,
  challengeWindow: PARAMS.challengeWindow,
  withdrawDelay: PARAMS.withdrawDelay,
  validatorBps: PARAMS.validatorBps,
  treasuryBps: PARAMS.treasuryBps,
  burnBps: PARAMS.burnBps,
  rejectedRefundBps: o.rejectedRefundBps ?? PARAMS.rejectedRefundBps,
  attesterSlashBps: PARAMS.attesterSlashBps,
});

/** The address the deployer's next-but-`skip` contract creation will have (nonce prediction, as tools/deploy.ts). */
export async function predictAddress(viem: Viem, from: Address, skip: number): Promise<Address> {
  const nonce = await (await viem.getPublicClient()).getTransactionCount({ address: from, blockTag: "pending" });
  return getContractAddress({ from, nonce: BigInt(nonce + skip) });
}

/**
 * Deploys the four contracts the v2 way (no set-once wiring): ValidatorSet and GatewayRegistry are
 * deployed with the settlement's address predicted from the deployer's nonce, and ProofSettlement's
 * constructor checks both point at it. Then the owner stakes for every admitted validator.
 */
export async function deployContracts(viem: Viem, opts: DeployOptions = {}): Promise<Deployed> {
  const [ownerWallet] = await viem.getWalletClients();
  const owner = ownerWallet!.account.address;
  const token = opts.token
    ? await viem.getContractAt("OPGToken", opts.token) // only the ERC20 part of the ABI is used
    : await viem.deployContract("OPGToken", [owner, PARAMS.initialSupply]);
  const admitted = opts.validators ?? VALIDATORS.map((v) => v.address);
  // ValidatorSet, GatewayRegistry and ProofSettlement take the next three nonces.
  const predicted = await predictAddress(viem, owner, 2);
  const validatorSet = await viem.deployContract("ValidatorSet", [
    token.address,
    predicted,
    owner,
    [...admitted],
    BigInt(opts.quorum ?? PARAMS.quorum),
    PARAMS.minStake,
    BigInt(PARAMS.exitDelay),
    PARAMS.proverRewardBps,
  ]);
  const registry = await viem.deployContract("GatewayRegistry", [
    token.address,
    validatorSet.address,
    predicted,
    owner,
    registryParams(),
  ]);
  const settlement = await viem.deployContract("ProofSettlement", [
    token.address,
    registry.address,
    validatorSet.address,
    settlementInit(owner, { rejectedRefundBps: opts.rejectedRefundBps }),
  ]);
  if (getAddress(settlement.address) !== getAddress(predicted))
    throw new Error("ProofSettlement not at the predicted address");
  if (opts.stake !== false) {
    // NoReturnToken's ABI: approve returns nothing (works for OPGToken and every mock).
    await (await viem.getContractAt("NoReturnToken", token.address)).write.approve([validatorSet.address, maxUint256]);
    for (const v of admitted) await validatorSet.write.stake([v, PARAMS.validatorStake]);
  }
  return { token, validatorSet, registry, settlement };
}

export type MockTokenName = "ReentrantToken" | "FeeOnTransferToken" | "NoReturnToken";

export interface FixtureOptions {
  /** Settle in this test token instead of OPGToken (minted to the operator). */
  mockToken?: MockTokenName;
  /** Register, approve and fund ENCLAVE_A (default true). */
  enclave?: boolean;
}

/**
 * The standard fixture body: deployment, measurements A and B allowed, the operator funded and
 * approving both contracts, ENCLAVE_A registered on A and approved by a quorum, its fee balance funded.
 */
export async function baseFixture(viem: Viem, opts: FixtureOptions = {}): Promise<Ctx> {
  const [, operatorWallet] = await viem.getWalletClients();
  const operator = getAddress(operatorWallet!.account.address);
  let tokenAddress: Address | undefined;
  if (opts.mockToken) {
    const mock = await viem.deployContract(opts.mockToken);
    tokenAddress = mock.address;
    const minter = await viem.getContractAt("NoReturnToken", mock.address);
    await minter.write.mint([operator, OPG(1_000_000)]);
    await minter.write.mint([(await viem.getWalletClients())[0]!.account.address, OPG(1_000_000)]); // the owner stakes for the validators
  }
  // A fee-on-transfer token cannot be staked (ValidatorTransferAmountMismatch): that fixture has no stakes.
  const deployed = await deployContracts(viem, { token: tokenAddress, stake: opts.mockToken !== "FeeOnTransferToken" });
  const wallets = await viem.getWalletClients();
  const [owner, , relayer, stranger, challenger] = wallets.map((w) => getAddress(w.account.address)) as [
    Address,
    Address,
    Address,
    Address,
    Address,
  ];
  const chainId = await (await viem.getPublicClient()).getChainId();
  const ctx: Ctx = {
    ...deployed,
    viem,
    chainId,
    domain: settlementDomain(chainId, deployed.settlement.address),
    owner,
    operator,
    relayer,
    stranger,
    challenger,
  };
  const { token, registry, settlement } = deployed;
  await registry.write.allowMeasurement([MEASUREMENT_A]);
  await registry.write.allowMeasurement([MEASUREMENT_B]);
  // NoReturnToken's ABI: approve returns nothing (OPGToken's ABI would expect a bool, which viem ignores on writes anyway).
  const approver = await viem.getContractAt("NoReturnToken", token.address);
  if (!opts.mockToken) await token.write.transfer([operator, OPG(1_000_000)]);
  await approver.write.approve([registry.address, maxUint256], { account: operator });
  await approver.write.approve([settlement.address, maxUint256], { account: operator });
  if (opts.enclave === false) return ctx;
  await registerEnclave(ctx, ENCLAVE_A, MEASUREMENT_A);
  await approveEnclave(ctx, ENCLAVE_A);
  await settlement.write.deposit([ENCLAVE_A.address, PARAMS.deposit], { account: operator });
  return ctx;
}

// ------------------------------------------------------------------ registry flows

/** The key's signature proving the operator holds it (EIP-712 EnclaveRegistration). */
export function registrationSig(
  ctx: Ctx,
  key: LocalAccount,
  measurement: Hex,
  operator: Address = ctx.operator,
  attestationHash: Hex = ATTESTATION_HASH,
  keyConfigHash: Hex = KEY_CONFIG_HASH,
): Promise<CompactSig> {
  return signCompact(
    key,
    enclaveRegistrationDigest(ctx.chainId, ctx.registry.address, {
      operator,
      measurement,
      attestationHash,
      keyConfigHash,
    }),
  );
}

/** Operator registers `key` with the minimum bond. */
export async function registerEnclave(
  ctx: Ctx,
  key: LocalAccount,
  measurement: Hex,
  bond: bigint = PARAMS.minBond,
): Promise<Hex> {
  const sig = await registrationSig(ctx, key, measurement);
  return ctx.registry.write.registerEnclave([key.address, measurement, ATTESTATION_HASH, KEY_CONFIG_HASH, bond, sig], {
    account: ctx.operator,
  });
}

/** Signatures of `signers` (sorted) over the key's current EnclaveApproval digest, valid until `deadline`. */
export async function approvalSigs(
  ctx: Ctx,
  key: Address,
  signers: readonly LocalAccount[] = VALIDATORS.slice(0, PARAMS.quorum),
  deadline: bigint = DEADLINE,
): Promise<CompactSig[]> {
  const e = await ctx.registry.read.enclave([key]);
  const digest = enclaveApprovalDigest(ctx.chainId, ctx.registry.address, {
    key,
    measurement: e.measurement,
    attestationHash: e.attestationHash,
    keyConfigHash: e.keyConfigHash,
    nonce: e.approvalNonce,
    deadline,
  });
  return quorumSignatures(signers, digest);
}

/** A validator quorum approves `key` (relayed by a stranger: anyone may submit the quorum). */
export async function approveEnclave(ctx: Ctx, key: LocalAccount): Promise<Hex> {
  return ctx.registry.write.approveEnclave([key.address, DEADLINE, await approvalSigs(ctx, key.address)], {
    account: ctx.stranger,
  });
}

// ------------------------------------------------------------------ receipts and batches

const rand32 = (): Hex => toHex(randomBytes(32));
const randInt = (max: number): number => randomBytes(4).readUInt32BE(0) % max;

/** `count` random receipts of `gateway` from `firstCallSeq` on, served one ms apart. */
export function randomReceipts(
  gateway: Address,
  firstCallSeq: bigint,
  count: number,
  servedAt0 = 1_760_000_000_000n,
): Receipt[] {
  return Array.from({ length: count }, (_, i) => ({
    gateway,
    callSeq: firstCallSeq + BigInt(i),
    modelId: MODELS[randInt(MODELS.length)]!,
    requestHash: rand32(),
    responseHash: rand32(),
    inputTokens: 1 + randInt(8000),
    outputTokens: 1 + randInt(4000),
    servedAt: servedAt0 + BigInt(i),
  }));
}

/** Per-model usage of served receipts, strictly ascending by modelId (as the contract requires). */
export function usageOf(receipts: readonly Receipt[]): ModelUsage[] {
  const byModel = new Map<Hex, ModelUsage>();
  for (const r of receipts) {
    const u = byModel.get(r.modelId) ?? { modelId: r.modelId, calls: 0, inputTokens: 0n, outputTokens: 0n };
    u.calls += 1;
    u.inputTokens += BigInt(r.inputTokens);
    u.outputTokens += BigInt(r.outputTokens);
    byModel.set(r.modelId, u);
  }
  return [...byModel.values()].sort((a, b) => (BigInt(a.modelId) < BigInt(b.modelId) ? -1 : 1));
}

export interface Batch {
  header: Header;
  /** One per callSeq of the batch; entries at void indices were never served (their leaf is void). */
  receipts: Receipt[];
  voids: ReadonlySet<number>;
  tree: MerkleTree;
  headerHash: Hex;
  sig: CompactSig;
  key: LocalAccount;
}

export interface BatchOptions {
  key?: LocalAccount;
  count?: number;
  /** Defaults to the gateway's next values on-chain. */
  batchSeq?: bigint;
  firstCallSeq?: bigint;
  /** Leaf indices settled as void leaves. */
  voids?: number[];
  /** Rates the fee is computed with (default: the on-chain default rate, no per-model rates). */
  rate?: FeeRate;
  perModelRates?: PerModelRates;
  /** Tampers with the header after the honest fields are computed and before it is signed. */
  mutate?: (h: Header) => void;
  /** Signing domain (default: this chain and settlement). */
  domain?: SettlementDomain;
  /** Signer (default: `key`). */
  signer?: LocalAccount;
  receipts?: Receipt[];
}

/** Builds and signs a batch like a gateway: receipts → leaves → tree → usage → fee → header → signature. */
export async function buildBatch(ctx: Ctx, opts: BatchOptions = {}): Promise<Batch> {
  const key = opts.key ?? ENCLAVE_A;
  const gateway = getAddress(key.address);
  const [nextCallSeq, nextBatchSeq] = await ctx.settlement.read.nextSeqs([gateway]);
  const firstCallSeq = opts.firstCallSeq ?? nextCallSeq;
  const count = opts.count ?? opts.receipts?.length ?? 8;
  const receipts = opts.receipts ?? randomReceipts(gateway, firstCallSeq, count);
  const voids = new Set(opts.voids ?? []);
  const leaves = receipts.map((r, i) => (voids.has(i) ? voidLeaf(gateway, r.callSeq) : receiptLeaf(r)));
  const tree = buildTree(leaves);
  const served = receipts.filter((_, i) => !voids.has(i));
  const usage = usageOf(served);
  const rate = opts.rate ?? (await ctx.settlement.read.feeRate());
  const header: Header = {
    gateway,
    batchSeq: opts.batchSeq ?? nextBatchSeq,
    firstCallSeq,
    count,
    root: tree.root,
    usage,
    fee: computeFee(usage, rate, opts.perModelRates),
    firstServedAt: served.length ? served[0]!.servedAt : 0n,
    lastServedAt: served.length ? served[served.length - 1]!.servedAt : 0n,
    daURI: `https://gateway.example/batches/${opts.batchSeq ?? nextBatchSeq}`,
  };
  opts.mutate?.(header);
  const signed = await signHeader(opts.signer ?? key, opts.domain ?? ctx.domain, header);
  return { header, receipts, voids, tree, headerHash: hashHeader(header), sig: signed.compact, key };
}

/** Sends `submitBatch` from the relayer (anyone may relay). */
export function sendBatch(ctx: Ctx, b: Batch, sig: CompactSig = b.sig): Promise<Hex> {
  return ctx.settlement.write.submitBatch([b.header, sig], { account: ctx.relayer });
}

/** Builds, signs and submits a batch; returns it once mined. */
export async function submitBatch(ctx: Ctx, opts: BatchOptions = {}): Promise<Batch> {
  const b = await buildBatch(ctx, opts);
  await sendBatch(ctx, b);
  return b;
}

/** The enclave's signature over a receipt (what the user holds). */
export async function receiptSig(ctx: Ctx, key: LocalAccount, r: Receipt): Promise<CompactSig> {
  return (await signReceipt(key, ctx.domain, r)).compact;
}

// ------------------------------------------------------------------ verdicts

/** Sorted compact signatures of `signers` over the Verdict digest of `hashes`. */
export function verdictSigs(
  ctx: Ctx,
  verdict: 1 | 2,
  hashes: readonly Hex[],
  signers: readonly LocalAccount[] = VALIDATORS.slice(0, PARAMS.quorum),
  opts: { chainId?: number; settlement?: Address } = {},
): Promise<CompactSig[]> {
  return quorumSignatures(
    signers,
    verdictDigest(opts.chainId ?? ctx.chainId, opts.settlement ?? ctx.settlement.address, verdict, hashes),
  );
}

export const refOf = (b: Batch) => ({
  gateway: b.header.gateway,
  batchSeq: b.header.batchSeq,
  headerHash: b.headerHash,
});

/** A quorum attests the batches (one signature set for all). */
export async function attest(ctx: Ctx, batches: readonly Batch[], signers?: readonly LocalAccount[]): Promise<Hex> {
  const sigs = await verdictSigs(
    ctx,
    VERDICT_ATTEST,
    batches.map((b) => b.headerHash),
    signers,
  );
  return ctx.settlement.write.attest([batches.map(refOf), sigs], { account: ctx.relayer });
}

/** A quorum rejects the batches. */
export async function reject(ctx: Ctx, batches: readonly Batch[], signers?: readonly LocalAccount[]): Promise<Hex> {
  const sigs = await verdictSigs(
    ctx,
    VERDICT_REJECT,
    batches.map((b) => b.headerHash),
    signers,
  );
  return ctx.settlement.write.reject([batches.map((b) => b.header), sigs], { account: ctx.relayer });
}

/** End of the batch's challenge window (unix seconds); it starts at attestation, so 0 while not attested. */
export async function windowEnd(ctx: Ctx, b: Batch): Promise<bigint> {
  const [, , end] = await ctx.settlement.read.batch([b.header.gateway, b.header.batchSeq]);
  return end;
}

/** Status of the batch on-chain. */
export async function statusOf(ctx: Ctx, b: Batch): Promise<number> {
  const [status] = await ctx.settlement.read.batch([b.header.gateway, b.header.batchSeq]);
  return status;
}

/** The signers of the attestation that attested `b` (from its `Attestation` event), [] while not attested. */
export async function attestersOf(ctx: Ctx, b: Batch): Promise<Address[]> {
  const [, , , attestationId] = await ctx.settlement.read.batch([b.header.gateway, b.header.batchSeq]);
  if (attestationId === 0) return [];
  const logs = await ctx.settlement.getEvents.Attestation({ attestationId }, { fromBlock: 0n });
  if (logs.length !== 1) throw new Error(`attestation ${attestationId}: ${logs.length} events`);
  return [...logs[0]!.args.signers!];
}

/** Finalizes batches of one attestation, passing its signers (read from its event unless given). */
export async function finalize(
  ctx: Ctx,
  batches: readonly Batch[],
  opts: { account?: Address; attesters?: readonly Address[] } = {},
): Promise<Hex> {
  const attesters = opts.attesters ?? (await attestersOf(ctx, batches[0]!));
  return ctx.settlement.write.finalize([batches.map((b) => b.header), [...attesters]], {
    account: opts.account ?? ctx.relayer,
  });
}

/** An equivocation proof as `challengeEquivocation` takes it. */
export interface Equivocation {
  signedReceipt: Receipt;
  receiptSig: CompactSig;
  settledReceipt: Receipt;
  settledIsVoid: boolean;
  proof: Hex[];
}

/** keccak256(abi.encode(challenger, headerHash, hashReceipt(signedReceipt), salt)): what `commitChallenge` takes. */
export function challengeCommitment(
  challenger: Address,
  headerHash: Hex,
  signedReceipt: Receipt,
  salt: Hex = SALT,
): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "address" }, { type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }],
      [challenger, headerHash, hashReceipt(signedReceipt), salt],
    ),
  );
}

/** keccak256(abi.encode(prover, validator, headerHash, salt)): what `ValidatorSet.commitSlash` takes. */
export function slashCommitment(prover: Address, validator: Address, headerHash: Hex, salt: Hex = SALT): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "address" }, { type: "address" }, { type: "bytes32" }, { type: "bytes32" }],
      [prover, validator, headerHash, salt],
    ),
  );
}

export interface ChallengeOptions {
  account?: Address;
  salt?: Hex;
  /** Default: the batch's attesters (read on-chain), [] while Submitted. */
  attesters?: readonly Address[];
}

/** First step of a challenge: `account` commits to revealing `e` against `b` (its own block). */
export function commitChallenge(ctx: Ctx, b: Batch, e: Equivocation, opts: ChallengeOptions = {}): Promise<Hex> {
  const account = opts.account ?? ctx.challenger;
  return ctx.settlement.write.commitChallenge(
    [challengeCommitment(account, b.headerHash, e.signedReceipt, opts.salt)],
    { account },
  );
}

/** Second step: reveals the proof (needs a commitment from an earlier block by the same account). */
export async function revealChallenge(ctx: Ctx, b: Batch, e: Equivocation, opts: ChallengeOptions = {}): Promise<Hex> {
  const attesters = opts.attesters ?? (await attestersOf(ctx, b));
  return ctx.settlement.write.challengeEquivocation([b.header, e, opts.salt ?? SALT, [...attesters]], {
    account: opts.account ?? ctx.challenger,
  });
}

/** Commit, then reveal in the next block (hardhat automines one block per transaction). */
export async function challenge(ctx: Ctx, b: Batch, e: Equivocation, opts: ChallengeOptions = {}): Promise<Hex> {
  await commitChallenge(ctx, b, e, opts);
  return revealChallenge(ctx, b, e, opts);
}

/** Signature (r, n - s) with the parity flipped: the malleable twin of a valid signature, as EIP-2098 can carry it. */
export function highS(sig: CompactSig): CompactSig {
  const vs = BigInt(sig.vs);
  const parity = vs >> 255n;
  const s = vs & ((1n << 255n) - 1n);
  const sHigh = SECP256K1_N - s; // > n/2, so its top bit usually collides with the parity bit
  return { r: sig.r, vs: toHex(((parity ^ 1n) << 255n) | sHigh, { size: 32 }) };
}

/** OPG balances of the addresses that fees, bonds and stakes can reach, for conservation checks. */
export async function tokenBalances(ctx: Ctx, extra: readonly Address[] = []): Promise<Map<Address, bigint>> {
  const who = [
    ctx.settlement.address,
    ctx.registry.address,
    ctx.validatorSet.address,
    TREASURY,
    BURN_ADDRESS,
    ctx.operator,
    ctx.challenger,
    ...VALIDATORS.map((v) => getAddress(v.address)),
    ...extra,
  ];
  const out = new Map<Address, bigint>();
  for (const a of who) out.set(a, await ctx.token.read.balanceOf([a]));
  return out;
}
