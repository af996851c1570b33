/**
 * The settlement story every indexer test replays on a real chain, and what the indexer must report
 * for it, computed from the headers the test submitted (never from the indexer itself).
 */
import assert from "node:assert/strict";
import type { Address, Hex, LocalAccount } from "viem";
import { localDeployDefaults } from "../../../tools/deploy.js";
import { usageFee } from "../../../sdk/fees.js";
import { MODELS, type Call, type Header, type Protocol } from "./protocol.js";
import type { Ponder } from "../../../indexer/harness/ponder.js";

export type Status = "submitted" | "attested" | "finalized" | "rejected";

export interface ExpectedBatch {
  header: Header;
  status: Status;
  submitTx: Hex;
  /** The attestation that attested it, if any (also for one rejected after attestation). */
  attestationId?: bigint;
  equivocation?: boolean;
}

export interface ExpectedValidator {
  address: Address;
  status: "active" | "exiting" | "banned";
  /** From the chain (ValidatorSet.validator, ProofSettlement.rewardsOwed) at the end of the story. */
  stake: bigint;
  rewardsOwed: bigint;
  rewardsEarned: bigint;
  rewardsClaimed: bigint;
  attestations: number;
  slashes: number;
  slashedAmount: bigint;
}

export interface Expected {
  gateways: LocalAccount[];
  batches: ExpectedBatch[];
  /** The key proven equivocating (slashed and banned); the first gateway had a batch quorum-rejected. */
  equivocator: Address;
  validators: ExpectedValidator[];
  /** The challenge window at the end (governance lengthened it while a batch was attested). */
  challengeWindow: bigint;
  /** The chain's own `batch()` view of the batch left attested: its window end moved with the window. */
  attestedOnChain: { id: string; windowEnd: bigint; attestationId: bigint };
  lastBlock: bigint;
}

const calls = (model: Hex, n: number, inTok = 120, outTok = 340): Call[] =>
  Array.from({ length: n }, (_, i) => ({ modelId: model, inputTokens: inTok + i, outputTokens: outTok + 3 * i }));

const BPS = 10_000n;
const STATUS = ["none", "admitted", "active", "exiting", "banned"] as const;

/**
 * gw1: b0 finalized, b1 attested (window open), b2 quorum-rejected (bond penalty), b3 only submitted;
 * gw2: b0 finalized; gw3: b0 attested then proven equivocating (commit–reveal): rejected, bond slashed
 * and key banned, its two attesters lose 10 % of their stake and so fall below minStake (exiting).
 * v1 claims its rewards; v2 is proven to have signed an attest and a reject verdict for gw1's b2: banned.
 * Last, governance doubles the challenge window, which moves the end of gw1 b1's open window.
 */
