import * as tf from '@tensorflow/tfjs-core';
import { quantizedMatMul, type QuantizedMatMulAttrs, type QuantizedMatMulExtras } from '../kernels/quantized-matmul.ts';
import { BLOCK, type QuantFormat, type QuantizedMatrix } from '../quant/blocks.ts';
import { ComposedLinear } from './linear.ts';

/**
 * A block-quantized matrix W [out, in] kept packed on the device: its words in an int32 tensor and
 * one float32 scale per block of 32 weights. y = x Wᵀ runs the quantized matmul kernel, which
 * dequantizes as it reads; the matrix is never expanded to float32. Inference only: it has no
 * gradient. Rows quantized from a width that is not whole blocks were padded with zero weights
 * (quantizePadded); x is then padded to the packed width before the product. The fused forms are
 * the kernel's prologues and residual epilogue (each one launch), which pad as they read.
 */
export class QuantizedLinear extends ComposedLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(
    readonly format: QuantFormat,
    readonly words: tf.Tensor1D,
    readonly scales: tf.Tensor1D,
    outFeatures: number,
    inFeatures: number,
    /** The packed rows' width: inFeatures rounded up to whole blocks. */
    readonly cols = inFeatures,
  ) {
    super();
    if (cols < inFeatures || cols - inFeatures >= BLOCK || scales.size * BLOCK !== outFeatures * cols)
      throw new RangeError(`${scales.size} block scales do not cover a ${outFeatures}×${inFeatures} matrix`);
    this.outFeatures = outFeatures;
    this.inFeatures = inFeatures;
  }

  /**
   * Matrices of one format and width stacked along `out` (e.g. [Wq; Wk; Wv]). Blocks never cross
   * a row, so the stack's words and scales are the matrices' own, one after the other.
   * `inFeatures` is the width before padding (by default the packed width).
   */
  static fromMatrices(ms: QuantizedMatrix[], inFeatures?: number): QuantizedLinear {
    const [first] = ms;
    if (!first) throw new RangeError('fromMatrices needs at least one matrix');
    for (const m of ms)
      if (m.format !== first.format || m.cols !== first.cols)
        throw new RangeError(`cannot stack a ${m.format} ${m.rows}×${m.cols} matrix onto ${first.format} ones of ${first.cols} columns`);
    const total = (parts: ArrayLike<number>[]) => parts.reduce((n, p) => n + p.length, 0);
    const wordParts = ms.map((m) => m.words);
    const scaleParts = ms.map((m) => m.scales);
    const wordArray = ms.length === 1 ? first.words : concatenate(wordParts, new Int32Array(total(wordParts)));
    const scaleArray = ms.length === 1 ? first.scales : concatenate(scaleParts, new Float32Array(total(scaleParts)));
    const rows = ms.reduce((n, m) => n + m.rows, 0);
    const words = tf.tensor1d(wordArray, 'int32');
    const scales = tf.tensor1d(scaleArray, 'float32');
    return new QuantizedLinear(first.format, words, scales, rows, inFeatures ?? first.cols, first.cols);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return this.padded(x, (h) => this.product(h, {}));
  }
  /*
   * The prologues serve decode (one token). For several tokens (prefill) every workgroup would
   * recompute its tile's RMSNorm or SwiGLU inputs, on a 7B about as many bytes again as the
   * weights per workgroup row; there the separate kernel runs once first (ComposedLinear).
   */
  override applyNormed(x: tf.Tensor2D, g: tf.Tensor1D, eps: number): tf.Tensor2D {
    if (x.shape[0] > 1) return super.applyNormed(x, g, eps);
    return this.product(x, { prologue: 'rmsNorm', inFeatures: this.inFeatures, eps }, { normWeight: g });
  }
  override applyAdd(x: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D {
    return this.padded(x, (h) => this.product(h, { residual: true }, { residual: r }));
  }
  override applyGatedAdd(gateUp: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D {
    if (gateUp.shape[0] > 1) return super.applyGatedAdd(gateUp, r);
    return this.product(gateUp, { prologue: 'swiGlu', inFeatures: this.inFeatures, residual: true }, { residual: r });
  }

  private product(x: tf.Tensor2D, fused: Partial<QuantizedMatMulAttrs>, extras: QuantizedMatMulExtras = {}): tf.Tensor2D {
    return quantizedMatMul(x, this.words, this.scales, { format: this.format, rows: this.outFeatures, cols: this.cols, ...fused }, extras);
  }

  /** f of x padded with zeros to the packed width (a plain product reads x as it is). */
  private padded(x: tf.Tensor2D, f: (h: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D {
    if (this.cols === this.inFeatures) return f(x);
    return tf.tidy(() => f(tf.pad(x, [[0, 0], [0, this.cols - this.inFeatures]])));
  }

  get bytes(): number {
    return (this.words.size + this.scales.size) * 4;
  }

  dispose(): void {
    this.words.dispose();
    this.scales.dispose();
  }
}

function concatenate<A extends Int32Array | Float32Array>(parts: A[], out: A): A {
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
