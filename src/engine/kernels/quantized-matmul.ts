/**
 * y = x Wᵀ for a block-quantized W [rows, cols] (see quant/blocks.ts), dequantizing as it reads:
 * y[t, r] = Σ_b d[r, b] · Σ_j q[r, b, j] · x[t, 32b + j]. The matrix stays packed in an int32
 * tensor (`words`) beside its float32 block scales; no backend ever expands it to float32.
 * Decode (one token) is a matrix-vector product, prefill a matrix-matrix one: kernels may
 * specialise on x's row count.
 *
 * Decode launches a few kernels per layer, so the cheap ops around a product ride along with it:
 * a prologue turns each row of x into the product's input as the kernel reads it (RMSNorm, or
 * SwiGLU of a [gate | up] row), and an epilogue adds a residual row to the result. The math is
 * that of the separate ops (rms-norm.ts, swiglu.ts, an add).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { BLOCK, WORDS_PER_BLOCK, type QuantFormat } from '../quant/blocks.ts';
import { quantizedMatMulInto } from '../quant/matvec.ts';
import { hasKernel, registerHostKernel, runKernel } from './registry.ts';
import { rmsNormRows } from './rms-norm.ts';
import { swiGluRows } from './swiglu.ts';
import { registerWebGpuKernel } from './webgpu/program.ts';
import { quantizedMatMulWebGpu } from './webgpu/quantized-matmul.ts';
import { EngineError } from '../errors.ts';

export const QUANTIZED_MATMUL = 'LlamaQuantizedMatMul';

export interface QuantizedMatMulAttrs {
  format: QuantFormat;
  /** W's rows (the output features). */
  rows: number;
  /** W's columns (the input features), a multiple of 32. */
  cols: number;
  /**
   * What x holds, and how a row of it becomes the product's input h (default 'none': h = x,
   * [T, cols]). 'rmsNorm': x [T, inFeatures], h = RMSNorm(x) ⊙ normWeight (input `normWeight`,
   * attribute `eps`). 'swiGlu': x [T, 2·inFeatures] rows [gate | up], h = silu(gate) ⊙ up.
   */
  prologue?: Prologue;
  /** The prologues' input width; W's columns beyond it are zero padding (default cols). */
  inFeatures?: number;
  eps?: number;
  /** Adds the input `residual` [T, rows] to the product: y = residual + h Wᵀ. */
  residual?: boolean;
}

export type Prologue = 'none' | 'rmsNorm' | 'swiGlu';

/** The optional inputs of the fused forms (see QuantizedMatMulAttrs). */
export interface QuantizedMatMulExtras {
  normWeight?: tf.Tensor1D;
  residual?: tf.Tensor2D;
}

/**
 * x float32 (see `prologue`), words int32, scales float32 [rows·cols/32] → [T, rows]; `extras`
 * holds the inputs the prologue and epilogue named in `attrs` read.
 */
export function quantizedMatMul(
  x: tf.Tensor2D,
  words: tf.Tensor1D,
  scales: tf.Tensor1D,
  attrs: QuantizedMatMulAttrs,
  extras: QuantizedMatMulExtras = {},
): tf.Tensor2D {
  if (!hasKernel(QUANTIZED_MATMUL))
    throw new EngineError('backend-unavailable', `the active TF.js backend has no ${QUANTIZED_MATMUL} kernel, so it cannot run quantized weights`);
  const inputs: Record<string, tf.Tensor> = { x, words, scales };
  if (extras.normWeight) inputs.normWeight = extras.normWeight;
  if (extras.residual) inputs.residual = extras.residual;
  return runKernel<tf.Tensor2D>(QUANTIZED_MATMUL, inputs, attrs);
}

/** The attributes with their defaults filled in. */
function withDefaults(attrs: QuantizedMatMulAttrs): Required<QuantizedMatMulAttrs> {
  const { cols, prologue = 'none', inFeatures = cols, eps = 0, residual = false } = attrs;
  return { ...attrs, prologue, inFeatures, eps, residual };
}

/** x's width for a prologue. */
const xWidth = (prologue: Prologue, cols: number, inFeatures: number) => (prologue === 'none' ? cols : prologue === 'rmsNorm' ? inFeatures : 2 * inFeatures);

