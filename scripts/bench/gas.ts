/**
 * Gas benchmark: proofpath's settlement beside per-call attestation on the real EAS contracts,
 * deployed side by side on the same in-process chain. Prints a table and writes snapshots/gas.json.
 *
 *   npm run bench:gas
 *   npm run bench:gas -- --check   compare with snapshots/gas.json instead of writing it: exit 1 when
 *                                  any proofpath figure is more than 2 % higher (gas is deterministic;
 *                                  scripts/bench/gas-cli.ts passes the flag on as BENCH_GAS_CHECK=1)
 */
import { writeFileSync, readFileSync, mkdirSync } from "node:fs";
import { network } from "hardhat";
import { encodeAbiParameters, getContractAddress, keccak256, toHex, zeroHash, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { receiptLeaf } from "../../sdk/hashing.js";
import { buildTree } from "../../sdk/merkle.js";
import { settlementDomain, signHeader } from "../../sdk/eip712.js";
import { computeFee } from "../../sdk/fees.js";
import {
  enclaveApprovalDigest,
  enclaveRegistrationDigest,
  quorumSignatures,
  signCompact,
  verdictDigest,
  VERDICT_ATTEST,
} from "../../sdk/approvals.js";

const BATCH_SIZES = [1, 16, 128, 1024, 4096, 8192] as const;
const LIFECYCLE_SIZES = [128, 1024, 8192] as const;
const QUORUMS = [4, 5, 7] as const; // of 7 validators: a quorum is a strict majority, so at least 4
const LIFECYCLE_BATCHES = 16; // batches submitted, attested and finalized per call in the lifecycle figure (= RELAYED)
const EAS_MULTI = 64; // attestations per multiAttest / multiTimestamp call
const MODEL = keccak256(toHex("llama-3.1-8b-instruct"));

const { viem, networkHelpers } = await network.create();
const pub = await viem.getPublicClient();
const deployer = (await viem.getWalletClients())[0]!;
const chainId = await pub.getChainId();

const easArtifact = (name: string) =>
  JSON.parse(
    readFileSync(
      `node_modules/@ethereum-attestation-service/eas-contracts/artifacts/contracts/${name}.sol/${name}.json`,
      "utf8",
    ),
  ) as { abi: never; bytecode: Hex };

async function gasOf(hash: Hex): Promise<bigint> {
  const r = await pub.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`tx ${hash} reverted`);
  return r.gasUsed;
}

// ------------------------------------------------------------------ proofpath deployment
const validators = Array.from({ length: 7 }, () => privateKeyToAccount(generatePrivateKey()));
const token = await viem.deployContract("OPGToken", [deployer.account.address, 10n ** 30n]);
// The registry and validator set are built with the settlement's address (the deployer's nonce + 2).
const predicted = getContractAddress({
  from: deployer.account.address,
  nonce: BigInt(await pub.getTransactionCount({ address: deployer.account.address })) + 2n,
});
const vset = await viem.deployContract("ValidatorSet", [
  token.address,
  predicted,
  deployer.account.address,
  validators.map((v) => v.address),
  5n,
  10n ** 18n,
  86_400n,
  1000,
]);
const registry = await viem.deployContract("GatewayRegistry", [
  token.address,
  vset.address,
  predicted,
  deployer.account.address,
  {
    minBond: 10n ** 18n,
    heartbeatInterval: 10n ** 9n,
    bondWithdrawDelay: 86_400n,
    challengerRewardBps: 1000,
    rejectedSlashBps: 1000,
  },
]);
const rate = { perCall: 10n ** 12n, perKiloInputToken: 10n ** 13n, perKiloOutputToken: 3n * 10n ** 13n };
const WINDOW = 600;
const settlement = await viem.deployContract("ProofSettlement", [
  token.address,
  registry.address,
  vset.address,
  {
    owner: deployer.account.address,
    treasury: deployer.account.address,
    rate,
    maxBatchSize: 8192,
    challengeWindow: WINDOW,
    withdrawDelay: 3600,
    validatorBps: 7000,
    treasuryBps: 2000,
    burnBps: 1000,
    rejectedRefundBps: 0,
    attesterSlashBps: 1000,
  },
]);
await token.write.approve([vset.address, 2n ** 255n]);
for (const v of validators) await vset.write.stake([v.address, 10n ** 18n]);
const measurement = keccak256(toHex("pcr0|pcr1|pcr2"));
await registry.write.allowMeasurement([measurement]);
await token.write.approve([registry.address, 2n ** 255n]);
await token.write.approve([settlement.address, 2n ** 255n]);

