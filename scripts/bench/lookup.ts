/**
 * Lookup benchmark (`npx tsx scripts/bench/lookup.ts`): a call by request hash
 * (`GET /requests/:requestHash`) beside a call by (gateway, callSeq) (`GET /calls/:gateway/:callSeq`),
 * in one run, at the same steady BENCH_RATE req/s (default 1,000) from the same `ponder serve`
 * replica on Postgres, under the same open-loop driver (./pacedLoad.ts, latency from each request's
 * due time), in alternating rounds (BENCH_ROUNDS, default 4, over BENCH_DURATION s per route). The data is real: anvil, proofpath deployed, an approved enclave key, the gateway hook
 * settling BENCH_CALLS calls (default 20,000) in batches of 1,000 and serving them at each batch's
 * daURI, and `ponder start` indexing the batches and their receipts.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { Hono } from "hono";
import pg from "pg";
import { Pool } from "undici";
import { keccak256, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createHookApp, createSettlementHook, listen, registerEnclave } from "../../gateway/index.js";
import { startPonder } from "../../indexer/harness/ponder.js";
import { devClients, freePort, startDevChain } from "../../tools/devchain.js";
import { waitFor } from "../../tools/waitFor.js";
import { startPostgres } from "../../indexer/harness/postgres.js";
import { writeDeployment } from "../../sdk/deployment.js";
import { deployProofpath, localDeployDefaults } from "../../tools/deploy.js";
import { pacedLoad } from "./pacedLoad.js";
import { percentile } from "./quantile.js";

const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const DURATION = Number(process.env.BENCH_DURATION ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const ROUND_WARMUP = Number(process.env.BENCH_WARMUP_S ?? 3);
const CONNECTIONS = 32;
const log = (...a: unknown[]) => console.log(`[bench:lookup ${new Date().toISOString().slice(11, 19)}]`, ...a);

async function main(): Promise<void> {
  const anvil = await startDevChain({ blockTime: 1 });
  const stops: (() => Promise<unknown> | unknown)[] = [() => anvil.stop()];
  try {
    const { publicClient: pub, walletClient: owner } = devClients(anvil, 0);
    const validators = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()));
    const deployment = await deployProofpath(owner, pub, {
      ...localDeployDefaults,
      validators: validators.map((v) => v.address),
      quorum: 2,
    });
    const enclaveKey = generatePrivateKey();
    const key = privateKeyToAccount(enclaveKey);
    await registerEnclave(pub, { deployment, owner, enclave: key, validators });
    const dir = mkdtempSync(path.join(tmpdir(), "proofpath-bench-lookup-"));
    const file = path.join(dir, "deployment.json");
    writeDeployment(file, deployment);

    const port = await freePort();
    const hook = await createSettlementHook({
      chainId: 31337,
      store: path.join(dir, "gw.db"),
      enclaveKey,
      relayerKey: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", // anvil dev account 1
      rpcUrl: anvil.url,
      settlement: deployment.contracts.ProofSettlement,
      daBaseUrl: `http://127.0.0.1:${port}/da`,
      batch: { maxCalls: 1000, maxAgeMs: 500 },
      confirmations: 1,
    });
    stops.unshift(() => hook.close({ drain: false }));
    const app = new Hono();
    app.route(
      "/da",
      createHookApp(hook, { perClient: { rate: 1e6, burst: 1e6 }, global: { rate: 1e6, burst: 1e6 } }, {}),
    );
    const server = await listen(app, port);
    stops.unshift(() => server.close());
    const hashes: Hex[] = [];
    for (let i = 0; i < CALLS; i++) {
      const requestHash = keccak256(toHex(`bench-request:${i}`));
      hashes.push(requestHash);
      hook.record({
        modelId: keccak256(toHex("llama-3-8b")),
        requestHash,
        responseHash: keccak256(toHex(`bench-response:${i}`)),
        inputTokens: 200,
        outputTokens: 400,
      });
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    await hook.flush();
    await hook.settled(600_000);
    const head = await pub.getBlockNumber({ cacheTime: 0 }); // the client cached the number it saw while deploying
    log(`${CALLS} calls settled by the hook in batches of 1,000, head ${head}`);

    const postgres = await startPostgres();
    stops.push(() => postgres.stop());
    const ponder = await startPonder({
      deploymentFile: file,
      rpcUrl: anvil.url,
      databaseUrl: postgres.url,
      logName: `bench-lookup-${Date.now().toString(36)}`,
      // Lookups by request hash need the receipts from the DA, which serves on loopback here.
      env: { PROOFPATH_INDEXER_INDEX_RECEIPTS: "true", PROOFPATH_INDEXER_DA_ALLOW_PRIVATE: "true" },
    });
    stops.unshift(() => ponder.stop());
    await ponder.waitForBlock(head, 600_000);
    const sample = await ponder.getJson(`/requests/${hashes[CALLS - 1]}`);
    if (sample.items?.[0]?.callSeq !== String(CALLS - 1))
      throw new Error(`the indexer has not the calls by request hash: ${JSON.stringify(sample)}`);
    // Statistics, as autovacuum gives a live database minutes after such a load: without them the
    // replica's prepared request-hash lookup cost Postgres 1.2 ms instead of 0.06 ms a request.
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`analyze "${ponder.schema}".call, "${ponder.schema}".batch`);
    await admin.end();
    execFileSync("sync");
    const replica = await startPonder({
      deploymentFile: file,
      rpcUrl: anvil.url,
      databaseUrl: postgres.socketUrl,
      schema: ponder.schema,
      command: "serve",
      logName: `${ponder.schema}-serve`,
    });
    stops.unshift(() => replica.stop());
    await waitFor("the serve replica", async () => (await replica.get("/ready").catch(() => undefined))?.ok, 120_000);

    const pool = new Pool(replica.url, { connections: CONNECTIONS });
    const get = (p: string) =>
      new Promise<void>((resolve, reject) => {
        let status = 0;
        pool.dispatch(
          { method: "GET", path: p },
          {
            onConnect() {},
            onHeaders: (statusCode) => ((status = statusCode), true),
            onData: () => true,
            onComplete: () => (status === 200 ? resolve() : reject(new Error(`status ${status}`))),
            onError: reject,
          },
        );
      });
    const pick = (i: number) => (i * 7919) % CALLS; // a fixed spread over every call
    const gw = key.address.toLowerCase();
    const routes = [
      ["/calls/:gateway/:callSeq", (i: number) => `/calls/${gw}/${pick(i)}`],
      ["/requests/:requestHash", (i: number) => `/requests/${hashes[pick(i)]}`],
    ] as const;
    // Alternating rounds (A B A B …), each at the full rate with its own warm-up: on a shared
    // machine the load drifts over a minute, and neither route should get all the quiet seconds.
    const lat = new Map<string, number[]>(routes.map(([name]) => [name, []]));
    const errors = new Map<string, number>(routes.map(([name]) => [name, 0]));
    const roundSec = DURATION / ROUNDS;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, path] of round % 2 === 0 ? routes : [...routes].reverse()) {
        const r = await pacedLoad(RATE, roundSec, ROUND_WARMUP, (i) => get(path(i)));
        lat.get(name)!.push(...r.latenciesMs);
        errors.set(name, errors.get(name)! + r.errors);
      }
    }
    const result: Record<string, { p50: number; p99: number; ok: number; errors: number }> = {};
    for (const [name] of routes) {
      const l = lat.get(name)!.sort((a, b) => a - b);
      result[name] = {
        p50: Number(percentile(l, 0.5).toFixed(2)),
        p99: Number(percentile(l, 0.99).toFixed(2)),
        ok: l.length,
        errors: errors.get(name)!,
      };
      log(
        `${name} at ${RATE} req/s, ${DURATION} s in ${ROUNDS} rounds: ${l.length} ok, p50 ${result[name].p50} ms, p99 ${result[name].p99} ms, errors ${result[name].errors}`,
      );
    }
    await pool.close();
    log(
      `load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")} (2 cores shared with other work)`,
    );
    console.log(`RESULT ${JSON.stringify({ rate: RATE, durationSec: DURATION, calls: CALLS, result })}`);
  } finally {
    for (const s of stops) await Promise.resolve(s()).catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
