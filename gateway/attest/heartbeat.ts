/**
 * The attestation heartbeat: an approval keeps an enclave key active for the registry's
 * `heartbeatInterval`, so before `activeUntil` comes near the gateway fetches a fresh attestation
 * document (its key and OHTTP key config bound in it), commits the registry to it (`reattest`, by
 * the operator) and gathers a validator quorum's approvals (`approveEnclave`) — by itself, with no
 * operator at the console. A failed round is logged, counted and retried after `retryMs`; the key
 * simply stays active until `activeUntil` meanwhile, and `/health` warns ahead (hook `warnActiveUntilSec`).
 */
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import type { Logger } from "pino";
import { gatewayRegistryAbi } from "../../sdk/abis.js";
import type { Deployment } from "../../sdk/deployment.js";
import { approveEnclaveByValidators, reattestEnclave } from "../registration.js";
import { attestationNonce, type AttestationSource } from "./source.js";

export interface HeartbeatOptions {
  pub: PublicClient;
  deployment: Pick<Deployment, "contracts">;
  /** The enclave key's operator (`reattest` is operator-only); it also sends `approveEnclave`. */
  operator: WalletClient<Transport, Chain | undefined, Account>;
  enclave: Address;
  /** The enclave's 65-byte public key, when its documents bind it by nitriding `user_data`. */
  publicKey?: Hex;
  source: AttestationSource;
  /** Validators' HTTP base URLs and the quorum to gather. */
  validators: readonly string[];
  quorum: number;
  /** Re-attest once `activeUntil` is less than this many seconds away (chain time). Default 3,600. */
  marginSec?: number;
  /** How often to look at `activeUntil`. Default 60 s. */
  checkEveryMs?: number;
  /** Wait after a failed round. Default 30 s. */
  retryMs?: number;
  log?: Logger;
}

export interface HeartbeatStatus {
  /** Rounds that ended with the key approved again. */
  renewals: number;
  /** Rounds that failed (document, reattest or approvals); the last error's message. */
  failures: number;
  lastError?: string;
  /** The key's activeUntil as last read (unix seconds, chain time). */
  activeUntil?: number;
}

export class AttestationHeartbeat {
  readonly status: HeartbeatStatus = { renewals: 0, failures: 0 };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: HeartbeatOptions) {}

  /** Starts checking now and every `checkEveryMs`. */
  start(): this {
    this.stopped = false;
    this.schedule(0);
    return this;
  }

  /** Stops; waits for a round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One check: renews when `activeUntil` is within the margin; true when it renewed. Throws on failure. */
  async beat(): Promise<boolean> {
    const { pub, deployment, enclave } = this.o;
    const [e, block] = await Promise.all([
      pub.readContract({
        address: deployment.contracts.GatewayRegistry,
        abi: gatewayRegistryAbi,
        functionName: "enclave",
        args: [enclave],
      }) as Promise<{ activeUntil: bigint }>,
      pub.getBlock({ blockTag: "latest" }),
    ]);
    this.status.activeUntil = Number(e.activeUntil);
    if (e.activeUntil - block.timestamp >= BigInt(this.o.marginSec ?? 3_600)) return false;
    const document = await this.o.source.fetch(attestationNonce());
    await reattestEnclave(pub, { deployment, operator: this.o.operator, enclave, document });
    await approveEnclaveByValidators(pub, {
      deployment,
      sender: this.o.operator,
      enclave,
      document,
      validators: this.o.validators,
      quorum: this.o.quorum,
      ...(this.o.publicKey === undefined ? {} : { publicKey: this.o.publicKey }),
    });
    this.status.renewals++;
    this.o.log?.info({ enclave, renewals: this.status.renewals }, "enclave key re-attested and approved");
    return true;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.beat().then(
        () => this.schedule(this.o.checkEveryMs ?? 60_000),
        (err: unknown) => {
          this.status.failures++;
          this.status.lastError = (err as Error).message.split("\n")[0];
          this.o.log?.warn(
            { err: this.status.lastError },
            "attestation heartbeat failed; the key stays active until activeUntil",
          );
          this.schedule(this.o.retryMs ?? 30_000);
        },
      );
    }, ms);
    this.timer.unref();
  }
}
