import * as tf from '@tensorflow/tfjs-core';

/** Far below any real score, finite so every backend's softmax stays NaN-free. */
const MASKED = -1e30;

/**
 * Causal mask for `tokens` queries at positions start.. over `start + tokens` keys:
 * query t may attend to keys 0..start+t. Shaped [1, tokens, 1, keys] to broadcast.
 */
function causalMask(start: number, tokens: number): tf.Tensor4D {
  const keys = start + tokens;
  const mask = new Float32Array(tokens * keys);
  for (let t = 0; t < tokens; t++) mask.fill(MASKED, t * keys + start + t + 1, (t + 1) * keys);
  return tf.tensor4d(mask, [1, tokens, 1, keys]);
}

export interface AttentionResult {
  /** [tokens, heads * headSize], the heads side by side, before the output projection. */
  output: tf.Tensor2D;
  /** [kvHeads, tokens, queriesPerKv, keys]: scaled scores, and their softmax. */
  scores: tf.Tensor4D;
  probs: tf.Tensor4D;
}

/**
 * Grouped-query attention: softmax(q kᵀ / √d) v, where query head h reads kv head
 * floor(h / (heads / kvHeads)). Queries of one group are stacked so each kv head is one matmul.
 * q: [tokens, heads, hs] (rotated); keys, values: [kvHeads, keys, hs] from the cache.
 */
export function groupedQueryAttention(
  q: tf.Tensor3D,
  keys: tf.Tensor3D,
  values: tf.Tensor3D,
  start: number,
): AttentionResult {
  const [tokens, heads, hs] = q.shape;
  const [kvHeads, nKeys] = keys.shape;
  const group = heads / kvHeads;
  // [tokens, kvHeads, group, hs] → [kvHeads, tokens·group, hs]
  const grouped =
    tokens === 1
      ? tf.reshape(q, [kvHeads, group, hs])
      : tf.reshape(tf.transpose(tf.reshape(q, [tokens, kvHeads, group, hs]), [1, 0, 2, 3]), [kvHeads, tokens * group, hs]);
  // Divide (not multiply by the inverse) so the scaling rounds exactly as the reference does.
  let scores = tf.reshape(tf.div(tf.matMul(grouped, keys, false, true), Math.sqrt(hs)), [kvHeads, tokens, group, nKeys]) as tf.Tensor4D;
  if (tokens > 1) scores = tf.add(scores, causalMask(start, tokens));
  const probs = tf.softmax(scores) as tf.Tensor4D;
  const mixed = tf.matMul(tf.reshape(probs, [kvHeads, tokens * group, nKeys]) as tf.Tensor3D, values);
  const output =
    tokens === 1
      ? tf.reshape(mixed, [1, heads * hs])
      : tf.reshape(tf.transpose(tf.reshape(mixed, [kvHeads, tokens, group, hs]), [1, 0, 2, 3]), [tokens, heads * hs]);
  return { output: output as tf.Tensor2D, scores, probs };
}
