import * as tf from '@tensorflow/tfjs-core';
import { rotatePairs, type RopePositions } from '../layers/rope.ts';
import { hasKernel, registerHostKernel, runKernel, runKernelOutputs } from './registry.ts';
import { registerWebGpuKernel } from './webgpu/program.ts';
import { ropeQkvWebGpu } from './webgpu/rope.ts';

/**
 * RoPE on the fused projection [Wq; Wk; Wv] h: splits it into heads and rotates the queries and
 * keys (they share each position's rotation), leaving the values as they are. One kernel
 * instead of a split and two rotations of seven kernels each.
 */
export const ROPE_QKV = 'LlamaRopeQkv';

/** Its gradient as one host kernel: d[q | k | v] from dq, dk, dv (q and k rotated back). */
export const ROPE_QKV_GRAD = 'LlamaRopeQkvGrad';

export interface RopeQkvAttrs {
  /** Position of the first row (also in the optional int32 input `position`, for kernels that read it on the device: webgpu/position.ts). */
  start: number;
  nHeads: number;
  nKvHeads: number;
}

export interface HeadsQkv {
  /** [tokens, heads, headSize] each; q and k rotated. */
  q: tf.Tensor3D;
  k: tf.Tensor3D;
  v: tf.Tensor3D;
}

/** qkv: [tokens, (nHeads + 2·nKvHeads)·headSize] → q, k, v split into heads (unrotated). */
export function splitHeads(qkv: tf.Tensor2D, nHeads: number, nKvHeads: number): HeadsQkv {
  const [t, width] = qkv.shape;
  const hs = width / (nHeads + 2 * nKvHeads);
  const [q, k, v] = tf.split(qkv, [nHeads * hs, nKvHeads * hs, nKvHeads * hs], -1);
  return {
    q: tf.reshape(q, [t, nHeads, hs]),
    k: tf.reshape(k, [t, nKvHeads, hs]),
    v: tf.reshape(v, [t, nKvHeads, hs]),
  };
}

/** The same math as stock ops: q and k rotated together, as one [tokens, heads + kvHeads, hs] tensor. */
export function ropeQkvComposite(qkv: tf.Tensor2D, at: RopePositions, nHeads: number, nKvHeads: number): HeadsQkv {
  const { cos, sin } = at.rows(); // outside the tidy: shared by every layer of this forward pass
  const [q, k, v] = tf.tidy(() => {
    const [t, width] = qkv.shape;
    const hs = width / (nHeads + 2 * nKvHeads);
    const [qk, v] = tf.split(qkv, [(nHeads + nKvHeads) * hs, nKvHeads * hs], -1);
    const [q, k] = tf.split(rotatePairs(tf.reshape(qk, [t, nHeads + nKvHeads, hs]), cos, sin), [nHeads, nKvHeads], 1);
    return [q, k, tf.reshape(v, [t, nKvHeads, hs])] as tf.Tensor3D[];
  });
  return { q, k, v };
}

export function ropeQkv(qkv: tf.Tensor2D, at: RopePositions, nHeads: number, nKvHeads: number): HeadsQkv {
  if (!hasKernel(ROPE_QKV)) return ropeQkvComposite(qkv, at, nHeads, nKvHeads);
  const attrs: RopeQkvAttrs = { start: at.start, nHeads, nKvHeads };
  const [q, k, v] = runKernelOutputs(ROPE_QKV, { qkv, cos: at.tables.cos, sin: at.tables.sin, position: at.tensor() }, attrs) as tf.Tensor3D[];
  return { q, k, v };
}

const f = Math.fround;

/**
 * Rotates `heads` heads of `hs` values per row, read from column `from` of rows `width` wide,
 * into `out` ([rows, heads·hs]), by the table rows of positions start... Each output is rounded
 * to float32 after products rounded to float32, as llama2.c computes it.
 */
export function rotateHeads(
  x: Float32Array,
  width: number,
  from: number,
  heads: number,
  hs: number,
  cos: Float32Array,
  sin: Float32Array,
  start: number,
  out: Float32Array,
): void {
  const rows = out.length / (heads * hs);
  for (let row = 0, o = 0; row < rows; row++) {
    const table = (start + row) * hs;
    for (let h = 0, src = row * width + from; h < heads; h++, src += hs, o += hs) {
      for (let i = 0; i < hs; i += 2) {
        const x0 = x[src + i];
        const x1 = x[src + i + 1];
        out[o + i] = f(x0 * cos[table + i]) + f(x1 * sin[table + i]);
        out[o + i + 1] = f(x1 * cos[table + i + 1]) + f(x0 * sin[table + i + 1]);
      }
    }
  }
}

/** Copies columns from..from+n of rows `width` wide into `out` ([rows, n]). */
export function copyColumns(x: Float32Array, width: number, from: number, n: number, out: Float32Array): void {
  for (let row = 0, o = 0; o < out.length; row++, o += n) out.set(x.subarray(row * width + from, row * width + from + n), o);
}

