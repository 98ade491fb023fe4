import { attentionKind, type AttentionKind } from './config.ts';
import { evaluateStories } from './evaluate.ts';
import { generateAll } from './generate.ts';
import { hasKvWrite } from './kernels/kv-write.ts';
import { poolKvHeads } from './kv-pooling.ts';
import { Llama } from './llama.ts';
import { kvCacheBytesPerToken, parameterCount } from './params.ts';

/** The loaded model converted to `kvHeads` key/value heads by mean-pooling (kv-pooling.ts). */
export function pooledLlama(llama: Llama, kvHeads: number): Llama {
  return Llama.fromCheckpoint(poolKvHeads(llama.requireCheckpoint('Pooling key/value heads'), kvHeads), llama.tokenizer, {
    model: `${llama.names.model} (${kvHeads} kv heads, pooled)`,
    tokenizer: llama.names.tokenizer,
  });
}

export interface KvVariantOptions {
  /** Validation stories for bits per byte (evaluate.ts, every token predicted). */
  stories: string[];
  /** Greedy sample: prompt and positions (as generate's `steps`). */
  prompt: string;
  steps: number;
  signal?: AbortSignal;
  onProgress?: (storiesDone: number, stories: number) => void;
  /** Called between stories so a stop can arrive (the worker yields to its event loop). */
  pause?: () => Promise<void>;
}

export interface KvVariantMeasure {
  kvHeads: number;
  nHeads: number;
  /** The loaded model's own kv-head count (the variant equals the model when kvHeads matches). */
  originalKvHeads: number;
  kind: AttentionKind;
  parameters: number;
  bitsPerByte: number;
  meanNll: number;
  tokens: number;
  bytes: number;
  stories: number;
  /** Keys and values of one token in every layer, as this engine stores them (float32). */
  kvBytesPerToken: number;
  /** …and for a full context (seqLen tokens). */
  kvBytesFullContext: number;
  /** What a cache filled with the sample held on the device, and for how many positions. */
  cacheBytesMeasured: number;
  cachePositionsAllocated: number;
  /** Greedy decoding speed of the variant on this device (generated tokens only). */
  tokensPerSecond: number;
  sample: string;
}

/**
 * Builds the pooled variant and measures it: validation bits per byte, KV-cache size (computed
 * and read back from a filled cache), greedy decode speed and its text. Null when stopped.
 */
export async function measureKvVariant(llama: Llama, kvHeads: number, opts: KvVariantOptions): Promise<KvVariantMeasure | null> {
  const variant = pooledLlama(llama, kvHeads);
  try {
    const c = variant.config;
    let nll = 0;
    let tokens = 0;
    let bytes = 0;
    opts.onProgress?.(0, opts.stories.length);
    for (const [i, story] of opts.stories.entries()) {
      if (opts.signal?.aborted) return null;
      // One story per call so a stop is seen between stories; totals are summed in float64.
      const r = await evaluateStories(variant, [story]);
      nll += r.meanNll * r.tokens;
      tokens += r.tokens;
      bytes += r.bytes;
      opts.onProgress?.(i + 1, opts.stories.length);
      await opts.pause?.();
    }
    if (opts.signal?.aborted) return null;
    // A short warm-up first, so the first variant's speed does not include compiling kernels.
    await generateAll(variant, { prompt: opts.prompt, steps: Math.min(opts.steps, 8), temperature: 0, signal: opts.signal });
    const gen = await generateAll(variant, { prompt: opts.prompt, steps: opts.steps, temperature: 0, signal: opts.signal });
    if (gen.stopReason === 'aborted') return null;

    const cache = variant.newCache();
    let cacheBytesMeasured: number;
    let cachePositionsAllocated: number;
    try {
      const filled = gen.tokens.slice(0, c.seqLen);
      variant.model.forward(filled, 0, cache).dispose();
      cacheBytesMeasured = cache.bytes();
      // The in-place cache preallocates the whole context; the concatenating one holds what it saw.
      cachePositionsAllocated = hasKvWrite() ? cache.capacity : cache.length;
    } finally {
      cache.dispose();
    }
    const perToken = kvCacheBytesPerToken(c, 4);
    return {
      kvHeads,
      nHeads: c.nHeads,
      originalKvHeads: llama.config.nKvHeads,
      kind: attentionKind(c),
      parameters: parameterCount(c),
      bitsPerByte: nll / Math.LN2 / bytes,
      meanNll: nll / tokens,
      tokens,
      bytes,
      stories: opts.stories.length,
      kvBytesPerToken: perToken,
      kvBytesFullContext: perToken * c.seqLen,
      cacheBytesMeasured,
      cachePositionsAllocated,
      tokensPerSecond: gen.tokensPerSecond,
      sample: gen.text,
    };
  } finally {
    variant.dispose();
  }
}
