import { concat, keccak256, type Hex } from "viem";
import { bytesParameter } from "./bytes.js";
import { PCR_LENGTH } from "./document.js";
import { AttestationInvalidParameterError, AttestationUnknownMeasurementError } from "./errors.js";

type PcrValue = Hex | Uint8Array;

/** PCR0..2 as a map or record keyed by index, or as the array `[pcr0, pcr1, pcr2]`. */
export type MeasurementPcrs =
  | ReadonlyMap<number, PcrValue>
  | Readonly<Record<number, PcrValue>>
  | readonly [PcrValue, PcrValue, PcrValue, ...PcrValue[]];

function pcrAt(pcrs: MeasurementPcrs, index: number): PcrValue | undefined {
  return pcrs instanceof Map ? pcrs.get(index) : (pcrs as Readonly<Record<number, PcrValue>>)[index];
}

/**
 * The enclave measurement registered on-chain in `GatewayRegistry`:
 * `keccak256(pcr0 ‖ pcr1 ‖ pcr2)` over the three 48-byte SHA-384 PCR values, as bytes32 hex.
 *
 * @example
 * measurementOf(result.pcrs) // "0x5c1f…"
 * @throws {AttestationInvalidParameterError} a PCR is missing or not 48 bytes.
 */
export function measurementOf(pcrs: MeasurementPcrs): Hex {
  const parts = [0, 1, 2].map((index) => {
    const value = pcrAt(pcrs, index);
    if (value === undefined) {
      throw new AttestationInvalidParameterError({ parameter: `pcrs[${index}]`, reason: "missing" });
    }
    const bytes = bytesParameter(value, `pcrs[${index}]`);
    if (bytes.length !== PCR_LENGTH) {
      throw new AttestationInvalidParameterError({
        parameter: `pcrs[${index}]`,
        reason: `expected ${PCR_LENGTH} bytes, got ${bytes.length}`,
      });
    }
    return bytes;
  });
  return keccak256(concat(parts));
}

/**
 * Normalises an allowlist of measurements (bytes32 hex, any case) to a set of lower-case hex.
 *
 * @throws {AttestationInvalidParameterError} an entry is not bytes32 hex.
 */
export function normalizeMeasurements(allowed: Iterable<string>): Set<Hex> {
  const out = new Set<Hex>();
  for (const m of allowed) {
    if (typeof m !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(m)) {
      throw new AttestationInvalidParameterError({
        parameter: "allowedMeasurements",
        reason: `${JSON.stringify(m)} is not a bytes32 hex measurement`,
      });
    }
    out.add(m.toLowerCase() as Hex);
  }
  return out;
}

/**
 * Whether PCR0..2 are all zero: what the NSM reports for an enclave started in debug mode,
 * whose memory the parent instance can read. Such a measurement is never a real enclave image.
 */
export function isDebugModeMeasurement(pcrs: ReadonlyMap<number, Uint8Array>): boolean {
  return [0, 1, 2].every((i) => pcrs.get(i)?.every((b) => b === 0) ?? false);
}

/**
 * Checks PCR0..2 against the allowlist.
 *
 * @throws {AttestationUnknownMeasurementError} debug-mode PCRs (unless allowed), or a measurement
 *   not on the list.
 */
export function checkMeasurement({
  pcrs,
  measurement,
  allowed,
  allowDebugMode,
}: {
  pcrs: ReadonlyMap<number, Uint8Array>;
  measurement: Hex;
  allowed: ReadonlySet<Hex> | undefined;
  allowDebugMode: boolean;
}): void {
  if (!allowDebugMode && isDebugModeMeasurement(pcrs)) {
    throw new AttestationUnknownMeasurementError({
      measurement,
      reason: "PCR0..2 are all zero: the enclave runs in debug mode",
    });
  }
  if (allowed !== undefined && !allowed.has(measurement)) {
    throw new AttestationUnknownMeasurementError({
      measurement,
      reason: allowed.size === 0 ? "the allowlist is empty" : `not among the ${allowed.size} allowed measurements`,
    });
  }
}
