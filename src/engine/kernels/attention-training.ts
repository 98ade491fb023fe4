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
 *
 * The forward pass also returns the probabilities, [kvHeads, rows, n] (0 where a row may not look),
 * for the gradient to reuse: recomputing them (a product and an exp per score) would cost about a
 * third of the gradient. Without them (probs undefined) the gradient recomputes them.
 */

/** Query t sees positions 0..start+t. */
const seenBy = (row: number, group: number, start: number) => start + ((row / group) | 0) + 1;

/** Rows of x ([tokens, heads, hs], or [tokens, heads·hs]) for the query heads of kv head g, times `scale`: [rows, hs]. */
function gatherHeadRows(
  x: Float32Array,
  out: Float32Array,
  g: number,
  group: number,
  heads: number,
  hs: number,
  scale: number,
): void {
  const width = group * hs;
  const tokens = x.length / (heads * hs);
  for (let t = 0; t < tokens; t++) {
    const from = (t * heads + g * group) * hs;
    for (let e = 0; e < width; e++) out[t * width + e] = x[from + e] * scale;
  }
}

/** The inverse of gatherHeadRows: rows [rows, hs] · scale into x's heads of kv head g. */
function scatterHeadRows(
  rowsIn: Float32Array,
  x: Float32Array,
  g: number,
  group: number,
  heads: number,
  hs: number,
  scale: number,
): void {
  const width = group * hs;
  const tokens = x.length / (heads * hs);
  for (let t = 0; t < tokens; t++) {
    const to = (t * heads + g * group) * hs;
    for (let e = 0; e < width; e++) x[to + e] = rowsIn[t * width + e] * scale;
  }
}

/** Positions 0..n-1 of kv head g of a [kvHeads, capacity, hs] cache: [n, hs] into out, or [hs, n] when `transposed`. */
function gatherPositions(
  cache: Float32Array,
  out: Float32Array,
  g: number,
  capacity: number,
  n: number,
  hs: number,
  transposed: boolean,
): void {
  const from = g * capacity * hs;
  if (!transposed) {
    out.set(cache.subarray(from, from + n * hs));
    return;
  }
  for (let s = 0; s < n; s++) for (let i = 0; i < hs; i++) out[i * n + s] = cache[from + s * hs + i];
}

/** A [n, hs] gradient into kv head g of a [kvHeads, capacity, hs] gradient; positions n.. get 0. */
function scatterPositions(d: Float32Array, cache: Float32Array, g: number, capacity: number, n: number, hs: number): void {
  const from = g * capacity * hs;
  cache.set(d.subarray(0, n * hs), from);
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

const TILE = 16;
const tileDots = new Float64Array(TILE);

/**
 * dP → dS = P ⊙ (dP − rowsum(P ⊙ dP)), in place (0 wherever P is), and the transposes of P and
 * dS, [n, rows], into pT and dsT: sixteen rows at a time, so that both layouts stay in cache.
 */
function softmaxBackward(
  p: Float32Array,
  dp: Float32Array,
  pT: Float32Array,
  dsT: Float32Array,
  rows: number,
  n: number,
  group: number,
  start: number,
): void {
  const dots = tileDots;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, rows);
    for (let r = r0; r < r1; r++) {
      const seen = seenBy(r, group, start);
      let dot = 0;
      for (let c = 0, at = r * n; c < seen; c++) dot += p[at + c] * dp[at + c];
      dots[r - r0] = dot;
    }
    const seen = seenBy(r1 - 1, group, start); // the most any row of the tile sees
    for (let c = 0; c < seen; c++) {
      for (let r = r0, to = c * rows + r0; r < r1; r++, to++) {
        const i = r * n + c;
        const pv = p[i];
        const ds = pv * (dp[i] - dots[r - r0]); // 0 past the positions row r sees, where P is 0
        dp[i] = ds;
        dsT[to] = ds;
        pT[to] = pv;
      }
    }
    for (let c = seen; c < n; c++) {
      for (let to = c * rows + r0, end = c * rows + r1; to < end; to++) {
        dsT[to] = 0;
        pT[to] = 0;
      }
    }
    for (let r = r0; r < r1; r++) dp.fill(0, r * n + seen, (r + 1) * n);
  }
}