export async function runScenario(p: Protocol): Promise<Expected> {
  const gw1 = p.gateway;
  const gw2 = await p.addGateway();
  const gw3 = await p.addGateway();
  const [v1, v2, v3] = p.validators as [LocalAccount, LocalAccount, LocalAccount];
  const g1b0 = await p.submit([...calls(MODELS.llama, 2), ...calls(MODELS.mistral, 1, 50, 60)]);
  const g1b1 = await p.submit(calls(MODELS.llama, 1, 7, 9));
  const g1b2 = await p.submit(calls(MODELS.qwen, 2, 1000, 2000));
  const g2b0 = await p.submit(calls(MODELS.mistral, 3, 300, 30), { gw: gw2 });
  const g3b0 = await p.submit(calls(MODELS.llama, 3, 40, 50), { gw: gw3 });
  const att1 = await p.attest([g1b0.header, g2b0.header], [v1, v2]);
  await p.reject([g1b2.header], [v1, v2]);
  await p.passChallengeWindow();
  await p.finalize([g1b0.header, g2b0.header]);
  const att2 = await p.attest([g1b1.header], [v2, v3]);
  await p.claimRewards(v1);
  const att3 = await p.attest([g3b0.header], [v1, v3]);
  await p.challengeEquivocation(g3b0.header, 1, 6);
  const g1b3 = await p.submit(calls(MODELS.qwen, 1, 5, 5));
  await p.slashContradiction(v2, g1b2.header, 7);
  const challengeWindow = BigInt(localDeployDefaults.challengeWindow * 2);
  await p.setChallengeWindow(Number(challengeWindow));
  const onChain = await p.batchOnChain(g1b1.header);
  assert.equal(onChain.status, 2, "g1b1 is Attested on chain");
  assert.equal(onChain.windowEnd, onChain.since + challengeWindow);

  // What each validator should show, from the story and checked against the chain's own views.
  const feesPaid = g1b0.header.fee + g2b0.header.fee;
  const perSigner = (feesPaid * BigInt(localDeployDefaults.validatorBps)) / BPS / 2n;
  const plan = [
    { v: v1, earned: perSigner, claimed: perSigner, attestations: 2, slashes: 1 },
    { v: v2, earned: perSigner, claimed: 0n, attestations: 2, slashes: 1 },
    { v: v3, earned: 0n, claimed: 0n, attestations: 2, slashes: 1 },
  ];
  const stake0 = localDeployDefaults.validatorStake!;
  const attesterSlash = (stake0 * BigInt(localDeployDefaults.attesterSlashBps)) / BPS;
  const validators: ExpectedValidator[] = [];
  for (const { v, earned, claimed, attestations, slashes } of plan) {
    const rec = await p.validatorRecord(v.address);
    const owed = await p.rewardsOwed(v.address);
    assert.equal(owed, earned - claimed, `chain rewardsOwed of ${v.address}`);
    validators.push({
      address: v.address,
      status: STATUS[rec.status] as ExpectedValidator["status"],
      stake: rec.stake,
      rewardsOwed: owed,
      rewardsEarned: earned,
      rewardsClaimed: claimed,
      attestations,
      slashes,
      slashedAmount: v === v2 ? stake0 : attesterSlash,
    });
  }
  assert.deepEqual(
    validators.map((v) => v.status),
    ["exiting", "banned", "exiting"],
    "validator statuses on chain",
  );

  return {
    gateways: [gw1, gw2, gw3],
    batches: [
      { header: g1b0.header, status: "finalized", submitTx: g1b0.tx, attestationId: att1.attestationId },
      { header: g1b1.header, status: "attested", submitTx: g1b1.tx, attestationId: att2.attestationId },
      { header: g1b2.header, status: "rejected", submitTx: g1b2.tx, equivocation: false },
      { header: g1b3.header, status: "submitted", submitTx: g1b3.tx },
      { header: g2b0.header, status: "finalized", submitTx: g2b0.tx, attestationId: att1.attestationId },
      {
        header: g3b0.header,
        status: "rejected",
        submitTx: g3b0.tx,
        attestationId: att3.attestationId,
        equivocation: true,
      },
    ],
    equivocator: gw3.address,
    validators,
    challengeWindow,
    attestedOnChain: { id: idOf(g1b1.header), windowEnd: onChain.windowEnd, attestationId: onChain.attestationId },
    lastBlock: await p.pub.getBlockNumber({ cacheTime: 0 }),
  };
}

export const idOf = (h: Header) => `${h.gateway.toLowerCase()}:${h.batchSeq}`;
const sumCalls = (h: Header) => h.usage.reduce((n, u) => n + u.calls, 0);

