import * as tf from '@tensorflow/tfjs-core';
import { hasKernel, registerHostKernel, runKernel, runKernelOutputs } from './registry.ts';
import { registerWebGpuKernel } from './webgpu/program.ts';
import { rmsNormWebGpu } from './webgpu/rms-norm.ts';

/**
 * RMSNorm (Zhang & Sennrich 2019) over the last axis: y = w ⊙ x / sqrt(mean(x²) + ε).
 * One kernel instead of six (square, mean, add, rsqrt, two multiplies).
 */
export const RMS_NORM = 'LlamaRmsNorm';

/** Its gradient as one host kernel: dx and dweight from x, weight and the output's gradient. */
export const RMS_NORM_GRAD = 'LlamaRmsNormGrad';

export interface RmsNormAttrs {
  eps: number;
}

/** The same math as stock ops: the fallback, and the reference the fused kernel is tested against. */
export function rmsNormComposite<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, eps: number): T {
  return tf.tidy(() => {
    const meanSquare = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), weight);
  });
}

export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, eps: number): T {
  if (!hasKernel(RMS_NORM)) return rmsNormComposite(x, weight, eps);
  return runKernel<T>(RMS_NORM, { x, weight }, { eps } satisfies RmsNormAttrs);
}

const f = Math.fround;

/**
 * y = w ⊙ x / sqrt(mean(x²) + ε) for each row of x, in float32 and in llama2.c's order of
 * operations, so the result is the reference's to the bit.
 */
export function rmsNormRows(x: Float32Array, w: Float32Array, y: Float32Array, eps: number): void {
  const dim = w.length;
  const e = f(eps);
  for (let row = 0; row < x.length; row += dim) {
    let ss = 0;
    for (let j = 0; j < dim; j++) ss = f(ss + f(x[row + j] * x[row + j]));
    const r = f(1 / f(Math.sqrt(f(f(ss / dim) + e))));
    for (let j = 0; j < dim; j++) y[row + j] = w[j] * f(r * x[row + j]);
  }
}

registerWebGpuKernel(RMS_NORM, rmsNormWebGpu);

registerHostKernel<RmsNormAttrs>(RMS_NORM, (host, { x, weight }, { eps }) => {
  const y = host.allocate(x.shape);
  rmsNormRows(host.view(x), host.view(weight), host.view(y), eps);
  return y;
});

/**
 * With g = dy ⊙ w and r = 1/sqrt(mean(x²) + ε):
 * dx = r·g − x·r³·mean(g ⊙ x), dw = Σ_rows dy ⊙ x·r. In stock ops: the fallback where
 * RMS_NORM_GRAD is missing, and its reference.
 */
export function rmsNormGradComposite<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, dy: T, eps: number): [T, tf.Tensor1D] {
  return tf.tidy(() => {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
    const g = tf.mul(dy, weight);
    const proj = tf.mean(tf.mul(g, x), -1, true);
    const dx = tf.sub(tf.mul(g, r), tf.mul(x, tf.mul(tf.pow(r, 3), proj))) as T;
    const dw = tf.reshape(tf.sum(tf.reshape(tf.mul(dy, tf.mul(x, r)), [-1, weight.shape[0]]), 0), weight.shape) as tf.Tensor1D;
    return [dx, dw];
  });
}

let dwSum = new Float64Array(0);

/** The same in one pass per row, in float64 (rounded to float32 once, at the end). */
export function rmsNormGradRows(
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  dw: Float32Array,
  eps: number,
): void {
  const dim = w.length;
  if (dwSum.length < dim) dwSum = new Float64Array(dim);
  const acc = dwSum;
  acc.fill(0, 0, dim);
  for (let row = 0; row < x.length; row += dim) {
    let ss = 0;
    let gx = 0;
    for (let j = 0; j < dim; j++) {
      const xj = x[row + j];
      ss += xj * xj;
      gx += dy[row + j] * w[j] * xj;
    }
    const r = 1 / Math.sqrt(ss / dim + eps);
    const c = r * r * r * (gx / dim);
    for (let j = 0; j < dim; j++) {
      const xj = x[row + j];
      const d = dy[row + j];
      dx[row + j] = r * d * w[j] - xj * c;
      acc[j] += d * xj * r;
    }
  }
  for (let j = 0; j < dim; j++) dw[j] = acc[j];
}

registerHostKernel<RmsNormAttrs>(RMS_NORM_GRAD, (host, { x, weight, dy }, { eps }) => {
  const dx = host.allocate(x.shape);
  const dw = host.allocate(weight.shape);
  rmsNormGradRows(host.view(x), host.view(weight), host.view(dy), host.view(dx), host.view(dw), eps);
  return [dx, dw];
});

tf.registerGradient({
  kernelName: RMS_NORM,
  inputsToSave: ['x', 'weight'],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight] = saved as [tf.Tensor, tf.Tensor1D];
    const { eps } = attrs as unknown as RmsNormAttrs;
    const [dx, dw] = hasKernel(RMS_NORM_GRAD)
      ? runKernelOutputs(RMS_NORM_GRAD, { x, weight, dy: dy as tf.Tensor }, { eps } satisfies RmsNormAttrs)
      : rmsNormGradComposite(x, weight, dy as tf.Tensor, eps);
    return { x: () => dx, weight: () => dw };
  },
});
