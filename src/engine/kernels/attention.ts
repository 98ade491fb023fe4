import * as tf from '@tensorflow/tfjs-core';
import { hasKernel, registerHostKernel, runKernel } from './registry.ts';

/**
 * Causal grouped-query attention, softmax(q kᵀ / √d) v, where query head h reads kv head
 * floor(h / (heads / kvHeads)). One kernel instead of about ten (matmuls, scaling, mask, softmax
 * and the reshapes and transposes that group the queries).
 *
 * q: [tokens, heads, hs] (rotated), at positions start..start+tokens-1. keys, values:
 * [kvHeads, positions, hs], every position so far; a preallocated cache may hold more than
 * start + tokens positions, and the rows past those are ignored. Query t sees keys 0..start+t.
 */
export const ATTENTION = 'LlamaAttention';

export interface AttentionAttrs {
  start: number;
}

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

/** [tokens, heads, hs] → [kvHeads, tokens·group, hs]: the queries that share a kv head, stacked. */
function groupQueries(q: tf.Tensor3D, kvHeads: number): tf.Tensor3D {
  const [tokens, heads, hs] = q.shape;
  const group = heads / kvHeads;
  if (tokens === 1) return tf.reshape(q, [kvHeads, group, hs]);
  return tf.reshape(tf.transpose(tf.reshape(q, [tokens, kvHeads, group, hs]), [1, 0, 2, 3]), [kvHeads, tokens * group, hs]);
}

/** The inverse of groupQueries, with the heads side by side: [tokens, heads·hs]. */
function ungroupHeads(x: tf.Tensor3D, tokens: number): tf.Tensor2D {
  const [kvHeads, rows, hs] = x.shape;
  const group = rows / tokens;
  if (tokens === 1) return tf.reshape(x, [1, kvHeads * group * hs]);
  return tf.reshape(tf.transpose(tf.reshape(x, [kvHeads, tokens, group, hs]), [1, 0, 2, 3]), [tokens, kvHeads * group * hs]);
}

/** Scaled, masked scores and their softmax, [kvHeads, tokens, group, keys]. */
function scoresAndProbs(grouped: tf.Tensor3D, keys: tf.Tensor3D, tokens: number, start: number) {
  const [kvHeads, rows, hs] = grouped.shape;
  // Divide (not multiply by the inverse) so the scaling rounds exactly as the reference does.
  const scaled = tf.div(tf.matMul(grouped, keys, false, true), Math.sqrt(hs));
  let scores = tf.reshape(scaled, [kvHeads, tokens, rows / tokens, keys.shape[1]]) as tf.Tensor4D;
  if (tokens > 1) scores = tf.add(scores, causalMask(start, tokens));
  return { scores, probs: tf.softmax(scores) as tf.Tensor4D };
}

export interface AttentionWithWeights {
  /** [tokens, heads * headSize], the heads side by side, before the output projection. */
  output: tf.Tensor2D;
  /** [kvHeads, tokens, queriesPerKv, keys]: scaled scores, and their softmax. */
  scores: tf.Tensor4D;
  probs: tf.Tensor4D;
}

/** The first `n` positions of a [kvHeads, positions, hs] cache buffer. */
function firstPositions(x: tf.Tensor3D, n: number): tf.Tensor3D {
  return x.shape[1] === n ? x : tf.slice(x, [0, 0, 0], [-1, n, -1]);
}

/** Attention in stock ops, keeping the scores and probabilities for inspection. */
export function attentionWithWeights(
  q: tf.Tensor3D,
  allKeys: tf.Tensor3D,
  allValues: tf.Tensor3D,
  start: number,
): AttentionWithWeights {
  const tokens = q.shape[0];
  const nKeys = start + tokens;
  const kvHeads = allKeys.shape[0];
  const keys = firstPositions(allKeys, nKeys);
  const values = firstPositions(allValues, nKeys);
  const { scores, probs } = scoresAndProbs(groupQueries(q, kvHeads), keys, tokens, start);
  const mixed = tf.matMul(tf.reshape(probs, [kvHeads, -1, nKeys]) as tf.Tensor3D, values);
  return { output: ungroupHeads(mixed as tf.Tensor3D, tokens), scores, probs };
}

/** The same math as stock ops: the fallback, and the reference the fused kernel is tested against. */
export function attentionComposite(q: tf.Tensor3D, keys: tf.Tensor3D, values: tf.Tensor3D, start: number): tf.Tensor2D {
  return tf.tidy(() => attentionWithWeights(q, keys, values, start).output);
}

