/**
 * A local development chain: an anvil process (from the @foundry-rs/anvil npm package) on a free
 * loopback port, with anvil's well-known funded dev accounts. The one launcher for `npm start`, the
 * tests, the benchmarks and the indexer harness; never for production.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  type Chain,
  type Hex,
  type PublicClient,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { GiveUp, waitFor } from "./waitFor.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** anvil's default mnemonic: its accounts are funded with 10,000 ETH on every dev chain. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** The i-th funded dev account. */
export const devAccount = (i: number) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i });

/** The i-th funded dev account's private key. */
export function devPrivateKey(i: number): Hex {
  return `0x${Buffer.from(devAccount(i).getHdKey().privateKey!).toString("hex")}`;
}

/** A free TCP port on 127.0.0.1 (bound then released; fine for processes on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface DevChainOptions {
  /** Default: a free port. */
  port?: number;
  /** Seconds between interval-mined blocks (with `--mixed-mining`: transactions still mine at once).
   *  Default: automine only, so an idle chain's head timestamp lags wall time. */
  blockTime?: number;
  /** Default 31337. */
  chainId?: number;
  /** Funded dev accounts. Default 20. */
  accounts?: number;
  /** Block gas limit. Default: anvil's (30M). */
  gasLimit?: bigint | number;
  /** anvil's stderr: kept to explain a failed start ("pipe", the default) or passed through. */
  stderr?: "pipe" | "inherit";
  /** How long anvil may take to answer. Default 30 s. */
  startTimeoutMs?: number;
}

export interface DevChain {
  url: string;
  /** @deprecated the old name of `url`, for tests on branches cut before it was renamed. */
  rpcUrl: string;
  port: number;
  chain: Chain;
  proc: ChildProcess;
  client: PublicClient;
  /** anvil's own RPC methods (mine, snapshot/revert, setBalance, impersonate, …), typed by viem. */
  test: ReturnType<typeof devTestClient>;
  /** A raw JSON-RPC call (for methods viem does not type, e.g. `anvil_reorg`). */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

function devTestClient(chain: Chain, url: string) {
  return createTestClient({ mode: "anvil", chain, transport: http(url) });
}

/** Starts anvil and resolves once it answers JSON-RPC. It dies with this process. */
export async function startDevChain(opts: DevChainOptions = {}): Promise<DevChain> {
  const port = opts.port ?? (await freePort());
  const chainId = opts.chainId ?? 31337;
  const args = ["--port", String(port), "--host", "127.0.0.1", "--silent", "--chain-id", String(chainId)];
  args.push("--accounts", String(opts.accounts ?? 20));
  if (opts.blockTime) args.push("--block-time", String(opts.blockTime), "--mixed-mining");
  if (opts.gasLimit !== undefined) args.push("--gas-limit", String(opts.gasLimit));
  const bin = path.join(root, "node_modules/.bin/anvil");
  const proc = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "ignore", opts.stderr ?? "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d) => (stderr += d));
  // If this process ends without stop() (an uncaught error), don't leave the chain running.
  const reap = () => proc.kill("SIGKILL");
  process.once("exit", reap);
  proc.once("exit", () => process.off("exit", reap));

  const url = `http://127.0.0.1:${port}`;
  const chain: Chain = { ...foundry, id: chainId, rpcUrls: { default: { http: [url] } } };
  const client = createPublicClient({ chain, transport: http(url, { retryCount: 0 }) }) as PublicClient;
  let id = 0;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
    });
    const body = (await res.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once("exit", () => resolve());
      proc.kill("SIGTERM");
    });
  try {
    await waitFor(
      `anvil to answer on ${url}`,
      async () => {
        if (proc.exitCode !== null) throw new GiveUp(`anvil exited: ${stderr.trim()}`);
        return client.getChainId();
      },
      opts.startTimeoutMs ?? 30_000,
      100,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, rpcUrl: url, port, chain, proc, client, test: devTestClient(chain, url), rpc, stop };
}

/** viem clients for a dev chain and one of its funded accounts. */
export function devClients(dev: Pick<DevChain, "url" | "chain">, accountIndex = 0) {
  const account = devAccount(accountIndex);
  const transport = http(dev.url);
  return {
    account,
    publicClient: createPublicClient({ chain: dev.chain, transport }) as PublicClient,
    walletClient: createWalletClient({ account, chain: dev.chain, transport }),
  };
}

/** A wallet client for dev account `i` (the deployer and registry owner is account 0). */
export const devWallet = (dev: Pick<DevChain, "url" | "chain">, i = 0) => devClients(dev, i).walletClient;