async function newGateway() {
  const key = privateKeyToAccount(generatePrivateKey());
  const attestationHash = keccak256(toHex(`attestation of ${key.address}`));
  const keySig = await signCompact(
    key,
    enclaveRegistrationDigest(chainId, registry.address, {
      operator: deployer.account.address,
      measurement,
      attestationHash,
      keyConfigHash: zeroHash,
    }),
  );
  await registry.write.registerEnclave([key.address, measurement, attestationHash, zeroHash, 10n ** 18n, keySig]);
  const deadline = (await pub.getBlock()).timestamp + 3600n;
  const digest = enclaveApprovalDigest(chainId, registry.address, {
    key: key.address,
    measurement,
    attestationHash,
    keyConfigHash: zeroHash,
    nonce: 0n,
    deadline,
  });
  await registry.write.approveEnclave([key.address, deadline, await quorumSignatures(validators.slice(0, 5), digest)]);
  await settlement.write.deposit([key.address, 10n ** 27n]);
  return { key, batchSeq: 0n, callSeq: 0n };
}

type Gateway = Awaited<ReturnType<typeof newGateway>>;
const domain = settlementDomain(chainId, settlement.address);

/** A realistic batch: `count` receipts of one model, signed header, fee from the schedule. */
async function makeBatch(gw: Gateway, count: number) {
  const now = Date.now();
  const leaves: Hex[] = [];
  let inputTokens = 0n;
  let outputTokens = 0n;
  for (let i = 0; i < count; i++) {
    const r = {
      gateway: gw.key.address,
      callSeq: gw.callSeq + BigInt(i),
      modelId: MODEL,
      requestHash: keccak256(toHex(`req ${i}`)),
      responseHash: keccak256(toHex(`res ${i}`)),
      inputTokens: 500 + (i % 300),
      outputTokens: 200 + (i % 100),
      servedAt: BigInt(now + i),
    };
    inputTokens += BigInt(r.inputTokens);
    outputTokens += BigInt(r.outputTokens);
    leaves.push(receiptLeaf(r));
  }
  const usage = [{ modelId: MODEL, calls: count, inputTokens, outputTokens }];
  const header = {
    gateway: gw.key.address,
    batchSeq: gw.batchSeq,
    firstCallSeq: gw.callSeq,
    count,
    root: buildTree(leaves).root,
    usage,
    fee: computeFee(usage, rate),
    firstServedAt: BigInt(now),
    lastServedAt: BigInt(now + count - 1),
    daURI: `https://gateway.example.org/batches/${gw.batchSeq}`,
  };
  const { compact } = await signHeader(gw.key, domain, header);
  gw.batchSeq += 1n;
  gw.callSeq += BigInt(count);
  return { header, sig: compact };
}

async function submit(gw: Gateway, count: number) {
  const b = await makeBatch(gw, count);
  const gas = await gasOf(await settlement.write.submitBatch([b.header, b.sig]));
  const [, , , , prefix] = await settlement.read.batch([b.header.gateway, b.header.batchSeq]);
  return { ...b, gas, prefix };
}

// ------------------------------------------------------------------ submitBatch by batch size
console.log("proofpath gas benchmark (in-process EDR chain, solc 0.8.28, optimizer on)\n");
const gw = await newGateway();
await submit(gw, 1); // warm-up: the first batch of a gateway is not representative
const submitTotal: Record<string, number> = {};
const submitPerCall: Record<string, number> = {};
for (const n of BATCH_SIZES) {
  const { gas } = await submit(gw, n);
  submitTotal[n] = Number(gas);
  submitPerCall[n] = Math.round((Number(gas) / n) * 100) / 100;
}

