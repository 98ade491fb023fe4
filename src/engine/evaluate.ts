import * as tf from '@tensorflow/tfjs-core';
import type { Llama } from './llama.ts';

export interface EvalResult {
  /** Mean next-token negative log-likelihood, nats per predicted token. */
  meanNll: number;
  /** Total NLL in bits over the UTF-8 bytes of the text: compares models with different tokenizers. */
  bitsPerByte: number;
  /** Predicted tokens (each story contributes its token count minus the BOS). */
  tokens: number;
  bytes: number;
  stories: number;
}

/** Stories separated by `<|endoftext|>` lines, trimmed, empty ones dropped. */
export function splitStories(text: string): string[] {
  return text
    .split('<|endoftext|>')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Sum of -log p(token[i+1] | tokens[..i]) over one sequence, in one batched forward. */
async function sequenceNll(llama: Llama, tokens: number[]): Promise<number> {
  const cache = llama.newCache();
  try {
    const logits = llama.model.forward(tokens, 0, cache);
    const nll = tf.tidy(() => {
      const lp = tf.logSoftmax(tf.slice(logits, [0, 0], [tokens.length - 1, -1]));
      const targets = tf.oneHot(tf.tensor1d(tokens.slice(1), 'int32'), logits.shape[1]);
      return tf.neg(tf.sum(tf.mul(lp, targets), -1));
    });
    logits.dispose();
    const values = (await nll.data()) as Float32Array;
    nll.dispose();
    let sum = 0;
    for (const v of values) sum += v;
    return sum;
  } finally {
    cache.dispose();
  }
}

/**
 * What to do with a story longer than the context. 'truncate' is the reference's definition (the
 * tail is never predicted, but its bytes still count, flattering bits per byte); 'window' predicts
 * every token: the sequence is cut into windows of the context length that overlap by one token,
 * each predicting its tokens from the context inside it.
 */
export type OverflowPolicy = 'window' | 'truncate';

/** The windows that predict every token of `ids` exactly once (one window when it fits). */
export function evaluationWindows(ids: number[], seqLen: number, overflow: OverflowPolicy): number[][] {
  if (ids.length <= seqLen || overflow === 'truncate') return [ids.slice(0, seqLen)];
  const windows: number[][] = [];
  for (let start = 0; start < ids.length - 1; start += seqLen - 1) windows.push(ids.slice(start, start + seqLen));
  return windows;
}

/**
 * Each story encoded with BOS, every token after the first predicted from what precedes it (within
 * the context); NLL summed in float64. With overflow 'truncate' this is exactly the reference's
 * evaluation.
 */
export async function evaluateStories(
  llama: Llama,
  stories: string[],
  opts: { overflow?: OverflowPolicy; onProgress?: (done: number, total: number) => void } = {},
): Promise<EvalResult> {
  let total = 0;
  let tokens = 0;
  let bytes = 0;
  const encoder = new TextEncoder();
  for (const [i, story] of stories.entries()) {
    const ids = llama.tokenizer.encode(story, { bos: true });
    bytes += encoder.encode(story).byteLength;
    for (const w of evaluationWindows(ids, llama.config.seqLen, opts.overflow ?? 'window')) {
      if (w.length < 2) continue;
      total += await sequenceNll(llama, w);
      tokens += w.length - 1;
    }
    opts.onProgress?.(i + 1, stories.length);
  }
  return { meanNll: total / tokens, bitsPerByte: total / Math.LN2 / bytes, tokens, bytes, stories: stories.length };
}
