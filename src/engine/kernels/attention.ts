import * as tf from '@tensorflow/tfjs-core';
import { attendByMatMul, attendByLoops, attentionGradByMatMul, attentionGradByLoops } from './attention-training.ts';
import { hasKernel, registerHostKernel, runKernelOutputs } from './registry.ts';
import { registerWebGpuKernel } from './webgpu/program.ts';
import { attentionWebGpu } from './webgpu/attention.ts';

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

/** Its gradient as one host kernel: dq, dkeys, dvalues from q, keys, values and the output's gradient. */
export const ATTENTION_GRAD = 'LlamaAttentionGrad';

export interface AttentionAttrs {
  /** The first query's position (also in the optional int32 input `position`: webgpu/position.ts). */
  start: number;
  /**
   * True: in float32, in llama2.c's order of operations, to the bit (inference: decode and prefill
   * must reproduce the reference), and one output. False: a forward pass recorded for a gradient
   * (training), which needs no reference to match, computed as fast as the backend allows (see
   * attention-training.ts); a second output holds the probabilities for the gradient to reuse.
   */
  exact: boolean;
}

export interface AttentionGradAttrs {
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

/** `position`, where given, holds `start` on the device (int32 [1]). */
export function attention(q: tf.Tensor3D, keys: tf.Tensor3D, values: tf.Tensor3D, start: number, position?: tf.Tensor1D): tf.Tensor2D {
  if (!hasKernel(ATTENTION)) return attentionComposite(q, keys, values, start);
  // A forward pass recorded for a gradient is training, which needs no bit-exact match.
  const exact = !tf.engine().isTapeOn();
  const inputs: Record<string, tf.Tensor> = { q, keys, values };
  if (position) inputs.position = position;
  const result = tf.engine().runKernel(ATTENTION, inputs, { start, exact } satisfies AttentionAttrs);
  if (!Array.isArray(result)) return result as tf.Tensor2D;
  // The probabilities too (training on a host backend): the tape keeps its own handle for the gradient.
  const [output, probs] = result as tf.Tensor[];
  probs.dispose();
  return output as tf.Tensor2D;
}

const f = Math.fround;
/** Scratch: one query's scores, then probabilities (grown on demand). */
let scores = new Float32Array(1024);

/**
 * The attention of `tokens` queries at positions start.. (q: [tokens, heads, hs]) over a cache
 * of `capacity` positions per kv head (keys, values: [kvHeads, capacity, hs]), into out
 * ([tokens, heads·hs]). In float32 in llama2.c's order of operations: every product and sum
 * rounded to float32, the dot products, scaling, softmax and weighted sum as its loops do them.
 *
 * Only the order in which independent results are computed differs from llama2.c's loops, never
 * the order of any one sum: four keys' dot products at a time, and four output elements at a time,
 * each summed over the positions in a local variable, so that fewer rounded sums wait on each other.
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
  const att = scores; // a Float32Array: every stored value is a float32
  for (let t = 0; t < tokens; t++) {
    const seen = start + t + 1; // keys 0..start+t
    for (let h = 0; h < heads; h++) {
      const qAt = (t * heads + h) * hs;
      const kvAt = ((h / group) | 0) * capacity * hs;
      let max = -Infinity;
      let s = 0;
      for (; s + 4 <= seen; s += 4) {
        const k0 = kvAt + s * hs;
        const k1 = k0 + hs;
        const k2 = k1 + hs;
        const k3 = k2 + hs;
        let d0 = 0;
        let d1 = 0;
        let d2 = 0;
        let d3 = 0;
        for (let i = 0; i < hs; i++) {
          const qi = q[qAt + i];
          d0 = f(d0 + f(qi * keys[k0 + i]));
          d1 = f(d1 + f(qi * keys[k1 + i]));
          d2 = f(d2 + f(qi * keys[k2 + i]));
          d3 = f(d3 + f(qi * keys[k3 + i]));
        }
        const s0 = f(d0 / scale);
        const s1 = f(d1 / scale);
        const s2 = f(d2 / scale);
        const s3 = f(d3 / scale);
        att[s] = s0;
        att[s + 1] = s1;
        att[s + 2] = s2;
        att[s + 3] = s3;
        if (s0 > max) max = s0;
        if (s1 > max) max = s1;
        if (s2 > max) max = s2;
        if (s3 > max) max = s3;
      }
      for (let kAt = kvAt + s * hs; s < seen; s++, kAt += hs) {
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
      for (let s = 0; s < seen; s++) att[s] = f(att[s] / sum);
      let i = 0;
      for (; i + 4 <= hs; i += 4) {
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        for (let s = 0, vAt = kvAt + i; s < seen; s++, vAt += hs) {
          const p = att[s];
          a0 = f(a0 + f(p * values[vAt]));
          a1 = f(a1 + f(p * values[vAt + 1]));
          a2 = f(a2 + f(p * values[vAt + 2]));
          a3 = f(a3 + f(p * values[vAt + 3]));
        }
        out[qAt + i] = a0;
        out[qAt + i + 1] = a1;
        out[qAt + i + 2] = a2;
        out[qAt + i + 3] = a3;
      }
      for (; i < hs; i++) {
        let a = 0;
        for (let s = 0, vAt = kvAt + i; s < seen; s++, vAt += hs) a = f(a + f(att[s] * values[vAt]));
        out[qAt + i] = a;
      }
    }
  }
}

registerWebGpuKernel(ATTENTION, attentionWebGpu);

registerHostKernel<AttentionAttrs>(ATTENTION, (host, { q, keys, values }, { start, exact }) => {
  if (!exact) return host.matMul ? attendByMatMul(host, q, keys, values, start) : attendByLoops(host, q, keys, values, start);
  const [tokens, heads, hs] = q.shape;
  const [kvHeads, capacity] = keys.shape;
  const out = host.allocate([tokens, heads * hs]);
  attendRows(host.view(q), host.view(keys), host.view(values), host.view(out), tokens, heads, kvHeads, hs, capacity, start);
  return out;
}, ['position']);

/** Inputs q, keys, values, dy and, where the forward pass saved them, probs. */
registerHostKernel<AttentionGradAttrs>(ATTENTION_GRAD, (host, { q, keys, values, dy, probs }, { start }) =>
  host.matMul
    ? attentionGradByMatMul(host, q, keys, values, dy, probs, start)
    : attentionGradByLoops(host, q, keys, values, dy, probs, start),
);

/** The attention gradient in stock ops: the fallback where ATTENTION_GRAD is missing, and its reference. */
export function attentionGradComposite(
  dy: tf.Tensor,
  q: tf.Tensor3D,
  allKeys: tf.Tensor3D,
  allValues: tf.Tensor3D,
  start: number,
): { q: tf.Tensor3D; keys: tf.Tensor3D; values: tf.Tensor3D } {
  return tf.tidy(() => {
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
    const dO = groupQueries(tf.reshape(dy, [tokens, heads, hs]), kvHeads);
    const dP = tf.matMul(dO, values, false, true);
    const dS = tf.div(tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true))), Math.sqrt(hs)) as tf.Tensor3D;
    return {
      q: tf.reshape(ungroupHeads(tf.matMul(dS, keys), tokens), [tokens, heads, hs]) as tf.Tensor3D,
      keys: padded(tf.matMul(dS, grouped, true, false)),
      values: padded(tf.matMul(p, dO, true, false)),
    };
  });
}

