import type * as tf from '@tensorflow/tfjs-core';
import type { HostMemory } from './registry.ts';

/**
 * Attention for training, forward and gradient, on the host backends. Training needs no bit-exact
 * match with llama2.c (inference does, see attendRows), so these compute as fast as each backend
 * allows, within float32 rounding of the stock-op composite:
 *
 *  - where the backend has a fast matmul (wasm: XNNPACK), each kv head's products are matmuls with
 *    no transposed operand, [rows, hs] × [hs, positions] and the like, and JavaScript does only
 *    the elementwise work of the causal softmax and its gradient;
 *  - elsewhere (cpu), JavaScript loops in float64 over the causal half only.
 *
 * Shapes as for the attention kernel: q [tokens, heads, hs] at positions start..; keys, values
 * [kvHeads, capacity, hs], of which the first n = start + tokens positions are read. The rows of
 * one kv head are its `group` = heads / kvHeads query heads at each token, row r = t·group + j.
 */

/** Query t sees positions 0..start+t. */
const seenBy = (row: number, group: number, start: number) => start + ((row / group) | 0) + 1;

/**
 * Rows of x ([tokens, heads, hs], or [tokens, heads·hs]) for the query heads of kv head g, times
 * `scale`: [rows, hs] into out, or transposed, [hs, rows], when `transposed`.
 */
function gatherHeadRows(x: Float32Array, out: Float32Array, g: number, group: number, heads: number, hs: number, scale: number, transposed: boolean): void {
  const width = group * hs;
  const tokens = x.length / (heads * hs);
  const rows = tokens * group;
  for (let t = 0; t < tokens; t++) {
    const from = (t * heads + g * group) * hs;
    if (!transposed) {
      for (let e = 0; e < width; e++) out[t * width + e] = x[from + e] * scale;
    } else {
      for (let j = 0; j < group; j++) {
        const r = t * group + j;
        for (let i = 0; i < hs; i++) out[i * rows + r] = x[from + j * hs + i] * scale;
      }
    }
  }
}

/** The inverse of gatherHeadRows (not transposed): rows [rows, hs] · scale into x's heads of kv head g. */
function scatterHeadRows(rowsIn: Float32Array, x: Float32Array, g: number, group: number, heads: number, hs: number, scale: number): void {
  const width = group * hs;
  const tokens = x.length / (heads * hs);
  for (let t = 0; t < tokens; t++) {
    const to = (t * heads + g * group) * hs;
    for (let e = 0; e < width; e++) x[to + e] = rowsIn[t * width + e] * scale;
  }
}

/** Positions 0..n-1 of kv head g of a [kvHeads, capacity, hs] cache: [n, hs] into out, or [hs, n] when `transposed`. */
function gatherPositions(cache: Float32Array, out: Float32Array, g: number, capacity: number, n: number, hs: number, transposed: boolean): void {
  const from = g * capacity * hs;
  if (!transposed) {
    out.set(cache.subarray(from, from + n * hs));
    return;
  }
  for (let s = 0; s < n; s++) for (let i = 0; i < hs; i++) out[i * n + s] = cache[from + s * hs + i];
}

/** A [hs, n] gradient back into kv head g of a [kvHeads, capacity, hs] gradient; positions n.. get 0. */
function scatterPositionsTransposed(dT: Float32Array, cache: Float32Array, g: number, capacity: number, n: number, hs: number): void {
  const from = g * capacity * hs;
  for (let s = 0; s < n; s++) for (let i = 0; i < hs; i++) cache[from + s * hs + i] = dT[i * n + s];
  cache.fill(0, from + n * hs, from + capacity * hs);
}

/** Scores [rows, n] → causal softmax probabilities, in place; the positions a row may not see get 0. */
function causalSoftmax(s: Float32Array, rows: number, n: number, group: number, start: number): void {
  for (let r = 0, at = 0; r < rows; r++, at += n) {
    const seen = seenBy(r, group, start);
    let max = -Infinity;
    for (let c = 0; c < seen; c++) if (s[at + c] > max) max = s[at + c];
    let sum = 0;
    for (let c = 0; c < seen; c++) {
      const e = Math.exp(s[at + c] - max);
      s[at + c] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let c = 0; c < seen; c++) s[at + c] *= inv;
    s.fill(0, at + seen, at + n);
  }
}

