import * as tf from '@tensorflow/tfjs-core';

/** SiLU (swish): a · σ(a). */
export const silu = (a: tf.Tensor2D): tf.Tensor2D => tf.mul(a, tf.sigmoid(a));

/** SwiGLU (Shazeer 2020): the gated product silu(W1 x) ⊙ (W3 x) that W2 projects back. */
export function swiGlu(gate: tf.Tensor2D, up: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(silu(gate), up);
}
