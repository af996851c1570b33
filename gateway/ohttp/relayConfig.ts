/** What the standalone OHTTP relay (relayMain.ts) reads: `PROOFPATH_RELAY_*` variables and a `--config` file. */
import { z } from "zod";
import { defineConfigRole } from "../../sdk/config.js";
import { DEFAULT_MAX_BODY_BYTES } from "./body.js";

export const relayConfigSchema = z
  .object({
    gatewayUrl: z
      .url({ protocol: /^https?$/, error: "expected an http(s) URL" })
      .describe("Base URL of the enclave gateway; requests go to <gatewayUrl>/ohttp."),
    host: z.string().min(1).default("127.0.0.1").describe("Address to bind."),
    port: z.number().int().min(0).max(65_535).default(8081).describe("Port (0: any free port)."),
    maxBodyBytes: z
      .number()
      .int()
      .min(1)
      .default(DEFAULT_MAX_BODY_BYTES)
      .describe("Largest encapsulated request (and response) the relay carries."),
    logLevel: z
      .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
      .default("info")
      .describe("pino log level."),
  })
  .strict();

export const relayConfigRole = defineConfigRole({
  role: "relay",
  title: "relay",
  usage: "npm run relay -- [--config <relay.json>]",
  about:
    "The Oblivious HTTP relay: it sees who asks, never what; run it under a different operator than the gateway, or the separation of who and what is nominal.",
  schema: relayConfigSchema,
});