/** Totals the indexer must report for `e`. */
export function expectedTotals(e: Expected) {
  const live = e.batches.filter((b) => b.status !== "rejected");
  const finalized = e.batches.filter((b) => b.status === "finalized");
  const feesPaid = finalized.reduce((n, b) => n + b.header.fee, 0n);
  const perModel = new Map<Hex, { calls: number; inputTokens: bigint; outputTokens: bigint; fees: bigint }>();
  for (const b of live) {
    for (const u of b.header.usage) {
      const m = perModel.get(u.modelId) ?? { calls: 0, inputTokens: 0n, outputTokens: 0n, fees: 0n };
      m.calls += u.calls;
      m.inputTokens += u.inputTokens;
      m.outputTokens += u.outputTokens;
      m.fees += usageFee(u, localDeployDefaults.rate);
      perModel.set(u.modelId, m);
    }
  }
  const byStatus = (s: Status) => e.batches.filter((b) => b.status === s).length;
  const bond = localDeployDefaults.minBond;
  const quorumRejected = e.batches.filter((b) => b.status === "rejected" && !b.equivocation);
  return {
    batchesSubmitted: e.batches.length,
    batchesRejected: byStatus("rejected"),
    batchesFinalized: finalized.length,
    batchesAttested: e.batches.filter((b) => b.attestationId !== undefined).length,
    batchesByStatus: {
      submitted: byStatus("submitted"),
      attested: byStatus("attested"),
      finalized: byStatus("finalized"),
      rejected: byStatus("rejected"),
    },
    callsSettled: live.reduce((n, b) => n + sumCalls(b.header), 0),
    feesSubmitted: live.reduce((n, b) => n + b.header.fee, 0n),
    feesPaid,
    burned: (feesPaid * BigInt(localDeployDefaults.burnBps)) / 10_000n,
    // One finalize call in the story: its validator share, split equally among the two signers.
    toValidators: ((feesPaid * BigInt(localDeployDefaults.validatorBps)) / 10_000n / 2n) * 2n,
    // Each gateway was bonded minBond; one quorum rejection of gw1 took rejectedSlashBps of it.
    bondPenalty: (bond * BigInt(localDeployDefaults.rejectedSlashBps)) / 10_000n,
    bondPenalties: quorumRejected.length,
    slashed: bond,
    stakeSlashed: e.validators.reduce((n, v) => n + v.slashedAmount, 0n),
    perModel,
    perGateway: new Map(
      e.gateways.map((g) => {
        const mine = live.filter((b) => b.header.gateway === g.address);
        return [
          g.address.toLowerCase(),
          {
            batches: mine.length,
            calls: mine.reduce((n, b) => n + sumCalls(b.header), 0),
            fees: mine.reduce((n, b) => n + b.header.fee, 0n),
          },
        ];
      }),
    ),
  };
}

