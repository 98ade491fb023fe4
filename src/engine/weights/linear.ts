import * as tf from '@tensorflow/tfjs-core';

/**
 * y = W x for a batch of rows. The model only ever talks to this interface, so a weight kept as
 * float32, kept quantized with its own kernels, or held as trainable variables can stand in.
 */
export interface Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** x: [tokens, in] → [tokens, out]. */
  apply(x: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** A float32 matrix stored as the checkpoint stores it, [out, in]. */
export class DenseLinear implements Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  constructor(readonly weight: tf.Tensor2D) {
    [this.outFeatures, this.inFeatures] = weight.shape;
  }
  static fromRows(rows: Float32Array[], inFeatures: number): DenseLinear {
    const total = rows.reduce((n, r) => n + r.length, 0);
    const data = rows.length === 1 ? rows[0] : new Float32Array(total);
    if (rows.length > 1) rows.reduce((at, r) => (data.set(r, at), at + r.length), 0);
    return new DenseLinear(tf.tensor2d(data, [total / inFeatures, inFeatures]));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, this.weight, false, true);
  }
  dispose(): void {
    this.weight.dispose();
  }
}
