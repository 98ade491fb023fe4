import * as tf from '@tensorflow/tfjs-core';
import { hasKernel, registerHostKernel, runKernel } from './registry.ts';
import { registerWebGpuKernel } from './webgpu/program.ts';
import { swiGluWebGpu } from './webgpu/swiglu.ts';

/**
 * SwiGLU (Shazeer 2020) on the fused projection [W1; W3] h = [gate | up]: silu(gate) ⊙ up, with
 * silu(a) = a · σ(a). One kernel instead of four (split, sigmoid, two multiplies).
 */
export const SWIGLU = 'LlamaSwiGlu';

/** Its gradient as one host kernel: d[gate | up] from [gate | up] and the output's gradient. */
export const SWIGLU_GRAD = 'LlamaSwiGluGrad';

/** SiLU (swish): a · σ(a). */
export const silu = <T extends tf.Tensor>(a: T): T => tf.mul(a, tf.sigmoid(a));

/** [tokens, 2·hidden] → gate, up: [tokens, hidden] each. */
export function splitGateUp(gateUp: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  return tf.split(gateUp, 2, -1) as [tf.Tensor2D, tf.Tensor2D];
}

/** The same math as stock ops: the fallback, and the reference the fused kernel is tested against. */
export function swiGluComposite(gateUp: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [gate, up] = splitGateUp(gateUp);
    return tf.mul(silu(gate), up);
  });
}

export function swiGlu(gateUp: tf.Tensor2D): tf.Tensor2D {
  if (!hasKernel(SWIGLU)) return swiGluComposite(gateUp);
  return runKernel<tf.Tensor2D>(SWIGLU, { gateUp });
}

const f = Math.fround;

/**
 * out = silu(gate) ⊙ up for rows [gate | up] of width 2·hidden, in float32 as llama2.c computes
 * it: (gate · (1 / (1 + e^−gate))) · up.
 */
export function swiGluRows(gateUp: Float32Array, out: Float32Array, hidden: number): void {
  for (let row = 0, o = 0; o < out.length; row += 2 * hidden) {
    for (let i = 0; i < hidden; i++, o++) {
      const g = gateUp[row + i];
      out[o] = f(g * f(1 / f(1 + f(Math.exp(-g))))) * gateUp[row + hidden + i];
    }
  }
}

registerWebGpuKernel(SWIGLU, swiGluWebGpu);

registerHostKernel<object>(SWIGLU, (host, { gateUp }) => {
  const [tokens, width] = gateUp.shape;
  const hidden = width / 2;
  const out = host.allocate([tokens, hidden]);
  swiGluRows(host.view(gateUp), host.view(out), hidden);
  return out;
});

/**
 * d gate = dy ⊙ up ⊙ σ(gate)(1 + gate(1 − σ(gate))), d up = dy ⊙ silu(gate), in stock ops: the
 * fallback where SWIGLU_GRAD is missing, and its reference.
 */
export function swiGluGradComposite(gateUp: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [gate, up] = splitGateUp(gateUp);
    const sig = tf.sigmoid(gate);
    const dSilu = tf.mul(sig, tf.add(1, tf.mul(gate, tf.sub(1, sig))));
    return tf.concat([tf.mul(dy, tf.mul(up, dSilu)), tf.mul(dy, tf.mul(gate, sig))], -1) as tf.Tensor2D;
  });
}

/** The same in one pass over rows [gate | up] (float64 within an element, float32 out). */
export function swiGluGradRows(gateUp: Float32Array, dy: Float32Array, out: Float32Array, hidden: number): void {
  for (let row = 0, o = 0; row < gateUp.length; row += 2 * hidden) {
    for (let i = 0; i < hidden; i++, o++) {
      const g = gateUp[row + i];
      const sig = 1 / (1 + Math.exp(-g));
      const d = dy[o];
      out[row + i] = d * gateUp[row + hidden + i] * sig * (1 + g * (1 - sig));
      out[row + hidden + i] = d * g * sig;
    }
  }
}

registerHostKernel<object>(SWIGLU_GRAD, (host, { gateUp, dy }) => {
  const out = host.allocate(gateUp.shape);
  swiGluGradRows(host.view(gateUp), host.view(dy), host.view(out), gateUp.shape[1] / 2);
  return out;
});

tf.registerGradient({
  kernelName: SWIGLU,
  inputsToSave: ['gateUp'],
  gradFunc: (dy, saved) => {
    const [gateUp] = saved as tf.Tensor2D[];
    const dY = dy as tf.Tensor2D;
    return {
      gateUp: () =>
        hasKernel(SWIGLU_GRAD) ? runKernel<tf.Tensor2D>(SWIGLU_GRAD, { gateUp, dy: dY }) : swiGluGradComposite(gateUp, dY),
    };
  },
});
