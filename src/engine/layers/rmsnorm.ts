import * as tf from '@tensorflow/tfjs-core';

/** RMSNorm (Zhang & Sennrich 2019), as Llama's pre-normalization: w ⊙ x / sqrt(mean(x²) + ε). */
export function rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), weight);
}