/** Refuses inputs that do not hold the matrix the attributes describe (both kernels call it). */
function checkInputs(inputs: Record<string, tf.TensorInfo>, attrs: QuantizedMatMulAttrs): void {
  const { x, words, scales, normWeight, residual } = inputs;
  const options = withDefaults(attrs);
  const { format, rows, cols } = options;
  const fail = (what: string) => new EngineError('bad-argument', `${QUANTIZED_MATMUL}: ${what}`);
  if (!(format in WORDS_PER_BLOCK)) throw fail(`unknown format "${format}"`);
  if (!(rows >= 1 && cols >= BLOCK && cols % BLOCK === 0)) throw fail(`W must be rows ≥ 1 × a positive multiple of ${BLOCK} columns, got ${rows}×${cols}`);
  if (!['none', 'rmsNorm', 'swiGlu'].includes(options.prologue)) throw fail(`unknown prologue "${options.prologue}"`);
  const { prologue, inFeatures } = options;
  if (!(inFeatures > cols - BLOCK && inFeatures <= cols) || (prologue === 'none' && inFeatures !== cols))
    throw fail(`inFeatures ${inFeatures} must pad to the ${cols} columns (and equal them without a prologue)`);
  const width = xWidth(prologue, cols, inFeatures);
  if (x.dtype !== 'float32' || x.shape.length !== 2 || x.shape[1] !== width) throw fail(`x must be float32 [T, ${width}], got ${x.dtype} [${x.shape}]`);
  const tensor = (t: tf.TensorInfo | undefined, name: string, shape: number[], wanted: boolean) => {
    if (!wanted) {
      if (t) throw fail(`${name} was given but the attributes do not use it`);
      return;
    }
    if (!t || t.dtype !== 'float32' || t.shape.join() !== shape.join()) throw fail(`${name} must be float32 [${shape}], got ${t ? `${t.dtype} [${t.shape}]` : 'nothing'}`);
  };
  tensor(normWeight, 'normWeight', [inFeatures], prologue === 'rmsNorm');
  tensor(residual, 'residual', [x.shape[0], rows], options.residual);
  const blocks = (rows * cols) / BLOCK;
  const wordCount = blocks * WORDS_PER_BLOCK[format];
  if (words.dtype !== 'int32' || words.shape.length !== 1 || words.shape[0] !== wordCount) throw fail(`words must be int32 [${wordCount}], got ${words.dtype} [${words.shape}]`);
  if (scales.dtype !== 'float32' || scales.shape.length !== 1 || scales.shape[0] !== blocks) throw fail(`scales must be float32 [${blocks}], got ${scales.dtype} [${scales.shape}]`);
}

/**
 * The product's input [T, cols] from x by the prologue, in the separate kernels' own row
 * functions (so the fused host kernel is the unfused ops' result to the bit), zero-padded.
 */
function prologueInput(prologue: Prologue, x: Float32Array, T: number, cols: number, inFeatures: number, normWeight: Float32Array | null, eps: number): Float32Array {
  if (prologue === 'none') return x;
  const h = new Float32Array(T * inFeatures);
  if (prologue === 'rmsNorm') rmsNormRows(x, normWeight!, h, eps);
  else swiGluRows(x, h, inFeatures);
  if (inFeatures === cols) return h;
  const padded = new Float32Array(T * cols);
  for (let t = 0; t < T; t++) padded.set(h.subarray(t * inFeatures, (t + 1) * inFeatures), t * cols);
  return padded;
}

// cpu and wasm: the JavaScript loop of quant/matvec.ts on views of the packed words (on wasm, of
// its heap), so the matrix is read where it lies. The prologue costs one pass over x (small
// beside W); the residual one pass over y.
registerHostKernel<QuantizedMatMulAttrs>(
  QUANTIZED_MATMUL,
  (host, inputs, attrs) => {
    checkInputs(inputs, attrs);
    const { prologue, inFeatures, eps, residual } = withDefaults(attrs);
    const T = inputs.x.shape[0];
    const y = host.allocate([T, attrs.rows]);
    const normWeight = inputs.normWeight ? host.view(inputs.normWeight) : null;
    const h = prologueInput(prologue, host.view(inputs.x), T, attrs.cols, inFeatures, normWeight, eps);
    const matrix = { ...attrs, words: host.viewInt32(inputs.words), scales: host.view(inputs.scales) };
    const out = host.view(y);
    quantizedMatMulInto(matrix, h, out);
    if (residual) {
      const r = host.view(inputs.residual);
      for (let i = 0; i < out.length; i++) out[i] = r[i] + out[i];
    }
    return y;
  },
  ['words'],
);

registerWebGpuKernel<QuantizedMatMulAttrs>(QUANTIZED_MATMUL, (backend, inputs, attrs) => {
  checkInputs(inputs, attrs);
  return quantizedMatMulWebGpu(backend, inputs, withDefaults(attrs));
});