// ------------------------------------------------------------------ relayed: submitBatches, one batch from each of 16 gateways
const RELAYED = 16;
const relayGateways: Gateway[] = [];
for (let i = 0; i < RELAYED; i++) relayGateways.push(await newGateway());
for (const g of relayGateways) await submit(g, 1); // warm-up, as above
async function submitRelayed(count: number) {
  const batches = [];
  for (const g of relayGateways) batches.push(await makeBatch(g, count));
  const gas = await gasOf(
    await settlement.write.submitBatches([batches.map((b) => b.header), batches.map((b) => b.sig)]),
  );
  return { batches, gas };
}
const relayedPerCall: Record<string, number> = {};
for (const n of BATCH_SIZES) {
  const { gas } = await submitRelayed(n);
  relayedPerCall[n] = Math.round((Number(gas) / (n * RELAYED)) * 100) / 100;
}

// ------------------------------------------------------------------ lifecycle: attest (k = 3, 5, 7), finalize
const { headerHash } = await import("../../sdk/hashing.js").then((m) => ({ headerHash: m.hashHeader }));
/** The first k validators in quorum (ascending address) order: the signers `attestBatches` uses. */
const signersOf = (k: number): Address[] =>
  [...validators]
    .sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1))
    .slice(0, k)
    .map((v) => v.address);
async function attestBatches(batches: { header: any }[], k: number) {
  const refs = batches.map((b) => ({
    gateway: b.header.gateway,
    batchSeq: b.header.batchSeq,
    headerHash: headerHash(b.header),
  }));
  const digest = verdictDigest(
    chainId,
    settlement.address,
    VERDICT_ATTEST,
    refs.map((r) => r.headerHash),
  );
  const sorted = [...validators].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  return gasOf(await settlement.write.attest([refs, await quorumSignatures(sorted.slice(0, k), digest)]));
}

const attestSingle: Record<string, number> = {};
for (const k of QUORUMS) {
  await vset.write.setQuorum([BigInt(k)]);
  const b = await submit(gw, 1024);
  attestSingle[k] = Number(await attestBatches([b], k));
}
await vset.write.setQuorum([5n]);

const lifecycle: Record<string, { submit: number; attest: number; finalize: number; gasPerCall: number }> = {};
for (const n of LIFECYCLE_SIZES) {
  // Submitted by a relayer (submitBatches), attested by one k=5 quorum and finalized by anyone, 16 at a time.
  const { batches, gas: submitGas } = await submitRelayed(n);
  const attestGas = await attestBatches(batches, 5);
  await networkHelpers.time.increase(WINDOW);
  const finalizeGas = await gasOf(await settlement.write.finalize([batches.map((b) => b.header), signersOf(5)]));
  const calls = n * LIFECYCLE_BATCHES;
  lifecycle[n] = {
    submit: Number(submitGas) / LIFECYCLE_BATCHES,
    attest: Number(attestGas) / LIFECYCLE_BATCHES,
    finalize: Number(finalizeGas) / LIFECYCLE_BATCHES,
    gasPerCall: Math.round((Number(submitGas + attestGas + finalizeGas) / calls) * 100) / 100,
  };
}
// The same lifecycle with every batch submitted alone (submitBatch), for comparison.
const lifecycleSingleSubmit: Record<string, number> = {};
for (const n of LIFECYCLE_SIZES) {
  const l = lifecycle[n]!;
  lifecycleSingleSubmit[n] = Math.round(((submitTotal[n]! + l.attest + l.finalize) / n) * 100) / 100;
}
// finalize of a single batch (worst case: nothing amortized)
const single = await submit(gw, 1024);
await attestBatches([single], 5);
await networkHelpers.time.increase(WINDOW);
const finalizeSingle = Number(await gasOf(await settlement.write.finalize([[single.header], signersOf(5)])));

