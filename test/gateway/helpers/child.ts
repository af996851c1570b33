/** Runs test/gateway/fixtures/gatewayChild.ts in a child process and collects what it reports. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { HOOK_PROCESSES, HOOK_WORKERS } from "../../../gateway/workerThread.js";
import { bundleDir, bundleOnce } from "./bundle.js";
import { root } from "./chain.js";

export interface ChildRun {
  proc: ChildProcess;
  /** callSeq → digest, as record() returned them. */
  returned: Map<number, string>;
  durable: Set<number>;
  /** callSeq → requestHash (SERVE=1 children only). */
  requestHashes: Map<number, string>;
  /** The requestHash of a record() call whose `R` line never came (the kill landed in between). */
  inFlight: string | undefined;
  /** Highest callSeq returned so far (-1 before any). */
  maxReturned: number;
  /** Highest callSeq reported durable so far (-1 before any). */
  maxDurable: number;
  /** Predecessor accounts the child settled to their end before serving (key succession, `S` lines). */
  succeeded: { account: string; settledEnd: number; voided: number; signed: number }[];
  /** The child's HTTP port once it serves (SERVE=1). */
  port: number | undefined;
  done: boolean;
  stderr: string;
  /** Other stdout lines (logs), last 20k characters. */
  log: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the child has reported `n` returned receipts. */
  waitReturned(n: number, timeoutMs: number): Promise<boolean>;
}

/**
 * Bundles the child and the hook's worker threads and child processes beside it (the hook starts
 * them from its own folder, so every one of HOOK_WORKERS and HOOK_PROCESSES must be there).
 */
export async function buildChild(): Promise<void> {
  const workers = Object.fromEntries(
    [...HOOK_WORKERS, ...HOOK_PROCESSES].map((w) => [w, path.join(root, `gateway/${w}.ts`)]),
  );
  await bundleOnce("gateway-test", {
    gatewayChild: path.join(root, "test/gateway/fixtures/gatewayChild.ts"),
    ...workers,
  });
}
const CHILD_JS = path.join(bundleDir("gateway-test"), "gatewayChild.js");

/** Starts the bundled child (call {@link buildChild} first). */
export function runChild(env: Record<string, string>): ChildRun {
  const proc = spawn(process.execPath, [CHILD_JS], {
    cwd: root,
    env: { ...process.env, NODE_NO_WARNINGS: "1", PROOFPATH_GATEWAY_CHILD: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run: ChildRun = {
    proc,
    returned: new Map(),
    durable: new Set(),
    requestHashes: new Map(),
    inFlight: undefined,
    maxReturned: -1,
    maxDurable: -1,
    succeeded: [],
    port: undefined,
    done: false,
    stderr: "",
    log: "",
    // "close", not "exit": exit can come before the last stdout lines are read, and a receipt
    // reported just before a kill would be missing from the ledger.
    exit: new Promise((r) => proc.once("close", (code, signal) => r({ code, signal }))),
    waitReturned: (n, timeoutMs) =>
      new Promise((resolve) => {
        const end = Date.now() + timeoutMs;
        const t = setInterval(() => {
          if (run.returned.size >= n || proc.exitCode !== null || proc.signalCode !== null || Date.now() > end) {
            clearInterval(t);
            resolve(run.returned.size >= n);
          }
        }, 20);
      }),
  };
  let buf = "";
  proc.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      // record() is synchronous: its `R` line follows its `P` line before the next `P`.
      if (line.startsWith("P ")) run.inFlight = line.slice(2);
      else if (line.startsWith("R ")) {
        run.inFlight = undefined;
        const [, s, digest, requestHash] = line.split(" ");
        const seq = Number(s);
        if (run.returned.has(seq)) throw new Error(`child reported callSeq ${seq} twice`);
        run.returned.set(seq, digest!);
        if (requestHash) run.requestHashes.set(seq, requestHash);
        if (seq > run.maxReturned) run.maxReturned = seq;
      } else if (line.startsWith("D ")) {
        const seq = Number(line.slice(2));
        run.durable.add(seq);
        if (seq > run.maxDurable) run.maxDurable = seq;
      } else if (line.startsWith("S ")) {
        const [, account, end, voided, signed] = line.split(" ");
        run.succeeded.push({
          account: account!,
          settledEnd: Number(end),
          voided: Number(voided),
          signed: Number(signed),
        });
      } else if (line.startsWith("L ")) run.port = Number(line.slice(2));
      else if (line === "DONE") run.done = true;
      else run.log = `${run.log + line}\n`.slice(-20_000);
    }
  });
  proc.stderr!.on("data", (d: Buffer) => (run.stderr = (run.stderr + d.toString()).slice(-20_000)));
  return run;
}
