/**
 * A local development chain: an anvil process (from the @foundry-rs/anvil npm package) on a free
 * loopback port, with anvil's well-known funded dev accounts. For `npm start`, tests and benchmarks;
 * never for production.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, defineChain, http, type Chain, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** anvil's default mnemonic: its accounts are funded with 10,000 ETH on every dev chain. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** The i-th funded dev account's private key. */
export function devPrivateKey(i: number): Hex {
  const key = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i }).getHdKey().privateKey!;
  return `0x${Buffer.from(key).toString("hex")}`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface DevChain {
  rpcUrl: string;
  chain: Chain;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts anvil (chain id 31337 unless given) and resolves once it answers JSON-RPC. */
export async function startDevChain(
  opts: { port?: number; blockTime?: number; accounts?: number; chainId?: number } = {},
): Promise<DevChain> {
  const port = opts.port ?? (await freePort());
  const chainId = opts.chainId ?? 31337;
  const args = [
    "--port",
    String(port),
    "--silent",
    "--chain-id",
    String(chainId),
    "--accounts",
    String(opts.accounts ?? 20),
  ];
  if (opts.blockTime) args.push("--block-time", String(opts.blockTime), "--mixed-mining");
  const proc = spawn(path.join(root, "node_modules/.bin/anvil"), args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  const rpcUrl = `http://127.0.0.1:${port}`;
  const chain = defineChain({
    id: chainId,
    name: "anvil",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const client = createPublicClient({ chain, transport: http(rpcUrl, { retryCount: 0 }) });
  for (let i = 0; ; i++) {
    try {
      await client.getChainId();
      break;
    } catch (e) {
      if (i > 150 || proc.exitCode !== null)
        throw new Error(`anvil did not start on ${rpcUrl}: ${stderr.trim()}`, { cause: e });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    rpcUrl,
    chain,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}

/** viem clients for a dev chain and one of its funded accounts. */
export function devClients(dev: Pick<DevChain, "rpcUrl" | "chain">, accountIndex = 0) {
  const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: accountIndex });
  const transport = http(dev.rpcUrl);
  return {
    account,
    publicClient: createPublicClient({ chain: dev.chain, transport }),
    walletClient: createWalletClient({ account, chain: dev.chain, transport }),
  };
}