/** host.matMul, which the caller has checked is there. */
function matMulOf(host: HostMemory): (a: tf.TensorInfo, b: tf.TensorInfo) => tf.TensorInfo {
  if (!host.matMul) throw new Error('this backend has no fast matmul');
  return host.matMul.bind(host);
}

/**
 * softmax(Q Kᵀ/√d) V per kv head: Q/√d [rows, hs] × Kᵀ [hs, n], the causal softmax in place,
 * then P [rows, n] × V [n, hs]. The matmuls also fill the masked half, which XNNPACK does faster
 * than JavaScript would skip it, and the softmax zeroes it. Returns [output, probabilities].
 */
export function attendByMatMul(
  host: HostMemory,
  q: tf.TensorInfo,
  keys: tf.TensorInfo,
  values: tf.TensorInfo,
  start: number,
): tf.TensorInfo[] {
  const [tokens, heads, hs] = q.shape;
  const [kvHeads, capacity] = keys.shape;
  const group = heads / kvHeads;
  const rows = tokens * group;
  const n = start + tokens;
  const matMul = matMulOf(host);
  const out = host.allocate([tokens, heads * hs]);
  const probs = host.allocate([kvHeads, rows, n]);
  for (let g = 0; g < kvHeads; g++) {
    const qg = host.allocate([rows, hs]);
    const kT = host.allocate([hs, n]);
    const vg = host.allocate([n, hs]);
    gatherHeadRows(host.view(q), host.view(qg), g, group, heads, hs, 1 / Math.sqrt(hs));
    gatherPositions(host.view(keys), host.view(kT), g, capacity, n, hs, true);
    gatherPositions(host.view(values), host.view(vg), g, capacity, n, hs, false);
    const p = matMul(qg, kT);
    causalSoftmax(host.view(p), rows, n, group, start);
    const o = matMul(p, vg);
    scatterHeadRows(host.view(o), host.view(out), g, group, heads, hs, 1);
    host.view(probs).set(host.view(p), g * rows * n);
    for (const t of [qg, kT, vg, p, o]) host.free(t);
  }
  return [out, probs];
}

/**
 * The gradient per kv head, with Q̃ = Q/√d and P = softmax(Q̃ Kᵀ) (saved, or recomputed):
 * dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dV = Pᵀ dO, dQ = dS K / √d, dK = dSᵀ Q̃.
 * The large operands, P and dS ([rows, n]) and their transposes, are always the left one: XNNPACK
 * repacks the right operand on every call, which for these costs more than transposing them as
 * dS is computed.
 */