/** dP → dS = P ⊙ (dP − rowsum(P ⊙ dP)), in place (0 wherever P is). */
function softmaxBackward(p: Float32Array, dp: Float32Array, rows: number, n: number, group: number, start: number): void {
  for (let r = 0, at = 0; r < rows; r++, at += n) {
    const seen = seenBy(r, group, start);
    let dot = 0;
    for (let c = 0; c < seen; c++) dot += p[at + c] * dp[at + c];
    for (let c = 0; c < seen; c++) dp[at + c] = p[at + c] * (dp[at + c] - dot);
    dp.fill(0, at + seen, at + n);
  }
}

/** host.matMul, which the caller has checked is there. */
function matMulOf(host: HostMemory): (a: tf.TensorInfo, b: tf.TensorInfo) => tf.TensorInfo {
  if (!host.matMul) throw new Error('this backend has no fast matmul');
  return host.matMul.bind(host);
}

/**
 * softmax(Q Kᵀ/√d) V per kv head: Q/√d [rows, hs] × Kᵀ [hs, n], the causal softmax in place,
 * then P [rows, n] × V [n, hs]. The matmuls fill the masked half too (it is cheaper for XNNPACK to
 * than to skip), which the softmax then zeroes.
 */
export function attendByMatMul(host: HostMemory, q: tf.TensorInfo, keys: tf.TensorInfo, values: tf.TensorInfo, start: number): tf.TensorInfo {
  const [tokens, heads, hs] = q.shape;
  const [kvHeads, capacity] = keys.shape;
  const group = heads / kvHeads;
  const rows = tokens * group;
  const n = start + tokens;
  const matMul = matMulOf(host);
  const out = host.allocate([tokens, heads * hs]);
  for (let g = 0; g < kvHeads; g++) {
    const qg = host.allocate([rows, hs]);
    const kT = host.allocate([hs, n]);
    const vg = host.allocate([n, hs]);
    gatherHeadRows(host.view(q), host.view(qg), g, group, heads, hs, 1 / Math.sqrt(hs), false);
    gatherPositions(host.view(keys), host.view(kT), g, capacity, n, hs, true);
    gatherPositions(host.view(values), host.view(vg), g, capacity, n, hs, false);
    const p = matMul(qg, kT);
    causalSoftmax(host.view(p), rows, n, group, start);
    const o = matMul(p, vg);
    scatterHeadRows(host.view(o), host.view(out), g, group, heads, hs, 1);
    for (const t of [qg, kT, vg, p, o]) host.free(t);
  }
  return out;
}

/**
 * The gradient per kv head, all six products as matmuls with no transposed operand (a product
 * wanted transposed is computed as the transpose of its transpose, [hs, n], and read back so):
 * P = softmax(Q Kᵀ/√d) recomputed, dP = dO Vᵀ, dVᵀ = dOᵀ P, dS = P ⊙ (dP − rowsum(P ⊙ dP)),
 * dQ = dS K / √d, dKᵀ = (Q/√d)ᵀ dS.
 */
