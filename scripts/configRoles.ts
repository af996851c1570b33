/**
 * Every role's configuration, in the order docs/config.md shows them: what `npm run docs:config`
 * renders and `proofpath config <role>` explains.
 */
import type { ConfigRole } from "../sdk/config.js";
import { gatewayConfigRole } from "../gateway/config.js";
import { demoGatewayConfigRole } from "../gateway/demo/config.js";
import { relayConfigRole } from "../gateway/ohttp/relayConfig.js";
import { indexerConfigRole } from "../indexer/src/lib/config.js";
import { validatorConfigRole } from "../validator/config.js";
import { operatorConfigRole, verifyConfigRole } from "./cli/operatorConfig.js";
import { deployConfigRole } from "./deploy/config.js";

export const CONFIG_ROLES: readonly ConfigRole[] = [
  gatewayConfigRole,
  demoGatewayConfigRole,
  validatorConfigRole,
  relayConfigRole,
  indexerConfigRole,
  deployConfigRole,
  operatorConfigRole,
  verifyConfigRole,
] as ConfigRole[];
