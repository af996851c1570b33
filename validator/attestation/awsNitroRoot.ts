import { readFileSync } from "node:fs";
import type { Hex } from "viem";

/**
 * The AWS Nitro Enclaves root certificate (CN=aws.nitro-enclaves, valid 2019-10-28 … 2049-10-28),
 * as published by AWS. `verifyAttestation` trusts only what it is given; pass this for real enclaves.
 */
export const AWS_NITRO_ROOT_PEM: string = readFileSync(new URL("./aws-nitro-root.pem", import.meta.url), "utf8");

/** SHA-256 fingerprint of the DER of {@link AWS_NITRO_ROOT_PEM} (64:1A:03:21:…:BB:5B), as AWS publishes it. */
export const AWS_NITRO_ROOT_SHA256: Hex = "0x641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";
