import * as tf from '@tensorflow/tfjs-core';
import { hasKernel, registerHostKernel, runKernel } from './registry.ts';

/**
 * SwiGLU (Shazeer 2020) on the fused projection [W1; W3] h = [gate | up]: silu(gate) ⊙ up, with
 * silu(a) = a · σ(a). One kernel instead of four (split, sigmoid, two multiplies).
 */
export const SWIGLU = 'LlamaSwiGlu';

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

registerHostKernel<object>(SWIGLU, (host, { gateUp }) => {
  const [tokens, width] = gateUp.shape;
  const hidden = width / 2;
  const out = host.allocate([tokens, hidden]);
  swiGluRows(host.view(gateUp), host.view(out), hidden);
  return out;
});

/** d gate = dy ⊙ up ⊙ σ(gate)(1 + gate(1 − σ(gate))), d up = dy ⊙ silu(gate). */
tf.registerGradient({
  kernelName: SWIGLU,
  inputsToSave: ['gateUp'],
  gradFunc: (dy, saved) => {
    const [gateUp] = saved as tf.Tensor2D[];
    const dY = dy as tf.Tensor2D;
    return {
      gateUp: () => {
        const [gate, up] = splitGateUp(gateUp);
        const sig = tf.sigmoid(gate);
        const dSilu = tf.mul(sig, tf.add(1, tf.mul(gate, tf.sub(1, sig))));
        return tf.concat([tf.mul(dY, tf.mul(up, dSilu)), tf.mul(dY, tf.mul(gate, sig))], -1);
      },
    };
  },
});
