/**
 * proofpath on a dev chain, deployed and wired: the contracts (tools/deploy.ts, local defaults), a
 * validator quorum, and one enclave key registered, approved and funded (gateway/registration.ts).
 * The one fixture behind `npm start`, the tests and the benchmarks.
 */
import type { Address, Hex, LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Deployment } from "../sdk/deployment.js";
import { registerEnclave } from "../gateway/registration.js";
import { deployProofpath, localDeployDefaults, type DeployParams } from "./deploy.js";
import { devClients, devPrivateKey, type DevChain } from "./devchain.js";

export interface DevNetOptions {
  /** Validator keys admitted at launch. Default: three fresh keys. */
  validatorKeys?: Hex[];
  /** Default 2 (1 when there is one validator). */
  quorum?: number;
  /** The enclave's key. Default: a fresh key. */
  enclaveKey?: Hex;
  /** Register, approve and fund the enclave key (default); false: deploy only. */
  register?: boolean;
  /** The enclave's OHTTP key-config hash, recorded in its registry entry. */
  keyConfigHash?: Hex;
  /** Dev account that relays the gateway's batches. Default 1. */
  relayerIndex?: number;
  /** Native balance to give each validator, so it can send its own transactions. Default: none. */
  validatorGas?: bigint;
  /** Any other deploy parameter (challengeWindow, …) over `localDeployDefaults`. */
  params?: Partial<Omit<DeployParams, "validators" | "quorum">>;
}

export interface DevNet {
  deployment: Deployment;
  settlement: Address;
  validatorKeys: Hex[];
  validators: LocalAccount[];
  enclaveKey: Hex;
  enclave: LocalAccount;
  /** Funded dev account that relays this gateway's batches. */
  relayerKey: Hex;
}

/** Deploys proofpath on `dev` (dev account 0 deploys and owns it) and wires one enclave key. */
export async function deployDevNet(dev: DevChain, o: DevNetOptions = {}): Promise<DevNet> {
  const { walletClient: owner } = devClients(dev, 0);
  const validatorKeys = o.validatorKeys ?? [0, 1, 2].map(() => generatePrivateKey());
  const validators = validatorKeys.map((k) => privateKeyToAccount(k));
  const deployment = await deployProofpath(owner, dev.client, {
    ...localDeployDefaults,
    ...o.params,
    validators: validators.map((v) => v.address),
    quorum: o.quorum ?? Math.min(2, validators.length),
  });
  if (o.validatorGas !== undefined)
    for (const v of validators) await dev.test.setBalance({ address: v.address, value: o.validatorGas });
  const enclaveKey = o.enclaveKey ?? generatePrivateKey();
  const enclave = privateKeyToAccount(enclaveKey);
  if (o.register ?? true)
    await registerEnclave(dev.client, {
      deployment,
      owner,
      enclave,
      validators,
      ...(o.keyConfigHash ? { keyConfigHash: o.keyConfigHash } : {}),
    });
  return {
    deployment,
    settlement: deployment.contracts.ProofSettlement,
    validatorKeys,
    validators,
    enclaveKey,
    enclave,
    relayerKey: devPrivateKey(o.relayerIndex ?? 1),
  };
}

/** Registers, approves (by the net's validators) and funds one more enclave key: a second gateway. */
export async function addDevEnclave(dev: DevChain, net: Pick<DevNet, "deployment" | "validators">) {
  const enclave = privateKeyToAccount(generatePrivateKey());
  await registerEnclave(dev.client, {
    deployment: net.deployment,
    owner: devClients(dev, 0).walletClient,
    enclave,
    validators: net.validators,
  });
  return enclave;
}