export function attentionGradByMatMul(
  host: HostMemory,
  q: tf.TensorInfo,
  keys: tf.TensorInfo,
  values: tf.TensorInfo,
  dy: tf.TensorInfo,
  probs: tf.TensorInfo | undefined,
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
    const kg = host.allocate([n, hs]);
    const vT = host.allocate([hs, n]);
    const dO = host.allocate([rows, hs]);
    const pT = host.allocate([n, rows]);
    const dsT = host.allocate([n, rows]);
    gatherHeadRows(host.view(q), host.view(qg), g, group, heads, hs, inv);
    gatherPositions(host.view(keys), host.view(kg), g, capacity, n, hs, false);
    gatherPositions(host.view(values), host.view(vT), g, capacity, n, hs, true);
    gatherHeadRows(host.view(dy), host.view(dO), g, group, heads, hs, 1);
    let recomputed: tf.TensorInfo | undefined;
    if (!probs) {
      const kT = host.allocate([hs, n]);
      gatherPositions(host.view(keys), host.view(kT), g, capacity, n, hs, true);
      recomputed = matMul(qg, kT);
      causalSoftmax(host.view(recomputed), rows, n, group, start);
      host.free(kT);
    }
    const dp = matMul(dO, vT);
    // P (a view, so taken after the last allocation before its use): saved, or recomputed.
    const p = recomputed ? host.view(recomputed) : host.view(probs!).subarray(g * rows * n, (g + 1) * rows * n);
    softmaxBackward(p, host.view(dp), host.view(pT), host.view(dsT), rows, n, group, start); // dp now holds dS
    const dv = matMul(pT, dO);
    const dqg = matMul(dp, kg);
    const dk = matMul(dsT, qg);
    scatterHeadRows(host.view(dqg), host.view(dq), g, group, heads, hs, inv);
    scatterPositions(host.view(dk), host.view(dkeys), g, capacity, n, hs);
    scatterPositions(host.view(dv), host.view(dvalues), g, capacity, n, hs);
    for (const t of [qg, kg, vT, dO, pT, dsT, dp, dv, dqg, dk]) host.free(t);
    if (recomputed) host.free(recomputed);
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
    if (d0 > max) max = d0;
    if (d1 > max) max = d1;
    if (d2 > max) max = d2;
    if (d3 > max) max = d3;
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

/** Where row (t, h) of kv head h / group starts in probabilities [kvHeads, rows, n]. */
const probsAt = (t: number, h: number, group: number, rows: number, n: number) =>
  (((h / group) | 0) * rows + t * group + (h % group)) * n;

/**
 * Attention one query row at a time in float64, over the positions each row sees (cpu).
 * Returns [output, probabilities].
 */
export function attendByLoops(
  host: HostMemory,
  qT: tf.TensorInfo,
  keysT: tf.TensorInfo,
  valuesT: tf.TensorInfo,
  start: number,
): tf.TensorInfo[] {
  const [tokens, heads, hs] = qT.shape;
  const [kvHeads, capacity] = keysT.shape;
  const group = heads / kvHeads;
  const rows = tokens * group;
  const n = start + tokens;
  const outT = host.allocate([tokens, heads * hs]);
  const probsT = host.allocate([kvHeads, rows, n]);
  const [q, keys, values, out, saved] = [qT, keysT, valuesT, outT, probsT].map((t) => host.view(t));
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
      let i = 0;
      for (; i + 4 <= hs; i += 4) {
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        for (let s = 0, vAt = kvAt + i; s < seen; s++, vAt += hs) {
          const ps = p[s];
          a0 += ps * values[vAt];
          a1 += ps * values[vAt + 1];
          a2 += ps * values[vAt + 2];
          a3 += ps * values[vAt + 3];
        }
        out[qAt + i] = a0;
        out[qAt + i + 1] = a1;
        out[qAt + i + 2] = a2;
        out[qAt + i + 3] = a3;
      }
      for (; i < hs; i++) {
        let a = 0;
        for (let s = 0, vAt = kvAt + i; s < seen; s++, vAt += hs) a += p[s] * values[vAt];
        out[qAt + i] = a;
      }
      const at = probsAt(t, h, group, rows, n);
      for (let s = 0; s < seen; s++) saved[at + s] = p[s];
      saved.fill(0, at + seen, at + n);
    }
  }
  return [outT, probsT];
}

/**
 * The gradient one query row at a time in float64 (cpu). With p the row's probabilities
 * (saved, or recomputed) and dy the gradient of its output: dv_s += p_s dy, dp_s = dy · v_s,
 * ds_s = p_s (dp_s − Σ p dp), dq = Σ_s ds_s k_s / √d, dk_s += ds_s q / √d.
 */
export function attentionGradByLoops(
  host: HostMemory,
  qT: tf.TensorInfo,
  keysT: tf.TensorInfo,
  valuesT: tf.TensorInfo,
  dyT: tf.TensorInfo,
  probsT: tf.TensorInfo | undefined,
  start: number,
): tf.TensorInfo[] {
  const [tokens, heads, hs] = qT.shape;
  const [kvHeads, capacity] = keysT.shape;
  const outs = [host.allocate(qT.shape), host.allocate(keysT.shape), host.allocate(valuesT.shape)];
  const [q, keys, values, dy, dq, dkeys, dvalues] = [qT, keysT, valuesT, dyT, ...outs].map((t) => host.view(t));
  const saved = probsT && host.view(probsT);
  const group = heads / kvHeads;
  const rows = tokens * group;
  const n = start + tokens;
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
      if (saved) for (let s = 0, at = probsAt(t, h, group, rows, n); s < seen; s++) p[s] = saved[at + s];
      else softmaxRow(keys, kvAt, hs, seen);
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