export function attentionGradByMatMul(
  host: HostMemory,
  q: tf.TensorInfo,
  keys: tf.TensorInfo,
  values: tf.TensorInfo,
  dy: tf.TensorInfo,
  start: number,
): tf.TensorInfo[] {
  const [tokens, heads, hs] = q.shape;
  const [kvHeads, capacity] = keys.shape;
  const group = heads / kvHeads;
  const rows = tokens * group;
  const n = start + tokens;
  const inv = 1 / Math.sqrt(hs);
  const matMul = matMulOf(host);
  const dq = host.allocate([tokens, heads, hs]);
  const dkeys = host.allocate(keys.shape);
  const dvalues = host.allocate(values.shape);
  for (let g = 0; g < kvHeads; g++) {
    const qg = host.allocate([rows, hs]);
    const qgT = host.allocate([hs, rows]);
    const kT = host.allocate([hs, n]);
    const kg = host.allocate([n, hs]);
    const vT = host.allocate([hs, n]);
    const dO = host.allocate([rows, hs]);
    const dOT = host.allocate([hs, rows]);
    gatherHeadRows(host.view(q), host.view(qg), g, group, heads, hs, inv, false);
    gatherHeadRows(host.view(q), host.view(qgT), g, group, heads, hs, inv, true);
    gatherPositions(host.view(keys), host.view(kT), g, capacity, n, hs, true);
    gatherPositions(host.view(keys), host.view(kg), g, capacity, n, hs, false);
    gatherPositions(host.view(values), host.view(vT), g, capacity, n, hs, true);
    gatherHeadRows(host.view(dy), host.view(dO), g, group, heads, hs, 1, false);
    gatherHeadRows(host.view(dy), host.view(dOT), g, group, heads, hs, 1, true);
    const p = matMul(qg, kT);
    causalSoftmax(host.view(p), rows, n, group, start);
    const dp = matMul(dO, vT);
    const dvT = matMul(dOT, p);
    softmaxBackward(host.view(p), host.view(dp), rows, n, group, start); // dp now holds dS
    const dqg = matMul(dp, kg);
    const dkT = matMul(qgT, dp);
    scatterHeadRows(host.view(dqg), host.view(dq), g, group, heads, hs, inv);
    scatterPositionsTransposed(host.view(dkT), host.view(dkeys), g, capacity, n, hs);
    scatterPositionsTransposed(host.view(dvT), host.view(dvalues), g, capacity, n, hs);
    for (const t of [qg, qgT, kT, kg, vT, dO, dOT, p, dp, dvT, dqg, dkT]) host.free(t);
  }
  return [dq, dkeys, dvalues];
}

/** Scratch, grown on demand: one query row's probabilities and their gradients, and q, dy, dq rows. */
let probs = new Float64Array(1024);
let dProbs = new Float64Array(1024);
let qRow = new Float64Array(128);
let dyRow = new Float64Array(128);
let dqRow = new Float64Array(128);
/** Float64 accumulators for the key and value gradients, [kvHeads, capacity, hs]. */
let dKeys = new Float64Array(0);
let dValues = new Float64Array(0);

function growRows(capacity: number, hs: number): void {
  if (probs.length < capacity) {
    probs = new Float64Array(capacity);
    dProbs = new Float64Array(capacity);
  }
  if (qRow.length < hs) {
    qRow = new Float64Array(hs);
    dyRow = new Float64Array(hs);
    dqRow = new Float64Array(hs);
  }
}

/** probs[0..seen) = the softmax of qRow (the query, already / √d) against keys kvAt.., in float64. */
function softmaxRow(keys: Float32Array, kvAt: number, hs: number, seen: number): void {
  const p = probs;
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
      const qi = qRow[i];
      d0 += qi * keys[k0 + i];
      d1 += qi * keys[k1 + i];
      d2 += qi * keys[k2 + i];
      d3 += qi * keys[k3 + i];
    }
    p[s] = d0;
    p[s + 1] = d1;
    p[s + 2] = d2;
    p[s + 3] = d3;
    max = Math.max(max, d0, d1, d2, d3);
  }
  for (let kAt = kvAt + s * hs; s < seen; s++, kAt += hs) {
    let dot = 0;
    for (let i = 0; i < hs; i++) dot += qRow[i] * keys[kAt + i];
    p[s] = dot;
    if (dot > max) max = dot;
  }
  let sum = 0;
  for (let s = 0; s < seen; s++) {
    const e = Math.exp(p[s] - max);
    p[s] = e;
    sum += e;
  }
  const r = 1 / sum;
  for (let s = 0; s < seen; s++) p[s] *= r;
}