/** Checks statuses and rollups through the REST API. */
export async function checkRest(ponder: Ponder, e: Expected): Promise<void> {
  const t = expectedTotals(e);
  const stats = await ponder.getJson("/network/stats");
  assert.equal(stats.challengeWindow, e.challengeWindow.toString());
  const open = await ponder.getJson(`/batches/${e.attestedOnChain.id}`);
  assert.equal(
    open.windowEnd,
    e.attestedOnChain.windowEnd.toString(),
    "window end of the attested batch, as the chain has it",
  );
  assert.equal(open.attestationId, e.attestedOnChain.attestationId.toString());
  for (const b of e.batches) {
    const h = b.header;
    const got = await ponder.getJson(`/batches/${idOf(h)}`);
    assert.equal(got.status, b.status, `status of ${idOf(h)}`);
    assert.equal(got.final, b.status === "finalized", `final of ${idOf(h)}`);
    assert.equal(got.fee, h.fee.toString());
    assert.equal(got.root, h.root);
    assert.equal(got.submitTx, b.submitTx);
    // The challenge window starts at attestation.
    if (b.attestationId !== undefined) {
      assert.equal(got.attestationId, b.attestationId.toString(), `attestationId of ${idOf(h)}`);
      assert.ok(got.attestedAt && got.attestTx && got.verdictDigest);
      // The window runs from attestation; a still-open one moved with the governance change.
      const window = b.status === "attested" ? e.challengeWindow : BigInt(localDeployDefaults.challengeWindow);
      assert.equal(BigInt(got.windowEnd), BigInt(got.attestedAt) + window, `windowEnd of ${idOf(h)}`);
    } else {
      assert.equal(got.attestationId, null);
      assert.equal(got.windowEnd, null);
      assert.equal(got.attestedAt, null);
    }
    if (b.status === "rejected") assert.equal(got.equivocation, b.equivocation);
    // Every callSeq of the batch resolves to it; the range lookup hits both ends.
    for (const s of [h.firstCallSeq, h.firstCallSeq + BigInt(h.count) - 1n]) {
      const call = await ponder.getJson(`/calls/${h.gateway}/${s}`);
      assert.equal(call.status, b.status, `call ${h.gateway}/${s}`);
      assert.equal(call.final, b.status === "finalized", `final of call ${h.gateway}/${s}`);
      assert.equal(call.batch.id, idOf(h));
      assert.equal(call.batch.attestationId, b.attestationId?.toString() ?? null);
      assert.equal(call.times.windowEnd, got.windowEnd);
      assert.equal(call.txs.submit, b.submitTx);
      if (b.status === "finalized") assert.ok(call.txs.finalize && call.txs.attest && call.times.finalizedAt);
      if (b.status === "attested") assert.ok(call.txs.attest && !call.txs.finalize && call.times.attestedAt);
      if (b.status === "submitted") assert.ok(!call.txs.attest && !call.times.attestedAt);
    }
  }
  for (const g of e.gateways) {
    const last = e.batches
      .filter((b) => b.header.gateway === g.address)
      .map((b) => b.header)
      .sort((a, b) => Number(a.batchSeq - b.batchSeq))
      .at(-1)!;
    const next = last.firstCallSeq + BigInt(last.count);
    const pending = await ponder.getJson(`/calls/${g.address}/${next}`);
    assert.equal(pending.status, "pending");
    assert.equal(pending.final, false);
  }

  assert.equal(stats.batchesSubmitted, t.batchesSubmitted);
  assert.equal(stats.batchesRejected, t.batchesRejected);
  assert.equal(stats.batchesFinalized, t.batchesFinalized);
  assert.equal(stats.batchesAttested, t.batchesAttested);
  assert.equal(stats.callsSettled, String(t.callsSettled));
  assert.equal(stats.feesSubmitted, t.feesSubmitted.toString());
  assert.equal(stats.feesPaid, t.feesPaid.toString());
  assert.equal(stats.burned, t.burned.toString());
  assert.equal(stats.toValidators, t.toValidators.toString());
  assert.equal(stats.slashed, t.slashed.toString());
  assert.equal(stats.bondPenalized, (t.bondPenalty * BigInt(t.bondPenalties)).toString());
  assert.equal(stats.stakeSlashed, t.stakeSlashed.toString());
  assert.equal(stats.rewardsClaimed, e.validators.reduce((n, v) => n + v.rewardsClaimed, 0n).toString());
  assert.deepEqual(stats.batchesByStatus, t.batchesByStatus);
  assert.equal(stats.activeValidators, e.validators.filter((v) => v.status === "active").length);
  assert.equal(stats.validatorStake, e.validators.reduce((n, v) => n + v.stake, 0n).toString());
  assert.equal(stats.proofLatency.samples, t.batchesAttested);
  assert.ok(stats.proofLatency.p95Ms >= stats.proofLatency.p50Ms && stats.proofLatency.avgMs > 0);

  const from = "0";
  for (const granularity of ["hour", "day"]) {
    const models = await ponder.getJson(`/models/usage?granularity=${granularity}&from=${from}`);
    for (const [modelId, m] of t.perModel) {
      const rows = models.items.filter((r: { modelId: string }) => r.modelId === modelId);
      assert.equal(
        rows.reduce((n: number, r: { calls: string }) => n + Number(r.calls), 0),
        m.calls,
        `${granularity} calls of ${modelId}`,
      );
      assert.equal(
        rows.reduce((n: bigint, r: { fees: string }) => n + BigInt(r.fees), 0n),
        m.fees,
        `${granularity} fees of ${modelId}`,
      );
      assert.equal(
        rows.reduce((n: bigint, r: { inputTokens: string }) => n + BigInt(r.inputTokens), 0n),
        m.inputTokens,
      );
    }
    for (const [gw, g] of t.perGateway) {
      const u = await ponder.getJson(`/gateways/${gw}/usage?granularity=${granularity}&from=${from}`);
      assert.equal(
        u.buckets.reduce((n: number, r: { calls: string }) => n + Number(r.calls), 0),
        g.calls,
        `${granularity} calls of ${gw}`,
      );
      assert.equal(
        u.buckets.reduce((n: number, r: { batches: number }) => n + r.batches, 0),
        g.batches,
      );
      assert.equal(
        u.buckets.reduce((n: bigint, r: { fees: string }) => n + BigInt(r.fees), 0n),
        g.fees,
      );
    }
    const act = await ponder.getJson(`/network/activity?granularity=${granularity}&from=${from}`);
    assert.equal(
      act.items.reduce((n: number, r: { calls: string }) => n + Number(r.calls), 0),
      t.callsSettled,
    );
    assert.equal(
      act.items.reduce((n: number, r: { finalized: number }) => n + r.finalized, 0),
      t.batchesFinalized,
    );
    assert.equal(
      act.items.reduce((n: number, r: { attested: number }) => n + r.attested, 0),
      t.batchesAttested,
    );
    assert.equal(
      act.items.reduce((n: number, r: { rejected: number }) => n + r.rejected, 0),
      t.batchesRejected,
    );
  }

  // Gateways: bond penalties of a quorum rejection; the equivocating key slashed and banned.
  const gws = await ponder.getJson("/gateways");
  assert.equal(gws.items.length, e.gateways.length);
  const [gw1] = e.gateways;
  for (const g of gws.items) {
    const want = t.perGateway.get(g.address)!;
    const equivocator = g.address === e.equivocator.toLowerCase();
    const penalized = g.address === gw1!.address.toLowerCase();
    assert.equal(g.status, equivocator ? "slashed" : "active", `status of gateway ${g.address}`);
    assert.equal(g.banned, equivocator);
    assert.equal(g.slashed, equivocator ? t.slashed.toString() : "0");
    assert.equal(g.bondPenalties, penalized ? t.bondPenalties : 0);
    assert.equal(g.bondPenalized, penalized ? t.bondPenalty.toString() : "0");
    const bond = equivocator ? 0n : localDeployDefaults.minBond - (penalized ? t.bondPenalty : 0n);
    assert.equal(g.bond, bond.toString(), `bond of ${g.address}`);
    assert.equal(Number(g.calls), want.calls);
    assert.equal(BigInt(g.fees), want.fees);
  }
  assert.deepEqual(
    (await ponder.getJson("/gateways?status=slashed")).items.map((g: { address: string }) => g.address),
    [e.equivocator.toLowerCase()],
  );

  await checkValidators(ponder, e);

  // Pagination: one batch per page walks all of them, newest first, without repeats.
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; nextCursor: string | null } = await ponder.getJson(
      `/batches?limit=1${cursor ? `&cursor=${cursor}` : ""}`,
    );
    seen.push(...page.items.map((b) => b.id));
    cursor = page.nextCursor;
  } while (cursor);
  assert.deepEqual([...seen].sort(), e.batches.map((b) => idOf(b.header)).sort());
  const rejected = await ponder.getJson(`/batches?status=rejected&gateway=${e.gateways[0]!.address}`);
  assert.deepEqual(
    rejected.items.map((b: { id: string }) => b.id),
    [idOf(e.batches[2]!.header)],
  );
  for (const status of ["submitted", "attested", "finalized", "rejected"] as const) {
    const page = await ponder.getJson(`/batches?status=${status}`);
    assert.deepEqual(
      page.items.map((b: { id: string }) => b.id).sort(),
      e.batches
        .filter((b) => b.status === status)
        .map((b) => idOf(b.header))
        .sort(),
      `batches ${status}`,
    );
    assert.ok(page.items.every((b: { final: boolean }) => b.final === (status === "finalized")));
  }
}