/**
 * With P the probabilities, O = P V and dO the incoming gradient (queries grouped per kv head):
 * dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)) / √d, dQ = dS K, dK = dSᵀ Q.
 * One host kernel where the backend has it (the composite's batched matmuls with transposed
 * operands and an inner size of one head leave XNNPACK on wasm, and do the masked half too),
 * reusing the probabilities when the forward pass returned them (exact: false).
 */
tf.registerGradient({
  kernelName: ATTENTION,
  inputsToSave: ['q', 'keys', 'values'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    const [q, keys, values, probs] = saved as tf.Tensor3D[];
    const dy = Array.isArray(dys) ? dys[0] : dys; // the probabilities' gradient is unused (zeros)
    const { start } = attrs as unknown as AttentionAttrs;
    let grads: { q: tf.Tensor3D; keys: tf.Tensor3D; values: tf.Tensor3D };
    if (hasKernel(ATTENTION_GRAD)) {
      const inputs: Record<string, tf.Tensor> = probs ? { q, keys, values, dy, probs } : { q, keys, values, dy };
      const [dq, dkeys, dvalues] = runKernelOutputs(ATTENTION_GRAD, inputs, {
        start,
      } satisfies AttentionGradAttrs) as tf.Tensor3D[];
      grads = { q: dq, keys: dkeys, values: dvalues };
    } else {
      grads = attentionGradComposite(dy, q, keys, values, start);
    }
    return { q: () => grads.q, keys: () => grads.keys, values: () => grads.values };
  },
});
