/**
 * What a refused `eth_sendRawTransaction` means for the submitter, read from viem's typed errors
 * and the chain's state, never from the node's wording (which differs between geth, reth, anvil,
 * Nethermind and hosted RPCs). viem classifies the node's answer as it does for its own
 * `sendTransaction` (`getTransactionError`); where viem has no class (a "replacement transaction
 * underpriced"), the account's nonces say what happened.
 */
import {
  BaseError,
  FeeCapTooLowError,
  NonceTooLowError,
  RpcRequestError,
  TransactionNotFoundError,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from "viem";
import { getTransactionError } from "viem/utils";

/**
 * - `ours`: the node has this very transaction (viem's NonceTooLowError covers "already known" and
 *   "transaction already imported"; a mined one answers "nonce too low"): the broadcast is done.
 * - `nonce-taken`: another transaction was mined at its nonce: resend the batch under a fresh one.
 * - `replace`: another pending transaction holds its nonce, or its fee cap is below the base fee:
 *   replace it with higher fees.
 * - `failed`: anything else, e.g. the node was not reached (viem's HttpRequestError, TimeoutError)
 *   or refused for another reason: the stored transaction is broadcast again next step.
 */
export type BroadcastRefusal = "ours" | "nonce-taken" | "replace" | "failed";

export async function classifyBroadcastError(
  client: PublicClient,
  tx: { hash: Hex; nonce: number; account: LocalAccount },
  err: unknown,
): Promise<BroadcastRefusal> {
  // Only a JSON-RPC error answer is a refusal; a transport failure says nothing about the transaction.
  if (!(err instanceof BaseError) || !err.walk((x) => x instanceof RpcRequestError)) return "failed";
  const known = await client.getTransaction({ hash: tx.hash }).catch((e: unknown) => {
    if (e instanceof TransactionNotFoundError) return undefined;
    throw e; // cannot tell: the step fails and is retried
  });
  if (known) return "ours";
  const node = getTransactionError(err, { account: tx.account, nonce: tx.nonce });
  if (node.walk((x) => x instanceof NonceTooLowError)) return "nonce-taken";
  if (node.walk((x) => x instanceof FeeCapTooLowError)) return "replace";
  // A refusal viem has no class for: the account's nonces tell whether this nonce is taken.
  const [mined, pending] = await Promise.all([
    client.getTransactionCount({ address: tx.account.address, blockTag: "latest" }),
    client.getTransactionCount({ address: tx.account.address, blockTag: "pending" }),
  ]);
  if (mined > tx.nonce) return "nonce-taken";
  if (pending > tx.nonce) return "replace";
  return "failed";
}
