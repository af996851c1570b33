/**
 * The fast path in one place: request bytes in, response bytes out, plus the call to record. The
 * hashes are over the exact bytes the user sent and received, so a user can recompute them. An
 * OHTTP layer wraps `answerChat` (decapsulate → answerChat → encapsulate) and hashes the
 * ciphertexts instead, which are the bytes its user holds.
 */
import { z } from "zod";
import type { Hex } from "viem";
import { BaseError } from "../../sdk/errors.js";
import { keccak256Hex } from "../../sdk/hashing.js";
import type { Call } from "../record/recorder.js";
import type { ModelBackend } from "./backend.js";

export const chatRequestSchema = z.object({
  model: z.string({ error: "model: expected a string" }).min(1, { error: "model: must not be empty" }).max(200),
  messages: z
    .array(z.object({ role: z.string().max(32), content: z.string().max(100_000) }), {
      error: "messages: expected an array of { role, content }",
    })
    .min(1, { error: "messages: at least one message" })
    .max(256),
  max_tokens: z.number().int().min(1).max(4096).optional(),
  stream: z.boolean().optional(),
});

/** The chat request is not one the demo backend accepts (answered 400). Not retryable. */
export class BadChatRequest extends BaseError {
  override name = "BadChatRequest";
}

/** modelId of a model name: keccak256 of its UTF-8 bytes. */
export function modelIdOf(model: string): Hex {
  return keccak256Hex(Buffer.from(model, "utf8"));
}

let nextId = 0;

/** A call to record, before the request/response hashes are known. */
export type ChatUsage = Omit<Call, "requestHash" | "responseHash">;

/** Answers one chat completion request; throws BadChatRequest for invalid input. */
export async function handleChat(
  requestBytes: Uint8Array,
  backend: ModelBackend,
): Promise<{ responseBytes: Uint8Array; call: Call }> {
  const { responseBytes, usage } = await answerChat(requestBytes, backend);
  return {
    responseBytes,
    call: { ...usage, requestHash: keccak256Hex(requestBytes), responseHash: keccak256Hex(responseBytes) },
  };
}

/** The chat request in `requestBytes`; throws BadChatRequest for invalid input. */
export function parseChatRequest(requestBytes: Uint8Array): z.infer<typeof chatRequestSchema> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(requestBytes));
  } catch {
    throw new BadChatRequest("body: expected JSON");
  }
  const parsed = chatRequestSchema.safeParse(json);
  if (!parsed.success) throw new BadChatRequest(parsed.error.issues[0]!.message);
  return parsed.data;
}

/** `handleChat` without the hashes, for callers that hash other bytes (the OHTTP ciphertexts). */
export async function answerChat(
  requestBytes: Uint8Array,
  backend: ModelBackend,
): Promise<{ responseBytes: Uint8Array; usage: ChatUsage }> {
  const { stream: _stream, ...req } = parseChatRequest(requestBytes);
  const out = await backend.complete(req);
  const servedAt = Date.now();
  const response = {
    id: `chatcmpl-${servedAt.toString(36)}-${(nextId++).toString(36)}`,
    object: "chat.completion",
    created: Math.floor(servedAt / 1000),
    model: out.model,
    choices: [{ index: 0, message: { role: "assistant", content: out.text }, finish_reason: "stop" }],
    usage: {
      prompt_tokens: out.inputTokens,
      completion_tokens: out.outputTokens,
      total_tokens: out.inputTokens + out.outputTokens,
    },
  };
  const responseBytes = new TextEncoder().encode(JSON.stringify(response));
  return {
    responseBytes,
    usage: { modelId: modelIdOf(out.model), inputTokens: out.inputTokens, outputTokens: out.outputTokens, servedAt },
  };
}
