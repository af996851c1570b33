/**
 * Puts an enclave key on-chain so its batches settle: allowlist the measurement (governance),
 * register the key with a bond (operator, with the key's proof of possession), approve it with a
 * validator quorum, and fund its fee balance. Used by the demo and the tests, not by the hook.
 * `approveEnclaveByValidators` is the production approval: validators verify the key's attestation
 * document (their `POST /approvals`) and the operator submits their signatures.
 */
import {
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
import { gatewayRegistryAbi, opgTokenAbi, proofSettlementAbi } from "../sdk/abis.js";
import {
  APPROVAL_TTL_SEC,
  enclaveApprovalDigest,
  enclaveRegistrationDigest,
  quorumSignatures,
  signCompact,
  sortBySigner,
  type CompactSig,
} from "../sdk/approvals.js";
import { AccountNotSettledError, EnclaveApprovalError } from "./errors.js";
import type { Deployment } from "../sdk/deployment.js";

type Wallet = WalletClient<Transport, Chain | undefined, Account>;

export interface RegisterEnclaveParams {
  deployment: Pick<Deployment, "contracts">;
  /** Owner of the registry (allowlists the measurement) and holder of OPG (funds the operator). */
  owner: Wallet;
  /** The enclave's operator: posts the bond and the fee deposit. Defaults to `owner`. */
  operator?: Wallet;
  enclave: LocalAccount;
  /** Validator keys that approve the enclave at once (local demo and tests). Omit to register only
   *  and collect approvals from the validators' `POST /approvals` (validator/approval.ts). */
  validators?: readonly LocalAccount[];
  measurement?: Hex;
  attestationHash?: Hex;
  keyConfigHash?: Hex;
  bond?: bigint;
  deposit?: bigint;
}

async function write(
  pub: PublicClient,
  w: Wallet,
  address: Address,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
): Promise<void> {
  const hash = await w.writeContract({
    address,
    abi,
    functionName,
    args,
    account: w.account,
    chain: w.chain ?? null,
  });
  const r = await pub.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`${functionName} reverted (tx ${hash})`);
}

/** Registers, approves and funds `enclave`; idempotent for the measurement, not for the key. */
export async function registerEnclave(pub: PublicClient, p: RegisterEnclaveParams): Promise<void> {
  const { OPGToken: token, GatewayRegistry: registry, ProofSettlement: settlement } = p.deployment.contracts;
  const operator = p.operator ?? p.owner;
  const chainId = await pub.getChainId();
  const measurement = p.measurement ?? keccak256(toHex("proofpath-demo-enclave"));
  const attestationHash = p.attestationHash ?? keccak256(toHex(`attestation:${p.enclave.address}`));
  const keyConfigHash = p.keyConfigHash ?? (`0x${"00".repeat(32)}` as Hex);
  const bond = p.bond ?? 1000n * 10n ** 18n;
  const deposit = p.deposit ?? 1_000_000n * 10n ** 18n;

  const status = (await pub.readContract({
    address: registry,
    abi: gatewayRegistryAbi,
    functionName: "measurementStatus",
    args: [measurement],
  })) as number;
  if (status === 0) await write(pub, p.owner, registry, gatewayRegistryAbi, "allowMeasurement", [measurement]);
  if (operator.account.address !== p.owner.account.address) {
    await write(pub, p.owner, token, opgTokenAbi, "transfer", [operator.account.address, bond + deposit]);
  }
  await write(pub, operator, token, opgTokenAbi, "approve", [registry, bond]);
  const keySig = await signCompact(
    p.enclave,
    enclaveRegistrationDigest(chainId, registry, {
      operator: operator.account.address,
      measurement,
      attestationHash,
      keyConfigHash,
    }),
  );
  await write(pub, operator, registry, gatewayRegistryAbi, "registerEnclave", [
    p.enclave.address,
    measurement,
    attestationHash,
    keyConfigHash,
    bond,
    keySig,
  ]);
  if (p.validators) {
    const e = (await pub.readContract({
      address: registry,
      abi: gatewayRegistryAbi,
      functionName: "enclave",
      args: [p.enclave.address],
    })) as { approvalNonce: bigint };
    const deadline = await approvalDeadline(pub);
    const digest = enclaveApprovalDigest(chainId, registry, {
      key: p.enclave.address,
      measurement,
      attestationHash,
      keyConfigHash,
      nonce: e.approvalNonce,
      deadline,
    });
    await write(pub, operator, registry, gatewayRegistryAbi, "approveEnclave", [
      p.enclave.address,
      deadline,
      await quorumSignatures(p.validators, digest),
    ]);
  }
  await write(pub, operator, token, opgTokenAbi, "approve", [settlement, deposit]);
  await write(pub, operator, settlement, proofSettlementAbi, "deposit", [p.enclave.address, deposit]);
}