/** The validator table: status, stake, attestations signed, rewards earned / claimed / owed, slashes. */
export async function checkValidators(ponder: Ponder, e: Expected): Promise<void> {
  const vals = await ponder.getJson("/validators");
  assert.equal(vals.items.length, e.validators.length);
  const byAddress = new Map(vals.items.map((v: { address: string }) => [v.address, v]));
  for (const want of e.validators) {
    const got = byAddress.get(want.address.toLowerCase()) as Record<string, unknown>;
    assert.ok(got, `validator ${want.address}`);
    assert.equal(got.status, want.status, `status of ${want.address}`);
    assert.equal(got.stake, want.stake.toString(), `stake of ${want.address}`);
    assert.equal(got.attestations, want.attestations, `attestations of ${want.address}`);
    assert.equal(got.rewardsEarned, want.rewardsEarned.toString(), `rewards earned by ${want.address}`);
    assert.equal(got.rewardsClaimed, want.rewardsClaimed.toString(), `rewards claimed by ${want.address}`);
    assert.equal(got.rewardsOwed, want.rewardsOwed.toString(), `rewards owed to ${want.address}`);
    assert.equal(got.slashes, want.slashes);
    assert.equal(got.slashedAmount, want.slashedAmount.toString(), `slashed from ${want.address}`);
    assert.equal(got.banned, want.status === "banned");
    assert.ok(got.admittedAt && got.joinedAt, "admitted and joined times");
    if (want.status === "exiting")
      assert.ok(
        got.exitingAt &&
          BigInt(got.unlockAt as string) === BigInt(got.exitingAt as string) + BigInt(localDeployDefaults.exitDelay),
      );
    if (want.status === "banned") assert.ok(got.bannedAt);
  }
  assert.equal(vals.quorum.configured, "2");
  assert.equal(vals.quorum.active, String(e.validators.filter((v) => v.status === "active").length));
  assert.equal(vals.nextCursor, null);
  // Filters and pagination, with zod-checked parameters like every route.
  const exiting = await ponder.getJson("/validators?status=exiting");
  assert.deepEqual(
    exiting.items.map((v: { address: string }) => v.address),
    e.validators
      .filter((v) => v.status === "exiting")
      .map((v) => v.address.toLowerCase())
      .sort(),
  );
  const page = await ponder.getJson("/validators?limit=1");
  assert.equal(page.items.length, 1);
  assert.equal(page.nextCursor, page.items[0].address);
  const one = await ponder.getJson(`/validators/${e.validators[1]!.address}`);
  assert.equal(one.status, e.validators[1]!.status);
  for (const bad of [
    "/validators?status=retired",
    "/validators?limit=0",
    "/validators?cursor=0x12",
    "/validators/0x12",
    "/validators?foo=1",
  ]) {
    const res = await ponder.get(bad);
    assert.equal(res.status, 400, bad);
    assert.equal((await res.json()).error, "invalid_parameter");
  }
  assert.equal((await ponder.get(`/validators/0x${"ab".repeat(20)}`)).status, 404);
}

