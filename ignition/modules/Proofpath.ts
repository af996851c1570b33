/**
 * The Hardhat Ignition module for a production deployment of proofpath: a Timelock (OpenZeppelin
 * TimelockController) that owns ValidatorSet, GatewayRegistry and ProofSettlement from their
 * constructors, and an OPGToken only when no existing token is given. `npm run deploy`
 * (scripts/deploy.ts) checks the parameters and runs it; Ignition journals every transaction in
 * ignition/deployments/<id>/, so a deployment killed midway resumes where it stopped.
 *
 * Wiring without set-once setters: the registry and the validator set are constructed with the
 * settlement's address, predicted from the deployer's nonce (the `settlement` parameter, which
 * tools/deployIgnition.ts computes, or reads back from the journal on a resume). The transactions run strictly one
 * after another (`after`), so the settlement takes a known nonce; its constructor still checks that
 * both point at it, so a wrong prediction reverts instead of wiring the wrong contracts.
 */
import { buildModule } from "@nomicfoundation/ignition-core";

export const MODULE_ID = "Proofpath";

/** The futures in transaction order, for the settlement's nonce: it is the last of these. */
export function deploymentOrder(deployToken: boolean): string[] {
  return [...(deployToken ? ["OPGToken"] : []), "Timelock", "ValidatorSet", "GatewayRegistry", "ProofSettlement"];
}

/**
 * The module. `deployToken` chooses between deploying an OPGToken (test chains) and the `token`
 * parameter (an existing OPG); `treasuryIsTimelock` between the Timelock and the `treasury` parameter.
 * Both change the futures or their arguments, so they are fixed for a deployment id.
 */
export function proofpathModule({
  deployToken,
  treasuryIsTimelock,
}: {
  deployToken: boolean;
  treasuryIsTimelock: boolean;
}) {
  return buildModule(MODULE_ID, (m) => {
    const deployer = m.getAccount(0);
    const settlementAddress = m.getParameter<string>("settlement");
    const token = deployToken
      ? m.contract("OPGToken", [deployer, m.getParameter<bigint>("initialSupply")])
      : m.contractAt("OPGToken", m.getParameter<string>("token"), { id: "ExistingOPGToken" });
    const timelock = m.contract(
      "Timelock",
      [m.getParameter<bigint>("timelockDelay"), [m.getParameter<string>("proposer")], [ZERO], ZERO],
      { after: deployToken ? [token] : [] },
    );
    const validatorSet = m.contract(
      "ValidatorSet",
      [
        token,
        settlementAddress,
        timelock,
        m.getParameter<string[]>("validators"),
        m.getParameter<bigint>("quorum"),
        m.getParameter<bigint>("minStake"),
        m.getParameter<bigint>("exitDelay"),
        m.getParameter<number>("proverRewardBps"),
      ],
      { after: [timelock] },
    );
    const registry = m.contract(
      "GatewayRegistry",
      [
        token,
        validatorSet,
        settlementAddress,
        timelock,
        {
          minBond: m.getParameter<bigint>("minBond"),
          heartbeatInterval: m.getParameter<bigint>("heartbeat"),
          bondWithdrawDelay: m.getParameter<bigint>("bondWithdrawDelay"),
          challengerRewardBps: m.getParameter<number>("challengerRewardBps"),
          rejectedSlashBps: m.getParameter<number>("rejectedSlashBps"),
        },
      ],
      { after: [validatorSet] },
    );
    const settlement = m.contract(
      "ProofSettlement",
      [
        token,
        registry,
        validatorSet,
        {
          owner: timelock,
          treasury: treasuryIsTimelock ? timelock : m.getParameter<string>("treasury"),
          rate: {
            perCall: m.getParameter<bigint>("feePerCall"),
            perKiloInputToken: m.getParameter<bigint>("feePerKiloInput"),
            perKiloOutputToken: m.getParameter<bigint>("feePerKiloOutput"),
          },
          maxBatchSize: m.getParameter<number>("maxBatchSize"),
          challengeWindow: m.getParameter<number>("challengeWindow"),
          withdrawDelay: m.getParameter<number>("withdrawDelay"),
          validatorBps: m.getParameter<number>("validatorBps"),
          treasuryBps: m.getParameter<number>("treasuryBps"),
          burnBps: m.getParameter<number>("burnBps"),
          rejectedRefundBps: m.getParameter<number>("rejectedRefundBps"),
          attesterSlashBps: m.getParameter<number>("attesterSlashBps"),
        },
      ],
      { after: [registry] },
    );
    return { token, timelock, validatorSet, registry, settlement };
  });
}

const ZERO = "0x0000000000000000000000000000000000000000";

/** For `npx hardhat ignition deploy` with a parameters file naming `token`, `treasury` and `settlement`. */
export default proofpathModule({ deployToken: false, treasuryIsTimelock: false });
