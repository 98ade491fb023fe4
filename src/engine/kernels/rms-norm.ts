import * as tf from '@tensorflow/tfjs-core';
import { hasKernel, registerHostKernel, runKernel } from './registry.ts';

/**
 * RMSNorm (Zhang & Sennrich 2019) over the last axis: y = w ⊙ x / sqrt(mean(x²) + ε).
 * One kernel instead of six (square, mean, add, rsqrt, two multiplies).
 */
export const RMS_NORM = 'LlamaRmsNorm';

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

registerHostKernel<RmsNormAttrs>(RMS_NORM, (host, { x, weight }, { eps }) => {
  const y = host.allocate(x.shape);
  rmsNormRows(host.view(x), host.view(weight), host.view(y), eps);
  return y;
});

/**
 * With g = dy ⊙ w and r = 1/sqrt(mean(x²) + ε):
 * dx = r·g − x·r³·mean(g ⊙ x), dw = Σ_rows dy ⊙ x·r.
 */
tf.registerGradient({
  kernelName: RMS_NORM,
  inputsToSave: ['x', 'weight'],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight] = saved as [tf.Tensor, tf.Tensor1D];
    const { eps } = attrs as unknown as RmsNormAttrs;
    const dY = dy as tf.Tensor;
    const r = () => tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
    return {
      x: () => {
        const rr = r();
        const g = tf.mul(dY, weight);
        const proj = tf.mean(tf.mul(g, x), -1, true);
        return tf.sub(tf.mul(g, rr), tf.mul(x, tf.mul(tf.pow(rr, 3), proj)));
      },
      weight: () => tf.reshape(tf.sum(tf.reshape(tf.mul(dY, tf.mul(x, r())), [-1, weight.shape[0]]), 0), weight.shape),
    };
  },
});