/** Attention one query row at a time in float64, over the positions each row sees (cpu). */
export function attendFast(host: HostMemory, qT: tf.TensorInfo, keysT: tf.TensorInfo, valuesT: tf.TensorInfo, start: number): tf.TensorInfo {
  const [tokens, heads, hs] = qT.shape;
  const [kvHeads, capacity] = keysT.shape;
  const outT = host.allocate([tokens, heads * hs]);
  const [q, keys, values, out] = [qT, keysT, valuesT, outT].map((t) => host.view(t));
  const group = heads / kvHeads;
  const inv = 1 / Math.sqrt(hs);
  growRows(capacity, hs);
  const p = probs;
  for (let t = 0; t < tokens; t++) {
    const seen = start + t + 1;
    for (let h = 0; h < heads; h++) {
      const qAt = (t * heads + h) * hs;
      const kvAt = ((h / group) | 0) * capacity * hs;
      for (let i = 0; i < hs; i++) qRow[i] = q[qAt + i] * inv;
      softmaxRow(keys, kvAt, hs, seen);
      for (let i = 0; i < hs; i++) {
        let a = 0;
        for (let s = 0, vAt = kvAt + i; s < seen; s++, vAt += hs) a += p[s] * values[vAt];
        out[qAt + i] = a;
      }
    }
  }
  return outT;
}

/**
 * The gradient one query row at a time in float64 (cpu). With p the row's probabilities
 * (recomputed) and dy the gradient of its output: dv_s += p_s dy, dp_s = dy · v_s,
 * ds_s = p_s (dp_s − Σ p dp), dq = Σ_s ds_s k_s / √d, dk_s += ds_s q / √d.
 */
export function attentionGradFast(
  host: HostMemory,
  qT: tf.TensorInfo,
  keysT: tf.TensorInfo,
  valuesT: tf.TensorInfo,
  dyT: tf.TensorInfo,
  start: number,
): tf.TensorInfo[] {
  const [tokens, heads, hs] = qT.shape;
  const [kvHeads, capacity] = keysT.shape;
  const outs = [host.allocate(qT.shape), host.allocate(keysT.shape), host.allocate(valuesT.shape)];
  const [q, keys, values, dy, dq, dkeys, dvalues] = [qT, keysT, valuesT, dyT, ...outs].map((t) => host.view(t));
  const group = heads / kvHeads;
  const inv = 1 / Math.sqrt(hs);
  growRows(capacity, hs);
  const size = kvHeads * capacity * hs;
  if (dKeys.length < size) {
    dKeys = new Float64Array(size);
    dValues = new Float64Array(size);
  }
  const dK = dKeys;
  const dV = dValues;
  dK.fill(0, 0, size);
  dV.fill(0, 0, size);
  const p = probs;
  const dp = dProbs;
  for (let t = 0; t < tokens; t++) {
    const seen = start + t + 1;
    for (let h = 0; h < heads; h++) {
      const qAt = (t * heads + h) * hs;
      const kvAt = ((h / group) | 0) * capacity * hs;
      for (let i = 0; i < hs; i++) {
        qRow[i] = q[qAt + i] * inv;
        dyRow[i] = dy[qAt + i];
        dqRow[i] = 0;
      }
      softmaxRow(keys, kvAt, hs, seen);
      let rowSum = 0;
      for (let s = 0, vAt = kvAt; s < seen; s++, vAt += hs) {
        const ps = p[s];
        let d = 0;
        for (let i = 0; i < hs; i++) {
          d += dyRow[i] * values[vAt + i];
          dV[vAt + i] += ps * dyRow[i];
        }
        dp[s] = d;
        rowSum += ps * d;
      }
      for (let s = 0, kAt = kvAt; s < seen; s++, kAt += hs) {
        const ds = p[s] * (dp[s] - rowSum);
        for (let i = 0; i < hs; i++) {
          dqRow[i] += ds * keys[kAt + i];
          dK[kAt + i] += ds * qRow[i];
        }
      }
      for (let i = 0; i < hs; i++) dq[qAt + i] = dqRow[i] * inv;
    }
  }
  for (let i = 0; i < size; i++) {
    dkeys[i] = dK[i];
    dvalues[i] = dV[i];
  }
  return outs;
}