// ------------------------------------------------------------------ EAS side by side
const schemaRegistryArt = easArtifact("SchemaRegistry");
const easArt = easArtifact("EAS");
const schemaRegistryHash = await deployer.deployContract({
  abi: schemaRegistryArt.abi,
  bytecode: schemaRegistryArt.bytecode,
  args: [],
});
const schemaRegistry = (await pub.waitForTransactionReceipt({ hash: schemaRegistryHash })).contractAddress as Address;
const easHash = await deployer.deployContract({
  abi: easArt.abi,
  bytecode: easArt.bytecode,
  args: [schemaRegistry],
});
const eas = (await pub.waitForTransactionReceipt({ hash: easHash })).contractAddress as Address;
const schema = "bytes32 receiptDigest";
await gasOf(
  await deployer.writeContract({
    address: schemaRegistry,
    abi: schemaRegistryArt.abi,
    functionName: "register",
    args: [schema, "0x0000000000000000000000000000000000000000", true],
  }),
);
const schemaUID = keccak256(
  // SchemaRegistry: uid = keccak256(abi.encodePacked(schema, resolver, revocable))
  `${toHex(schema)}000000000000000000000000000000000000000001` as Hex,
);
let nonce = 0;
const attData = () => ({
  recipient: deployer.account.address,
  expirationTime: 0n,
  revocable: true,
  refUID: zeroHash,
  data: encodeAbiParameters([{ type: "bytes32" }], [keccak256(toHex(`receipt ${nonce++}`))]),
  value: 0n,
});
await deployer.writeContract({
  address: eas,
  abi: easArt.abi,
  functionName: "attest",
  args: [{ schema: schemaUID, data: attData() }],
}); // warm-up
const easAttest = Number(
  await gasOf(
    await deployer.writeContract({
      address: eas,
      abi: easArt.abi,
      functionName: "attest",
      args: [{ schema: schemaUID, data: attData() }],
    }),
  ),
);
const easMulti =
  Number(
    await gasOf(
      await deployer.writeContract({
        address: eas,
        abi: easArt.abi,
        functionName: "multiAttest",
        args: [[{ schema: schemaUID, data: Array.from({ length: EAS_MULTI }, attData) }]],
      }),
    ),
  ) / EAS_MULTI;
const easTimestamp =
  Number(
    await gasOf(
      await deployer.writeContract({
        address: eas,
        abi: easArt.abi,
        functionName: "multiTimestamp",
        args: [Array.from({ length: EAS_MULTI }, (_, i) => keccak256(toHex(`ts ${i}`)))],
      }),
    ),
  ) / EAS_MULTI;

// ------------------------------------------------------------------ report
const best = Math.min(easAttest, easMulti, easTimestamp);
console.log("submitBatch (one tx, incl. 21,000 base gas, enclave signature check and fee debit)");
console.log("  calls/batch   total gas   gas/call   EAS attest ÷   best EAS ÷");
for (const n of BATCH_SIZES) {
  console.log(
    `  ${String(n).padStart(11)}   ${String(submitTotal[n]).padStart(9)}   ${String(submitPerCall[n]).padStart(8)}   ${(easAttest / submitPerCall[n]!).toFixed(1).padStart(12)}×   ${(best / submitPerCall[n]!).toFixed(1).padStart(9)}×`,
  );
}
console.log(
  `\nsubmitBatches (a relayer settles one batch from each of ${RELAYED} gateways per tx): gas/call ${BATCH_SIZES.map((n) => `${n}: ${relayedPerCall[n]}`).join(", ")}`,
);
console.log(
  `\nEAS per call (same chain): attest ${easAttest}, multiAttest ${easMulti.toFixed(0)} (x${EAS_MULTI}), multiTimestamp ${easTimestamp.toFixed(0)} (x${EAS_MULTI})`,
);
console.log(
  `\nattest one batch: ${QUORUMS.map((k) => `k=${k}: ${attestSingle[k]}`).join(", ")}; finalize one batch: ${finalizeSingle}`,
);
console.log(
  `whole lifecycle, k=5, ${LIFECYCLE_BATCHES} batches submitted (submitBatches) + attested + finalized per call:`,
);
for (const n of LIFECYCLE_SIZES) {
  const l = lifecycle[n]!;
  console.log(
    `  ${String(n).padStart(5)} calls/batch: submit ${l.submit.toFixed(0)} + attest ${l.attest.toFixed(0)} + finalize ${l.finalize.toFixed(0)} per batch = ${l.gasPerCall} gas/call (${lifecycleSingleSubmit[n]} with each batch submitted alone)`,
  );
}
const targets = {
  submit1024: submitPerCall[1024]! <= 64,
  submit8192: submitPerCall[8192]! <= 10,
  relayed1024: relayedPerCall[1024]! <= 64,
  lifecycle1024: lifecycle[1024]!.gasPerCall <= 100,
};
console.log(
  `\ntargets: ≤64 gas/call @1024 ${targets.submit1024 ? "met" : "MISSED"} (relayed: ${targets.relayed1024 ? "met" : "MISSED"}), ≤10 @8192 ${targets.submit8192 ? "met" : "MISSED"}, lifecycle ≤100 @1024 ${targets.lifecycle1024 ? "met" : "MISSED"}`,
);

