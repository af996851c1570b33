/**
 * `npm start`'s enclaves: each one is a real demo gateway process (gateway/demo/main.ts) with a fresh
 * signing key and a fresh OHTTP key, registered by the operator from a dev-CA attestation document
 * and approved by the validators over HTTP (they verify the document), exactly as a Nitro enclave
 * would be. Its hook's store lives on the "host" (data/start/), so a successor can recover it after
 * the process is SIGKILLed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  bytesToHex,
  keccak256,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Deployment } from "../../sdk/deployment.js";
import { generateKeyPair } from "../../sdk/ohttp/index.js";
import { approveEnclaveByValidators, registerEnclave } from "../../gateway/registration.js";
import type { SuccessionResult } from "../../gateway/succession.js";
import type { DevNitriding } from "../../tools/devNitriding.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
type Wallet = WalletClient<Transport, Chain | undefined, Account>;

/** A key pair made "inside" a new enclave: its signing key and its OHTTP key. */
export interface EnclaveKeys {
  address: Address;
  enclaveKey: Hex;
  publicKey: Hex;
  ohttpPrivateKey: Hex;
  keyConfigHash: Hex;
}

export function newEnclaveKeys(): EnclaveKeys {
  const enclaveKey = generatePrivateKey();
  const account = privateKeyToAccount(enclaveKey);
  const ohttp = generateKeyPair({ keyId: 1 });
  return {
    address: account.address,
    enclaveKey,
    publicKey: account.publicKey,
    ohttpPrivateKey: bytesToHex(ohttp.privateKey),
    keyConfigHash: ohttp.hash,
  };
}

/**
 * Registers `keys` from a fresh attestation document (its hash, the measurement and the OHTTP key
 * config hash on-chain) and has the validators approve it: each verifies the document over HTTP.
 */
export async function registerAndApprove(
  pub: PublicClient,
  p: {
    deployment: Deployment;
    owner: Wallet;
    operator: Wallet;
    keys: EnclaveKeys;
    nitriding: DevNitriding;
    measurement: Hex;
    validatorUrls: string[];
    quorum: number;
  },
): Promise<void> {
  p.nitriding.add({ address: p.keys.address, publicKey: p.keys.publicKey, keyConfigHash: p.keys.keyConfigHash });
  const document = await p.nitriding.document(p.keys.address);
  await registerEnclave(pub, {
    deployment: p.deployment,
    owner: p.owner,
    operator: p.operator,
    enclave: privateKeyToAccount(p.keys.enclaveKey),
    measurement: p.measurement,
    attestationHash: keccak256(document),
    keyConfigHash: p.keys.keyConfigHash,
  });
  await approveEnclaveByValidators(pub, {
    deployment: p.deployment,
    sender: p.operator,
    enclave: p.keys.address,
    document,
    validators: p.validatorUrls,
    quorum: p.quorum,
  });
}

export interface EnclaveProcess {
  pid: number;
  address: Address;
  /** The predecessors' accounts it settled before serving (key succession). */
  succeeded: SuccessionResult[];
  /** SIGKILL: the process and every key in its memory are gone; its store stays on the host. */
  kill(): Promise<void>;
  /** SIGTERM: flushes and stops. */
  stop(): Promise<void>;
}

/**
 * Starts the demo gateway process with `config` (gateway/demo/config.ts fields) and resolves once it
 * listens (after settling any predecessors), or rejects when it exits first. Its logs go to `logFile`.
 */
export async function startEnclaveProcess(o: {
  config: Record<string, unknown>;
  configFile: string;
  logFile: string;
  timeoutMs: number;
}): Promise<EnclaveProcess> {
  writeFileSync(o.configFile, JSON.stringify(o.config, null, 2));
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", path.join(root, "gateway/demo/main.ts"), "--config", o.configFile],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } },
  );
  // If npm start itself dies, its enclave goes with it.
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  void exited.then(() => process.off("exit", reap));
  const log = createWriteStream(o.logFile, { flags: "a" });
  child.stderr!.pipe(log);
  let tail = "";
  const ready = new Promise<{ gateway: Address; succeeded: SuccessionResult[] }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the enclave did not listen within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      log.write(`${line}\n`);
      tail = `${tail}${line}\n`.slice(-4000);
      if (!line.includes('"demo gateway listening"')) return;
      clearTimeout(timer);
      const j = JSON.parse(line) as { gateway: Address; succeeded: SuccessionResult[] };
      resolve({ gateway: j.gateway, succeeded: j.succeeded });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the enclave process exited (${code}) before listening; logs: ${o.logFile}\n${tail}`));
    });
  });
  const { gateway, succeeded } = await ready.catch((e: unknown) => {
    child.kill("SIGKILL");
    throw e;
  });
  return {
    pid: child.pid!,
    address: gateway,
    succeeded,
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
