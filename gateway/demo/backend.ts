/**
 * Model backends for the demo TEE gateway: a small deterministic local model (default, for demos
 * and tests: the same prompt always gives the same answer and token counts) and a client for any
 * OpenAI-compatible chat completions URL.
 */
import { keccak256Hex } from "../../sdk/hashing.js";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface Completion {
  model: string;
  text: string;
  inputTokens: number;
  outputTokens: number;
}

export interface ChatInput {
  model: string;
  messages: ChatMessage[];
  max_tokens?: number | undefined;
}

export interface ModelBackend {
  complete(req: ChatInput): Promise<Completion>;
  /** The answer's text piece by piece as it is generated (without it, streams send the whole text once). */
  stream?(req: ChatInput, signal?: AbortSignal): AsyncIterable<string>;
}

const WORDS = (
  "the proof path settles every private call on chain while the fast path answers at once inside an attested " +
  "enclave receipts are batched into a merkle tree and validators check digests against receipts without " +
  "rerunning models fees flow to validators treasury and burn each settled proof becomes visible activity"
).split(" ");

/** Whitespace/punctuation token count: crude, deterministic, good enough for usage accounting demos. */
export function countTokens(s: string): number {
  return s.split(/[\s,.;:!?]+/).filter(Boolean).length;
}

/** Deterministic local "model": a word walk seeded by keccak(prompt), length bounded by max_tokens. */
export class LocalModel implements ModelBackend {
  /** `tokenDelayMs`: time between streamed tokens (a model's decode step); 0 = as fast as read. */
  constructor(
    private readonly name = "proofpath-local-1",
    private readonly tokenDelayMs = 0,
  ) {}

  /** The same words `complete` gives, one at a time (a space before all but the first). */
  async *stream(req: ChatInput, signal?: AbortSignal): AsyncGenerator<string> {
    const words = (await this.complete(req)).text.split(" ");
    for (let i = 0; i < words.length; i++) {
      if (signal?.aborted) return;
      if (this.tokenDelayMs > 0 && i > 0) await new Promise((r) => setTimeout(r, this.tokenDelayMs));
      yield i === 0 ? words[i]! : ` ${words[i]}`;
    }
  }

  async complete(req: {
    model: string;
    messages: ChatMessage[];
    max_tokens?: number | undefined;
  }): Promise<Completion> {
    const prompt = req.messages.map((m) => `${m.role}: ${m.content}`).join("\n");
    const seed = keccak256Hex(Buffer.from(prompt, "utf8"));
    const bytes = Buffer.from(seed.slice(2), "hex");
    const max = Math.max(1, Math.min(req.max_tokens ?? 64, 256));
    const n = Math.min(max, 8 + (bytes[0]! % 24));
    const out: string[] = [];
    let w = bytes[1]! % WORDS.length;
    for (let i = 0; i < n; i++) {
      out.push(WORDS[w]!);
      w = (w + 1 + (bytes[(i + 2) % 32]! % 5)) % WORDS.length; // mostly follows the text, with seeded jumps
    }
    return { model: req.model || this.name, text: out.join(" "), inputTokens: countTokens(prompt), outputTokens: n };
  }
}

/** Any OpenAI-compatible `/v1/chat/completions` endpoint. */
export class OpenAICompatible implements ModelBackend {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey?: string,
    private readonly timeoutMs = 60_000,
  ) {}

  async complete(req: {
    model: string;
    messages: ChatMessage[];
    max_tokens?: number | undefined;
  }): Promise<Completion> {
    const res = await fetch(`${this.baseUrl.replace(/\/+$/, "")}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
      },
      body: JSON.stringify(req),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`upstream ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const j = (await res.json()) as {
      model?: string;
      choices?: { message?: { content?: string } }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    const text = j.choices?.[0]?.message?.content ?? "";
    return {
      model: j.model ?? req.model,
      text,
      inputTokens: j.usage?.prompt_tokens ?? countTokens(req.messages.map((m) => m.content).join(" ")),
      outputTokens: j.usage?.completion_tokens ?? countTokens(text),
    };
  }
}
