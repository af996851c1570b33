/**
 * Runs the demo TEE gateway. Environment:
 *   RPC_URL (http://127.0.0.1:8545), DEPLOYMENT (deployment JSON) or SETTLEMENT (address),
 *   ENCLAVE_KEY (hex; a fresh key when unset), RELAYER_KEY (defaults to the enclave key),
 *   STORE (data/gateway.db), PORT (8080), PUBLIC_URL (http://127.0.0.1:PORT),
 *   BACKEND_URL (+ BACKEND_API_KEY) for an OpenAI-compatible model, else the local model,
 *   REGISTER_OWNER_KEY + VALIDATOR_KEYS (comma-separated): register, approve and fund the enclave first.
 */
import pino from "pino";
import { createPublicClient, createWalletClient, defineChain, http, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSettlementHook } from "../hook.js";
import { listen } from "../serve/http.js";
import { registerEnclave } from "../registration.js";
import { readDeployment } from "../../sdk/deployment.js";
import { LocalModel, OpenAICompatible } from "./backend.js";
import { createDemoApp } from "./server.js";

const env = process.env;
const log = pino({ name: "demo-gateway", level: env.LOG_LEVEL ?? "info" });
const rpcUrl = env.RPC_URL ?? "http://127.0.0.1:8545";
const port = Number(env.PORT ?? 8080);
const publicUrl = env.PUBLIC_URL ?? `http://127.0.0.1:${port}`;
const enclaveKey = (env.ENCLAVE_KEY ?? generatePrivateKey()) as Hex;

if (env.REGISTER_OWNER_KEY) {
  if (!env.DEPLOYMENT) throw new Error("REGISTER_OWNER_KEY needs DEPLOYMENT");
  const pub = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
  const owner = createWalletClient({
    transport: http(rpcUrl),
    account: privateKeyToAccount(env.REGISTER_OWNER_KEY as Hex),
    chain: defineChain({
      id: await pub.getChainId(),
      name: "proofpath",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    }),
  });
  await registerEnclave(pub, {
    deployment: readDeployment(env.DEPLOYMENT),
    owner,
    enclave: privateKeyToAccount(enclaveKey),
    validators: (env.VALIDATOR_KEYS ?? "")
      .split(",")
      .filter(Boolean)
      .map((k) => privateKeyToAccount(k as Hex)),
  });
  log.info({ gateway: privateKeyToAccount(enclaveKey).address }, "enclave registered, approved and funded");
}

const hook = await createSettlementHook({
  store: env.STORE ?? "data/gateway.db",
  enclaveKey,
  ...(env.RELAYER_KEY ? { relayerKey: env.RELAYER_KEY as Hex } : {}),
  rpcUrl,
  ...(env.SETTLEMENT ? { settlement: env.SETTLEMENT } : { deployment: env.DEPLOYMENT ?? "deployments/local.json" }),
  daBaseUrl: `${publicUrl}/da`,
  logger: log.child({ part: "hook" }),
});
const backend = env.BACKEND_URL ? new OpenAICompatible(env.BACKEND_URL, env.BACKEND_API_KEY) : new LocalModel();
const server = await listen(createDemoApp({ hook, backend, logger: log }), port, env.HOST ?? "127.0.0.1");
log.info({ url: publicUrl, gateway: hook.gateway, backend: env.BACKEND_URL ?? "local" }, "demo gateway listening");

const stop = async () => {
  log.info("shutting down: flushing receipts");
  await server.close();
  await hook.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