/**
 * Commits the registry to a fresh attestation document for `enclave` (operator only): its hash
 * replaces the registered one and the approval nonce moves on, so validators approve anew against it.
 */
export async function reattestEnclave(
  pub: PublicClient,
  p: { deployment: Pick<Deployment, "contracts">; operator: Wallet; enclave: Address; document: Uint8Array },
): Promise<void> {
  await write(pub, p.operator, p.deployment.contracts.GatewayRegistry, gatewayRegistryAbi, "reattest", [
    p.enclave,
    keccak256(p.document),
  ]);
}

export interface ApproveByValidatorsParams {
  deployment: Pick<Deployment, "contracts">;
  /** Sends `approveEnclave` (anyone may; usually the operator). */
  sender: Wallet;
  enclave: Address;
  /** The attestation document whose keccak256 the registration committed to. */
  document: Uint8Array;
  /** The enclave's 65-byte uncompressed public key: needed when the document binds the key by
   *  nitriding `user_data` (which holds only its SHA-256); validators check it is `enclave`'s. */
  publicKey?: Hex;
  /** Validators' HTTP base URLs. */
  validators: readonly string[];
  /** Signatures needed (the ValidatorSet's quorum). */
  quorum: number;
  timeoutMs?: number;
}

/** A deadline for an approval gathered now: `APPROVAL_TTL_SEC` after the chain's latest block. */
async function approvalDeadline(pub: PublicClient): Promise<bigint> {
  const block = await pub.getBlock({ blockTag: "latest" });
  return block.timestamp + APPROVAL_TTL_SEC;
}

/**
 * Asks each validator to approve `enclave` from its attestation document until one deadline (every
 * signature must cover the same one) and returns the first `quorum` approvals for the registry's
 * current nonce, sorted as `approveEnclave` takes them. Throws {@link EnclaveApprovalError} with
 * every refusal when fewer approve.
 */
export async function gatherEnclaveApprovals(
  pub: PublicClient,
  p: Omit<ApproveByValidatorsParams, "sender">,
): Promise<{ deadline: bigint; sigs: CompactSig[] }> {
  const deadline = await approvalDeadline(pub);
  const body = JSON.stringify({
    enclave: p.enclave,
    document: Buffer.from(p.document).toString("base64"),
    deadline: deadline.toString(),
    ...(p.publicKey !== undefined ? { publicKey: p.publicKey } : {}),
  });
  type Answer =
    | { url: string; ok: true; signer: Address; sig: CompactSig; nonce: string }
    | { url: string; ok: false; error: string };
  const answers = await Promise.all(
    p.validators.map(async (url): Promise<Answer> => {
      try {
        const res = await fetch(`${url.replace(/\/+$/, "")}/approvals`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(p.timeoutMs ?? 10_000),
        });
        const j = (await res.json()) as {
          signer: Address;
          sig: CompactSig;
          nonce: string;
          error?: string;
          message?: string;
        };
        return res.ok
          ? { url, ok: true, signer: j.signer, sig: j.sig, nonce: j.nonce }
          : { url, ok: false, error: `${j.error ?? res.status}: ${j.message ?? ""}` };
      } catch (e) {
        return { url, ok: false, error: (e as Error).message };
      }
    }),
  );
  const registry = p.deployment.contracts.GatewayRegistry;
  const e = (await pub.readContract({
    address: registry,
    abi: gatewayRegistryAbi,
    functionName: "enclave",
    args: [p.enclave],
  })) as { approvalNonce: bigint };
  const nonce = e.approvalNonce.toString();
  const approvals = answers.flatMap((a) => (a.ok && a.nonce === nonce ? [{ signer: a.signer, sig: a.sig }] : []));
  if (approvals.length < p.quorum) {
    const refusals = answers.flatMap((a) =>
      !a.ok
        ? [{ url: a.url, error: a.error }]
        : a.nonce !== nonce
          ? [{ url: a.url, error: `signed nonce ${a.nonce}, the registry is at ${nonce}` }]
          : [],
    );
    throw new EnclaveApprovalError(p.enclave, approvals.length, p.quorum, refusals);
  }
  return { deadline, sigs: sortBySigner(approvals.slice(0, p.quorum)) };
}