export function attention(q: tf.Tensor3D, keys: tf.Tensor3D, values: tf.Tensor3D, start: number): tf.Tensor2D {
  if (!hasKernel(ATTENTION)) return attentionComposite(q, keys, values, start);
  return runKernel<tf.Tensor2D>(ATTENTION, { q, keys, values }, { start } satisfies AttentionAttrs);
}

const f = Math.fround;
let scores = new Float32Array(1024);
let mixed = new Float32Array(128);

/**
 * The attention of `tokens` queries at positions start.. (q: [tokens, heads, hs]) over a cache
 * of `capacity` positions per kv head (keys, values: [kvHeads, capacity, hs]), into out
 * ([tokens, heads·hs]). In float32 in llama2.c's order of operations: every product and sum
 * rounded to float32, the dot products, scaling, softmax and weighted sum as its loops do them.
 */
export function attendRows(
  q: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  out: Float32Array,
  tokens: number,
  heads: number,
  kvHeads: number,
  hs: number,
  capacity: number,
  start: number,
): void {
  const group = heads / kvHeads;
  const scale = f(Math.sqrt(hs));
  if (scores.length < capacity) scores = new Float32Array(capacity);
  if (mixed.length < hs) mixed = new Float32Array(hs);
  const att = scores;
  const acc = mixed; // a Float32Array, so every += rounds to float32
  for (let t = 0; t < tokens; t++) {
    const seen = start + t + 1; // keys 0..start+t
    for (let h = 0; h < heads; h++) {
      const qAt = (t * heads + h) * hs;
      const kvAt = ((h / group) | 0) * capacity * hs;
      let max = -Infinity;
      for (let s = 0, kAt = kvAt; s < seen; s++, kAt += hs) {
        let dot = 0;
        for (let i = 0; i < hs; i++) dot = f(dot + f(q[qAt + i] * keys[kAt + i]));
        const score = f(dot / scale);
        att[s] = score;
        if (score > max) max = score;
      }
      let sum = 0;
      for (let s = 0; s < seen; s++) {
        const e = f(Math.exp(f(att[s] - max)));
        att[s] = e;
        sum = f(sum + e);
      }
      acc.fill(0, 0, hs);
      for (let s = 0, vAt = kvAt; s < seen; s++, vAt += hs) {
        const p = f(att[s] / sum);
        for (let i = 0; i < hs; i++) acc[i] += f(p * values[vAt + i]);
      }
      for (let i = 0; i < hs; i++) out[qAt + i] = acc[i];
    }
  }
}

registerHostKernel<AttentionAttrs>(ATTENTION, (host, { q, keys, values }, { start }) => {
  const [tokens, heads, hs] = q.shape;
  const [kvHeads, capacity] = keys.shape;
  const out = host.allocate([tokens, heads * hs]);
  attendRows(host.view(q), host.view(keys), host.view(values), host.view(out), tokens, heads, kvHeads, hs, capacity, start);
  return out;
});

/**
 * With P the probabilities, O = P V and dO the incoming gradient (queries grouped per kv head):
 * dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)) / √d, dQ = dS K, dK = dSᵀ Q.
 */
tf.registerGradient({
  kernelName: ATTENTION,
  inputsToSave: ['q', 'keys', 'values'],
  gradFunc: (dy, saved, attrs) => {
    const [q, allKeys, allValues] = saved as tf.Tensor3D[];
    const { start } = attrs as unknown as AttentionAttrs;
    const [tokens, heads, hs] = q.shape;
    const [kvHeads, capacity] = allKeys.shape;
    const nKeys = start + tokens;
    const keys = firstPositions(allKeys, nKeys);
    const values = firstPositions(allValues, nKeys);
    // Rows past the last position get no gradient.
    const padded = (d: tf.Tensor3D) =>
      capacity === nKeys
        ? d
        : tf.pad(d, [
            [0, 0],
            [0, capacity - nKeys],
            [0, 0],
          ]);
    const grouped = groupQueries(q, kvHeads);
    const p = tf.reshape(scoresAndProbs(grouped, keys, tokens, start).probs, [kvHeads, -1, nKeys]) as tf.Tensor3D;
    const dO = groupQueries(tf.reshape(dy as tf.Tensor, [tokens, heads, hs]), kvHeads);
    const dP = tf.matMul(dO, values, false, true);
    const dS = tf.div(tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true))), Math.sqrt(hs)) as tf.Tensor3D;
    return {
      q: () => tf.reshape(ungroupHeads(tf.matMul(dS, keys), tokens), [tokens, heads, hs]),
      keys: () => padded(tf.matMul(dS, grouped, true, false)),
      values: () => padded(tf.matMul(p, dO, true, false)),
    };
  },
});