const snapshot = {
  submitBatch: { gasPerCall: submitPerCall, totalGas: submitTotal },
  submitBatches: { gatewaysPerTx: RELAYED, gasPerCall: relayedPerCall },
  eas: {
    attest: easAttest,
    multiAttest: Math.round(easMulti),
    multiTimestamp: Math.round(easTimestamp),
    batch: EAS_MULTI,
  },
  ratio: Object.fromEntries(
    BATCH_SIZES.map((n) => [
      n,
      { vsAttest: +(easAttest / submitPerCall[n]!).toFixed(1), vsBestEas: +(best / submitPerCall[n]!).toFixed(1) },
    ]),
  ),
  attest: { gasPerBatch: attestSingle },
  finalize: { gasPerBatch: finalizeSingle },
  lifecycle: {
    quorum: 5,
    batchesPerCall: LIFECYCLE_BATCHES,
    gasPerCall: Object.fromEntries(LIFECYCLE_SIZES.map((n) => [n, lifecycle[n]!.gasPerCall])),
    gasPerCallSingleSubmit: lifecycleSingleSubmit,
    perBatch: lifecycle,
  },
};
if (process.env.BENCH_GAS_CHECK === "1")
  process.exit(checkAgainst(JSON.parse(readFileSync("snapshots/gas.json", "utf8")), snapshot));
mkdirSync("snapshots", { recursive: true });
writeFileSync("snapshots/gas.json", `${JSON.stringify(snapshot, null, 2)}\n`);
console.log("\nwrote snapshots/gas.json");

/**
 * Every numeric proofpath figure of `now` against the same path in `base` (EAS figures and ratios are
 * context, not ours to regress): 1 when any is more than 2 % higher, each such figure printed.
 */
function checkAgainst(base: unknown, now: unknown): number {
  const worse: string[] = [];
  const walk = (b: unknown, n: unknown, at: string) => {
    if (typeof b === "number" && typeof n === "number") {
      if (n > b * 1.02) worse.push(`${at}: ${b} -> ${n} (+${(((n - b) / b) * 100).toFixed(1)} %)`);
    } else if (b && n && typeof b === "object" && typeof n === "object") {
      for (const k of Object.keys(b))
        walk((b as Record<string, unknown>)[k], (n as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
    }
  };
  for (const k of ["submitBatch", "submitBatches", "attest", "finalize", "lifecycle"])
    walk((base as any)[k], (now as any)[k], k);
  if (worse.length) {
    console.error(`\ngas regression over 2 % against snapshots/gas.json:\n  ${worse.join("\n  ")}`);
    return 1;
  }
  console.log("\ngas check: no figure more than 2 % above snapshots/gas.json");
  return 0;
}
