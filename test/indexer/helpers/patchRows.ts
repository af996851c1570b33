/**
 * Rows the Ponder patch tests write through the store (ponderPatchBehaviour.test.ts) and through its
 * normalisation in a fresh process (rowMode.ts): one batch row per index, with the values a
 * normalisation and a COPY must handle (mixed-case hex, a bigint past 2^64, COPY's escapes, null and
 * undefined columns).
 */
export const HEX = `0x${"ab".repeat(20)}`;
export const usage = [
  { modelId: `0x${"cd".repeat(32)}`, calls: 3, inputTokens: "500", outputTokens: "900", fee: "12" },
];
export const batchRow = (i: number) => ({
  id: `${HEX}:${i}`,
  gateway: HEX.toUpperCase().replace("0X", "0x"), // mixed case: normalisation lower-cases it
  batchSeq: BigInt(i),
  firstCallSeq: BigInt(i * 8),
  count: 8,
  root: `0x${"11".repeat(32)}`,
  fee: 10n ** 30n + BigInt(i),
  headerHash: `0x${"22".repeat(32)}`,
  usage,
  calls: 8,
  inputTokens: 500n,
  outputTokens: 900n,
  firstServedAt: 1_700_000_000_000n,
  lastServedAt: 1_700_000_000_999n,
  daURI: i % 2 ? "https://da.example/a\tb\\c\nd" : "", // COPY's escapes
  status: "submitted",
  submitTx: `0x${"33".repeat(32)}`,
  submitBlock: 12n,
  submittedAt: 1_700_000_000n,
  attestTx: null,
  equivocation: i % 3 === 0 ? false : undefined,
  receiptsIndexed: i % 2 === 0,
});
