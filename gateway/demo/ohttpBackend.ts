/**
 * The demo TEE gateway behind the OHTTP boundary: OpenAI-style chat completions, answered whole or,
 * with `stream: true`, as server-sent events (one `chat.completion.chunk` per token, then
 * `data: [DONE]`), exactly as the plain endpoint would.
 */
import type { CallUsage, OhttpBackend, OhttpInnerResponse } from "../ohttp/backend.js";
import { countTokens, type ModelBackend } from "./backend.js";
import { BadChatRequest, answerChat, modelIdOf, parseChatRequest } from "./fastPath.js";

const CHAT_PATH = "/v1/chat/completions";
const utf8 = new TextEncoder();
let nextId = 0;

function error(status: number, type: string, message: string): OhttpInnerResponse {
  return {
    status,
    headers: { "content-type": "application/json" },
    body: utf8.encode(JSON.stringify({ error: { type, message } })),
  };
}

/** Chat completions (`POST /v1/chat/completions`) over `model`, for `createOhttpGateway({ backend })`. */
export function chatBackend(model: ModelBackend, log?: { error(o: object, msg: string): void }): OhttpBackend {
  return {
    async handle(req) {
      const path = req.path.split("?")[0]!;
      if (path !== CHAT_PATH) return error(404, "not_found", `no route ${req.method} ${req.path}`);
      if (req.method !== "POST") return error(405, "invalid_request_error", `${req.method} ${CHAT_PATH}: use POST`);
      try {
        const chat = parseChatRequest(req.content);
        if (chat.stream) return streamChat(model, chat, req.signal);
        const { responseBytes, usage } = await answerChat(req.content, model);
        return {
          status: 200,
          headers: { "content-type": "application/json" },
          body: responseBytes,
          usage: () => usage,
        };
      } catch (e) {
        if (e instanceof BadChatRequest) return error(400, "invalid_request_error", e.shortMessage);
        log?.error({ err: (e as Error).message }, "backend failed");
        return error(502, "backend_error", "the model backend failed");
      }
    },
  };
}

type Chat = ReturnType<typeof parseChatRequest>;

function streamChat(model: ModelBackend, chat: Chat, signal: AbortSignal): OhttpInnerResponse {
  const created = Date.now();
  const id = `chatcmpl-${created.toString(36)}-${(nextId++).toString(36)}`;
  const prompt = chat.messages.map((m) => `${m.role}: ${m.content}`).join("\n");
  let usage: CallUsage | undefined;
  const event = (o: object) => utf8.encode(`data: ${JSON.stringify(o)}\n\n`);
  const chunk = (name: string, delta: object, finish: string | null, extra?: object) =>
    event({
      id,
      object: "chat.completion.chunk",
      created: Math.floor(created / 1000),
      model: name,
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    });
  async function* body(): AsyncGenerator<Uint8Array> {
    const tokens = model.stream
      ? model.stream(chat, signal)
      : (async function* () {
          const c = await model.complete(chat);
          yield c.text;
        })();
    let outputTokens = 0;
    let first = true;
    const name = chat.model;
    for await (const piece of tokens) {
      if (signal.aborted) return;
      yield chunk(name, first ? { role: "assistant", content: piece } : { content: piece }, null);
      first = false;
      outputTokens += countTokens(piece);
    }
    const inputTokens = countTokens(prompt);
    yield chunk(name, {}, "stop", {
      usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
    });
    yield utf8.encode("data: [DONE]\n\n");
    usage = { modelId: modelIdOf(name), inputTokens, outputTokens, servedAt: Date.now() };
  }
  return {
    status: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
    body: body(),
    usage: () => usage,
  };
}
