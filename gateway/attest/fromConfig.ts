/**
 * The heartbeat a gateway process starts next to its hook from its `heartbeat` config fields
 * (gateway/config.ts): the hook's chain, settlement and enclave key; the operator's key, nitriding's
 * URL and the validators from the config.
 */
import { createWalletClient, defineChain, type Address, type Hex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { z } from "zod";
import type { Logger } from "pino";
import { proofSettlementAbi } from "../../sdk/abis.js";
import type { Deployment } from "../../sdk/deployment.js";
import { makePublicClient, rpcTransport } from "../chain.js";
import type { heartbeatConfigSchema } from "../config.js";
import type { SettlementHook } from "../hook.js";
import { AttestationHeartbeat } from "./heartbeat.js";
import { nitridingAttestationSource } from "./source.js";

export type HeartbeatConfig = z.output<typeof heartbeatConfigSchema>;

/** Starts the heartbeat for `hook`'s enclave key; stop it before closing the hook. */
export async function startHeartbeat(
  c: HeartbeatConfig,
  o: { hook: SettlementHook; rpcUrls: readonly string[]; enclaveKey: Hex | LocalAccount; log: Logger },
): Promise<AttestationHeartbeat> {
  const pub = makePublicClient(o.rpcUrls);
  const registry = (await pub.readContract({
    address: o.hook.settlement,
    abi: proofSettlementAbi,
    functionName: "REGISTRY",
  })) as Address;
  const operator = createWalletClient({
    transport: rpcTransport(o.rpcUrls),
    account: privateKeyToAccount(c.operatorKey as Hex),
    chain: defineChain({
      id: o.hook.chainId,
      name: "proofpath",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [...o.rpcUrls] } },
    }),
  });
  const enclave = typeof o.enclaveKey === "string" ? privateKeyToAccount(o.enclaveKey) : o.enclaveKey;
  return new AttestationHeartbeat({
    pub,
    // Only the registry is used by the heartbeat's calls.
    deployment: { contracts: { GatewayRegistry: registry } as Deployment["contracts"] },
    operator,
    enclave: o.hook.gateway,
    ...(enclave.publicKey ? { publicKey: enclave.publicKey } : {}),
    source: nitridingAttestationSource(c.attestationUrl),
    validators: c.validators,
    quorum: c.quorum,
    marginSec: c.marginSec,
    checkEveryMs: c.checkEveryMs,
    retryMs: c.retryMs,
    log: o.log.child({ part: "heartbeat" }),
  }).start();
}