/** Same facts through Ponder's GraphQL. */
export async function checkGraphql(ponder: Ponder, e: Expected): Promise<void> {
  const t = expectedTotals(e);
  const res = await fetch(`${ponder.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: `{ batchs(limit: 100, orderBy: "id") { items { id status fee calls attestationId windowEnd attestation { signers } } }
                networks { items { callsSettled feesPaid batchesRejected stakeSlashed bondPenalized } }
                validators(limit: 100) { items { address status stake attestations rewardsEarned rewardsClaimed slashedAmount banned } }
                attestations(limit: 100, orderBy: "id") { items { id signers batchCount feesDistributed batches { items { id } } } }
                usageRollups(where: { period: "day" }, limit: 100) { items { modelId calls } }
                gateways(limit: 100) { items { address batches rejectedBatches batchList(limit: 100) { items { id status } } } } }`,
    }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const byId = new Map(body.data.batchs.items.map((b: { id: string }) => [b.id, b]));
  for (const b of e.batches) {
    const got = byId.get(idOf(b.header)) as {
      status: string;
      fee: string;
      attestationId: string | null;
      windowEnd: string | null;
      attestation: { signers: string[] } | null;
    };
    assert.equal(got.status, b.status);
    assert.equal(BigInt(got.fee), b.header.fee);
    assert.equal(got.attestationId, b.attestationId?.toString() ?? null);
    assert.equal(got.windowEnd === null, b.attestationId === undefined);
    if (b.attestationId !== undefined) assert.equal(got.attestation!.signers.length, 2);
  }
  const [net] = body.data.networks.items;
  assert.equal(BigInt(net.callsSettled), BigInt(t.callsSettled));
  assert.equal(BigInt(net.feesPaid), t.feesPaid);
  assert.equal(net.batchesRejected, t.batchesRejected);
  assert.equal(BigInt(net.stakeSlashed), t.stakeSlashed);
  assert.equal(BigInt(net.bondPenalized), t.bondPenalty);
  const vals = new Map(body.data.validators.items.map((v: { address: string }) => [v.address, v]));
  for (const want of e.validators) {
    const got = vals.get(want.address.toLowerCase()) as {
      status: string;
      stake: string;
      attestations: number;
      rewardsEarned: string;
      banned: boolean;
    };
    assert.equal(got.status, want.status);
    assert.equal(BigInt(got.stake), want.stake);
    assert.equal(got.attestations, want.attestations);
    assert.equal(BigInt(got.rewardsEarned), want.rewardsEarned);
    assert.equal(got.banned, want.status === "banned");
  }
  const atts = body.data.attestations.items as {
    id: string;
    signers: string[];
    batchCount: number;
    feesDistributed: string;
    batches: { items: { id: string }[] };
  }[];
  assert.equal(
    atts.length,
    new Set(e.batches.flatMap((b) => (b.attestationId === undefined ? [] : [b.attestationId]))).size,
  );
  assert.equal(
    atts.reduce((n, a) => n + BigInt(a.feesDistributed), 0n),
    t.feesPaid,
  );
  assert.equal(
    atts.reduce((n, a) => n + a.batchCount, 0),
    t.batchesAttested,
  );
  for (const a of atts) assert.equal(a.batches.items.length, a.batchCount);
  const dayCalls = body.data.usageRollups.items.reduce((n: bigint, r: { calls: string }) => n + BigInt(r.calls), 0n);
  assert.equal(dayCalls, BigInt(t.callsSettled));
  // A gateway's count of settled batches and the list of all its batches, side by side.
  const gws = body.data.gateways.items as {
    address: string;
    batches: number;
    rejectedBatches: number;
    batchList: { items: { id: string; status: string }[] };
  }[];
  const withBatches = gws.filter((g) => g.batchList.items.length > 0);
  assert.ok(withBatches.length > 0);
  for (const g of withBatches) {
    const mine = e.batches.filter((b) => b.header.gateway.toLowerCase() === g.address);
    assert.equal(g.batchList.items.length, mine.length, `batchList of ${g.address}`);
    const rejected = mine.filter((b) => b.status === "rejected").length;
    assert.equal(g.rejectedBatches, rejected);
    assert.equal(g.batches, mine.length - rejected, `the count of ${g.address}'s settled batches`);
  }
}

