import * as tf from '@tensorflow/tfjs-core';
import { rmsNorm } from '../kernels/rms-norm.ts';
import { swiGlu } from '../kernels/swiglu.ts';

/**
 * y = W x for a batch of rows. The model only ever talks to this interface, so a weight kept as
 * float32, kept quantized with its own kernels, or held as trainable variables can stand in.
 *
 * The fused forms are the product with the op before or after it in a Llama block. Decode runs a
 * handful of kernels per layer, each costing a launch, so a weight whose kernel can fold these
 * ops in does; the others compose the separate ops (ComposedLinear), the same math.
 */
export interface Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** x: [tokens, in] → [tokens, out]. */
  apply(x: tf.Tensor2D): tf.Tensor2D;
  /** W (RMSNorm(x) ⊙ g): the product of a pre-norm block's normalized input. */
  applyNormed(x: tf.Tensor2D, g: tf.Tensor1D, eps: number): tf.Tensor2D;
  /** r + W x: a projection added into the residual stream r [tokens, out]. */
  applyAdd(x: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D;
  /** r + W (silu(a) ⊙ b) with [a | b] = gateUp [tokens, 2·in]: the SwiGLU FFN's down projection. */
  applyGatedAdd(gateUp: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D;
  /** What the weight occupies on the device, for memory reports. */
  readonly bytes: number;
  dispose(): void;
}

/**
 * [out, in] row-major matrices (the checkpoint's layout, y = W x), stacked along `out`, as one
 * [in, out] array: Wᵀ, so a row of inputs times it is a row of outputs.
 */
export function transposeStacked(rows: Float32Array[], inFeatures: number): Float32Array {
  const outFeatures = rows.reduce((n, r) => n + r.length, 0) / inFeatures;
  const t = new Float32Array(inFeatures * outFeatures);
  let o = 0;
  for (const r of rows) {
    for (let at = 0; at < r.length; at += inFeatures, o++) {
      for (let i = 0; i < inFeatures; i++) t[i * outFeatures + o] = r[at + i];
    }
  }
  return t;
}

/**
 * The fused forms as the separate ops (whose gradients apply): for weights without a fused
 * kernel, and for the inputs a weight's fused kernel leaves to them (QuantizedLinear's prefill).
 */
export abstract class ComposedLinear implements Linear {
  abstract readonly inFeatures: number;
  abstract readonly outFeatures: number;
  abstract readonly bytes: number;
  abstract apply(x: tf.Tensor2D): tf.Tensor2D;
  abstract dispose(): void;

  applyNormed(x: tf.Tensor2D, g: tf.Tensor1D, eps: number): tf.Tensor2D {
    return tf.tidy(() => this.apply(rmsNorm(x, g, eps)));
  }
  applyAdd(x: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.add(r, this.apply(x)));
  }
  applyGatedAdd(gateUp: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.applyAdd(swiGlu(gateUp), r));
  }
}

/**
 * A float32 matrix held transposed, as Wᵀ: [in, out]. y = x Wᵀ is then a matmul with no
 * transposed operand, which the wasm backend runs through XNNPACK (2–9× faster here than its
 * fallback for a transposed operand); the other backends take either layout at the same speed.
 *
 * Its gradients, dx = dy W and dWᵀ = xᵀ dy, are written with explicit transposes instead of
 * matMul's transpose flags for the same reason (flagged, they made training 3× slower). W is
 * kept from one gradient to the next while the weight is unchanged (over the windows of one
 * optimizer step, whose update comes after their gradients): assigning a variable gives it new
 * data, by which the copy is keyed. XNNPACK then keeps W packed too.
 */
export class DenseLinear extends ComposedLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  private untransposed: { of: object; weight: tf.Tensor2D } | null = null;

  constructor(readonly weightT: tf.Tensor2D) {
    super();
    [this.inFeatures, this.outFeatures] = weightT.shape;
  }
  /** From checkpoint matrices [out, in], stacked along `out` (e.g. [Wq; Wk; Wv]). */
  static fromRows(rows: Float32Array[], inFeatures: number): DenseLinear {
    const t = transposeStacked(rows, inFeatures);
    return new DenseLinear(tf.tensor2d(t, [inFeatures, t.length / inFeatures]));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    // The gradient wrapper costs a scope per call: only when a gradient is being recorded.
    return tf.engine().isTapeOn() ? this.linear(x, this.weightT) : tf.matMul(x, this.weightT);
  }
  get bytes(): number {
    return this.weightT.size * 4;
  }
  dispose(): void {
    this.weightT.dispose();
    this.untransposed?.weight.dispose();
  }

  /** W, [out, in]: the transpose of Wᵀ's current data. */
  private weight(): tf.Tensor2D {
    if (this.untransposed?.of !== this.weightT.dataId) {
      this.untransposed?.weight.dispose();
      this.untransposed = { of: this.weightT.dataId, weight: tf.keep(tf.transpose(this.weightT)) };
    }
    return this.untransposed.weight;
  }

  private readonly linear = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, weightT, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([x]);
    const data = weightT.dataId; // Wᵀ as the forward pass used it: the gradient must see the same
    return {
      value: tf.matMul(x, weightT),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], [xs]: tf.Tensor[]) => {
        if (weightT.dataId !== data) throw new Error('the weight changed between the forward pass and its gradient');
        return [tf.matMul(dy as tf.Tensor2D, this.weight()), tf.matMul(tf.transpose(xs), dy as tf.Tensor2D)];
      },
    };
  }) as (x: tf.Tensor2D, weightT: tf.Tensor2D) => tf.Tensor2D;
}