registerWebGpuKernel(ROPE_QKV, ropeQkvWebGpu);

registerHostKernel<RopeQkvAttrs>(ROPE_QKV, (host, { qkv, cos, sin }, { start, nHeads, nKvHeads }) => {
  const [tokens, width] = qkv.shape;
  const hs = width / (nHeads + 2 * nKvHeads);
  const q = host.allocate([tokens, nHeads, hs]);
  const k = host.allocate([tokens, nKvHeads, hs]);
  const v = host.allocate([tokens, nKvHeads, hs]);
  const x = host.view(qkv);
  const c = host.view(cos);
  const s = host.view(sin);
  rotateHeads(x, width, 0, nHeads, hs, c, s, start, host.view(q));
  rotateHeads(x, width, nHeads * hs, nKvHeads, hs, c, s, start, host.view(k));
  copyColumns(x, width, (nHeads + nKvHeads) * hs, nKvHeads * hs, host.view(v));
  return [q, k, v];
}, ['position']);

/**
 * The rotation is orthogonal: its gradient rotates dq and dk back (by −angle); v passes through.
 * In stock ops: the fallback where ROPE_QKV_GRAD is missing, and its reference.
 */
export function ropeQkvGradComposite(
  dq: tf.Tensor3D,
  dk: tf.Tensor3D,
  dv: tf.Tensor3D,
  cosTable: tf.Tensor2D,
  sinTable: tf.Tensor2D,
  start: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const [t, , hs] = dq.shape;
    const rows = (m: tf.Tensor2D) => tf.reshape(tf.slice(m, [start, 0], [t, hs]), [t, 1, hs]) as tf.Tensor3D;
    const cos = rows(cosTable);
    const minusSin = tf.neg(rows(sinTable));
    const back = (d: tf.Tensor3D) => tf.reshape(rotatePairs(d, cos, minusSin), [t, -1]);
    return tf.concat([back(dq), back(dk), tf.reshape(dv, [t, -1])], -1) as tf.Tensor2D;
  });
}

/**
 * The transpose of rotateHeads: heads of `hs` values from d ([rows, heads·hs]), rotated back and
 * written to column `from` of rows `width` wide in out. Pair (d0, d1) at element i:
 * (d0·cos_i + d1·sin_i+1, d1·cos_i+1 + d0·sin_i), with the signed tables of rotateHeads.
 */
function rotateHeadsBack(
  d: Float32Array,
  heads: number,
  hs: number,
  cos: Float32Array,
  sin: Float32Array,
  start: number,
  out: Float32Array,
  width: number,
  from: number,
): void {
  const rows = d.length / (heads * hs);
  for (let row = 0, o = 0; row < rows; row++) {
    const table = (start + row) * hs;
    for (let h = 0, dst = row * width + from; h < heads; h++, dst += hs, o += hs) {
      for (let i = 0; i < hs; i += 2) {
        const d0 = d[o + i];
        const d1 = d[o + i + 1];
        out[dst + i] = d0 * cos[table + i] + d1 * sin[table + i + 1];
        out[dst + i + 1] = d1 * cos[table + i + 1] + d0 * sin[table + i];
      }
    }
  }
}

registerHostKernel<RopeQkvAttrs>(ROPE_QKV_GRAD, (host, { dq, dk, dv, cos, sin }, { start, nHeads, nKvHeads }) => {
  const [tokens, , hs] = dq.shape;
  const width = (nHeads + 2 * nKvHeads) * hs;
  const out = host.allocate([tokens, width]);
  const o = host.view(out);
  const c = host.view(cos);
  const s = host.view(sin);
  rotateHeadsBack(host.view(dq), nHeads, hs, c, s, start, o, width, 0);
  rotateHeadsBack(host.view(dk), nKvHeads, hs, c, s, start, o, width, nHeads * hs);
  const v = host.view(dv);
  const vWidth = nKvHeads * hs;
  for (let row = 0; row < tokens; row++)
    o.set(v.subarray(row * vWidth, (row + 1) * vWidth), row * width + (nHeads + nKvHeads) * hs);
  return out;
});

tf.registerGradient({
  kernelName: ROPE_QKV,
  inputsToSave: ['cos', 'sin'],
  gradFunc: (dys, saved, attrs) => {
    const [dq, dk, dv] = dys as tf.Tensor3D[];
    const [cosTable, sinTable] = saved as tf.Tensor2D[];
    const ropeAttrs = attrs as unknown as RopeQkvAttrs;
    return {
      qkv: () =>
        hasKernel(ROPE_QKV_GRAD)
          ? runKernel<tf.Tensor2D>(ROPE_QKV_GRAD, { dq, dk, dv, cos: cosTable, sin: sinTable }, ropeAttrs)
          : ropeQkvGradComposite(dq, dk, dv, cosTable, sinTable, ropeAttrs.start),
      cos: () => tf.zerosLike(cosTable),
      sin: () => tf.zerosLike(sinTable),
    };
  },
});