/** Runs a read-only query through Ponder's SQL-over-HTTP endpoint (the @ponder/client protocol). */
export async function sqlOverHttp<T = Record<string, unknown>>(
  ponder: Ponder,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const q = encodeURIComponent(JSON.stringify({ json: { sql, params } }));
  const res = await ponder.get(`/sql/db?sql=${q}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return (JSON.parse(text) as { rows: T[] }).rows;
}

export async function checkSql(ponder: Ponder, e: Expected): Promise<void> {
  const t = expectedTotals(e);
  const rows = await sqlOverHttp<{ id: string; status: string }>(ponder, "select id, status from batch order by id");
  assert.deepEqual(
    rows.map((r) => [r.id, r.status]),
    e.batches.map((b) => [idOf(b.header), b.status]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
  );
  const [sum] = await sqlOverHttp<{ calls: string }>(
    ponder,
    "select sum(calls)::text as calls from usage_rollup where period = $1",
    ["hour"],
  );
  assert.equal(sum!.calls, String(t.callsSettled));
  // The SQL endpoint is read-only.
  const res = await ponder.get(
    `/sql/db?sql=${encodeURIComponent(JSON.stringify({ json: { sql: "delete from batch", params: [] } }))}`,
  );
  assert.notEqual(res.status, 200);
  assert.equal((await sqlOverHttp(ponder, "select id from batch")).length, e.batches.length);
}
