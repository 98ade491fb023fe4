import * as tf from '@tensorflow/tfjs-core';
import { PREFILL_CHUNK } from './generation-defaults.ts';
import type { KVCache } from './kv-cache.ts';
import type { LlamaModel } from './model.ts';

/**
 * Runs `tokens` at positions 0..n-1 into an empty `cache`, `chunk` tokens at a time. `targets[i]`,
 * for i < targets.length ≤ n, is the token that follows position i; each chunk yields the
 * log-probabilities the model gave its rows' targets (none for a row past them), as soon as it
 * is read. Returns the logits of the last position, from which the next token is sampled.
 */
export async function* prefill(model: LlamaModel, tokens: number[], targets: number[], cache: KVCache, chunk = PREFILL_CHUNK): AsyncGenerator<Float32Array, Float32Array> {
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`a prefill chunk must be a whole number of tokens ≥ 1, got ${chunk}`);
  if (targets.length > tokens.length) throw new RangeError(`${targets.length} targets for ${tokens.length} positions`);
  if (cache.length !== 0) throw new RangeError(`a prefill starts on an empty cache, this one holds ${cache.length} positions`);
  for (let from = 0; ; from += chunk) {
    const to = Math.min(from + chunk, tokens.length);
    const logits = model.forward(tokens.slice(from, to), from, cache);
    const scored = Math.max(0, Math.min(to, targets.length) - from);
    const logprobs = scored > 0 ? tf.tidy(() => targetLogprobs(tf.slice(logits, [0, 0], [scored, -1]), targets.slice(from, from + scored))) : null;
    const last = to === tokens.length ? tf.slice(logits, [to - from - 1, 0], [1, -1]) : null;
    logits.dispose();
    try {
      if (logprobs) yield (await logprobs.data()) as Float32Array;
      if (last) return (await last.data()) as Float32Array;
    } finally {
      tf.dispose([logprobs, last].filter((t) => t !== null));
    }
  }
}

/** log softmax(rows[i])[targets[i]] for every row: the log-probability of each row's next token. */
function targetLogprobs(rows: tf.Tensor2D, targets: number[]): tf.Tensor1D {
  const vocab = rows.shape[1];
  const flat = tf.reshape(tf.logSoftmax(rows), [-1]);
  return tf.gather(flat, tf.tensor1d(targets.map((t, i) => i * vocab + t), 'int32')) as tf.Tensor1D;
}
