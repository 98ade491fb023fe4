import { chatTokens, type ChatSpec } from './chat-format.ts';
import { DecodeSteps } from './decode-steps.ts';
import { EngineError } from './errors.ts';
import { GENERATION_DEFAULTS } from './generation-defaults.ts';
import { assertGpuHealthy } from './gpu-faults.ts';
import type { Llama } from './llama.ts';
import { prefill } from './prefill.ts';
import { Sampler } from './sampling/sampler.ts';
import { logSumExp, topAlternatives, type Alternative } from './token-stats.ts';
import { Utf8StreamDecoder } from './tokenizer/utf8-stream.ts';

export interface GenerateOptions {
  /** Text (encoded with BOS, as run.c does), or a dialogue in the Llama 2-Chat format (chat-format.ts). */
  prompt: string | ChatSpec;
  /** Positions to run, as the reference's -n: the result has at most steps + 1 tokens with BOS. */
  steps?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number | bigint;
  /** How many alternatives to report per generated token. */
  alternatives?: number;
  /** Prompt tokens run at once (prefill.ts); a longer prompt streams its tokens chunk by chunk. */
  prefillChunk?: number;
  signal?: AbortSignal;
}

export interface GeneratedToken {
  id: number;
  position: number;
  /** Text completed by this token: empty while a multi-byte character is still arriving. */
  text: string;
  /** Natural-log probability of this token under the model (temperature 1); null for BOS. */
  logprob: number | null;
  top: (Alternative & { piece: string })[];
  fromPrompt: boolean;
}

export interface GenerationResult {
  /** BOS, the prompt, then the generated tokens: the reference's token sequence. */
  tokens: number[];
  text: string;
  promptTokens: number;
  /** 'eos' only for a chat prompt: a chat model ends its answer with EOS, as in Meta's reference. */
  stopReason: 'steps' | 'bos' | 'eos' | 'aborted';
  /** Time in the prompt's forward passes and their read-backs. */
  prefillMs: number;
  decodeMs: number;
  prefillTokensPerSecond: number;
  /** Generated tokens per second of decoding, excluding the prompt. */
  tokensPerSecond: number;
}

/**
 * Generates as the reference program does (prompt forced, then sampled until `steps` positions
 * or BOS; after a chat prompt also EOS), yielding every token as soon as it is known. The prompt
 * runs as batched forwards of up to PREFILL_CHUNK tokens, its tokens yielded as each is read.
 */
export async function* generate(llama: Llama, opts: GenerateOptions): AsyncGenerator<GeneratedToken, GenerationResult> {
  const seqLen = llama.config.seqLen;
  let steps = opts.steps ?? GENERATION_DEFAULTS.steps;
  if (steps <= 0 || steps > seqLen) steps = seqLen;
  const tokenizer = llama.tokenizer;
  const chat = typeof opts.prompt !== 'string';
  const prompt = typeof opts.prompt === 'string' ? tokenizer.encode(opts.prompt, { bos: true }) : chatTokens(tokenizer, opts.prompt);
  const nAlt = opts.alternatives ?? GENERATION_DEFAULTS.alternatives;
  const sampler = new Sampler({
    temperature: opts.temperature ?? GENERATION_DEFAULTS.temperature,
    topP: opts.topP ?? GENERATION_DEFAULTS.topP,
    topK: opts.topK,
    seed: opts.seed ?? Math.floor(Date.now() / 1000),
  });
  if (!(sampler.temperature >= 0)) throw new EngineError('bad-argument', `temperature must be ≥ 0, got ${opts.temperature}`);

  const decoder = new Utf8StreamDecoder();
  const tokens: number[] = [prompt[0]];
  const emit = (id: number, position: number, logprob: number | null, top: Alternative[], fromPrompt: boolean): GeneratedToken => {
    // BOS and EOS (inside a chat prompt) print nothing, as in tokenizer.decode, so the streamed
    // texts add up to the result's.
    const special = id === tokenizer.bosId || id === tokenizer.eosId;
    const text = special ? '' : decoder.push(tokenizer.decodeBytes(tokens[tokens.length - 1], id));
    tokens.push(id);
    return { id, position, text, logprob, top: top.map((a) => ({ ...a, piece: tokenizer.pieceText(a.id) })), fromPrompt };
  };
  const cache = llama.newCache();
  const decodeSteps = new DecodeSteps(llama.model, cache);
  let stopReason: GenerationResult['stopReason'] = 'steps';
  let prefillMs = 0;
  let decodeStart = 0;
  try {
    yield { id: prompt[0], position: 0, text: '', logprob: null, top: [], fromPrompt: true };
    // The reference consumes prompt[pos + 1] at positions below prompt_len - 1; when steps ends
    // inside the prompt nothing is sampled.
    const forced = Math.min(prompt.length - 1, steps);
    const run = prompt.slice(0, Math.min(prompt.length, steps));
    const reading = prefill(llama.model, run, prompt.slice(1, forced + 1), cache, opts.prefillChunk);
    let last: Float32Array | null = null;
    for (let position = 1; !last; ) {
      if (opts.signal?.aborted) {
        stopReason = 'aborted';
        await reading.return(new Float32Array(0));
        break;
      }
      const t0 = performance.now();
      const read = await reading.next();
      prefillMs += performance.now() - t0;
      assertGpuHealthy('reading the prompt');
      if (read.done) last = read.value;
      else for (const logprob of read.value) yield emit(prompt[position], position++, logprob, [], true);
    }
    decodeStart = performance.now();
    let logits: Float32Array | null = last && forced < steps ? last : null;
    for (let pos = run.length - 1; logits && pos < steps; pos++) {
      if (opts.signal?.aborted) {
        stopReason = 'aborted';
        break;
      }
      const next = sampler.sample(logits);
      if (next === tokenizer.bosId || (chat && next === tokenizer.eosId)) {
        stopReason = next === tokenizer.bosId ? 'bos' : 'eos';
        break;
      }
      const lse = logSumExp(logits);
      yield emit(next, pos + 1, logits[next] - lse, topAlternatives(logits, nAlt, lse), false);
      if (pos + 1 >= steps) break;
      // Greedy decoding's next token is the GPU's argmax too: its step can run ahead (decode-steps.ts).
      logits = await decodeSteps.read(next, pos + 1, sampler.temperature === 0 && pos + 2 < steps);
      assertGpuHealthy('generating');
    }
  } finally {
    decodeSteps.dispose();
    cache.dispose();
  }
  const decodeMs = decodeStart ? performance.now() - decodeStart : 0;
  const generated = tokens.length - prompt.length;
  const text = tokenizer.decode(tokens);
  return {
    tokens,
    text,
    promptTokens: prompt.length,
    stopReason,
    prefillMs,
    decodeMs,
    prefillTokensPerSecond: prefillMs > 0 ? (Math.min(prompt.length, steps) * 1000) / prefillMs : 0,
    tokensPerSecond: decodeMs > 0 && generated > 0 ? (generated * 1000) / decodeMs : 0,
  };
}

/** Runs a generation to the end, for callers that want the whole result (CLI --json, tests). */
export async function generateAll(llama: Llama, opts: GenerateOptions, onToken?: (t: GeneratedToken) => void): Promise<GenerationResult> {
  const it = generate(llama, opts);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    onToken?.(r.value);
  }
}