/** {@link gatherEnclaveApprovals}, then `approveEnclave` with them, sent by `sender`. */
export async function approveEnclaveByValidators(pub: PublicClient, p: ApproveByValidatorsParams): Promise<void> {
  const { deadline, sigs } = await gatherEnclaveApprovals(pub, p);
  await write(pub, p.sender, p.deployment.contracts.GatewayRegistry, gatewayRegistryAbi, "approveEnclave", [
    p.enclave,
    deadline,
    sigs,
  ]);
}

export interface SucceedEnclaveParams {
  deployment: Pick<Deployment, "contracts">;
  /** The operator of both keys (it stays liable for the predecessor's batches). */
  operator: Wallet;
  /** The dead key: retired by this call. */
  predecessor: Address;
  /** The registered key (approved before or after) that settles the predecessor's account from now on. */
  successor: Address;
}

/**
 * Key succession: `GatewayRegistry.succeed(predecessor, successor)`. The successor's hook then gets
 * `predecessors: [{ account: predecessor, store }]` and settles the account to its end. Skipped when
 * `successor` already succeeds `predecessor`.
 */
export async function succeedEnclave(pub: PublicClient, p: SucceedEnclaveParams): Promise<void> {
  const registry = p.deployment.contracts.GatewayRegistry;
  const current = (await pub.readContract({
    address: registry,
    abi: gatewayRegistryAbi,
    functionName: "successorOf",
    args: [p.predecessor],
  })) as Address;
  if (current.toLowerCase() === p.successor.toLowerCase()) return;
  await write(pub, p.operator, registry, gatewayRegistryAbi, "succeed", [p.predecessor, p.successor]);
}

export interface CloseAccountParams {
  deployment: Pick<Deployment, "contracts">;
  /** The retired key's operator (anyone, once `bondWithdrawDelay` passed since the retirement). */
  sender: Wallet;
  /** The retired key whose account its successor finished settling. */
  account: Address;
  /**
   * The end the successor settled to (`hook.succeeded[i].settledEnd`): refuses to close while the
   * chain's `nextCallSeq` is below it (its last batches not yet on-chain would be refused after).
   */
  end?: number | bigint;
}

/**
 * `GatewayRegistry.closeAccount(account)`, once the successor's hook settled the retired key's account
 * to its end (`hook.succeeded`): no batch is settled for it again, and a receipt the retired key signed
 * at or above the end proves against its bond (`ProofSettlement.challengeOrphanedReceipt`). Skipped
 * when the account is already closed. Returns the account's end (`nextCallSeq`).
 */
export async function closeAccount(pub: PublicClient, p: CloseAccountParams): Promise<bigint> {
  const registry = p.deployment.contracts.GatewayRegistry;
  const readEnd = async () =>
    (
      (await pub.readContract({
        address: p.deployment.contracts.ProofSettlement,
        abi: proofSettlementAbi,
        functionName: "nextSeqs",
        args: [p.account],
      })) as readonly [bigint, bigint]
    )[0];
  if (p.end !== undefined) {
    const onChain = await readEnd();
    if (onChain < BigInt(p.end)) throw new AccountNotSettledError(p.account, onChain, BigInt(p.end));
  }
  const [, , closed] = (await pub.readContract({
    address: registry,
    abi: gatewayRegistryAbi,
    functionName: "succession",
    args: [p.account],
  })) as readonly [Address, bigint, boolean];
  if (!closed) await write(pub, p.sender, registry, gatewayRegistryAbi, "closeAccount", [p.account]);
  return readEnd();
}
