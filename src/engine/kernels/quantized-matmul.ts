/**
 * y = x Wᵀ for a block-quantized W [rows, cols] (see quant/blocks.ts), dequantizing as it reads:
 * y[t, r] = Σ_b d[r, b] · Σ_j q[r, b, j] · x[t, 32b + j]. The matrix stays packed in an int32
 * tensor (`words`) beside its float32 block scales; no backend ever expands it to float32.
 * Decode (one token) is a matrix-vector product, prefill a matrix-matrix one: kernels may
 * specialise on x's row count.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { BLOCK, WORDS_PER_BLOCK, type QuantFormat } from '../quant/blocks.ts';
import { quantizedMatMulInto } from '../quant/matvec.ts';
import { hasKernel, registerHostKernel, runKernel } from './registry.ts';
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
}

/** x [T, cols] float32, words int32, scales float32 [rows·cols/32] → [T, rows]. */
export function quantizedMatMul(x: tf.Tensor2D, words: tf.Tensor1D, scales: tf.Tensor1D, attrs: QuantizedMatMulAttrs): tf.Tensor2D {
  if (!hasKernel(QUANTIZED_MATMUL))
    throw new EngineError('backend-unavailable', `the active TF.js backend has no ${QUANTIZED_MATMUL} kernel, so it cannot run quantized weights`);
  return runKernel<tf.Tensor2D>(QUANTIZED_MATMUL, { x, words, scales }, attrs);
}

/** Refuses inputs that do not hold the matrix the attributes describe (both kernels call it). */
function checkInputs(x: tf.TensorInfo, words: tf.TensorInfo, scales: tf.TensorInfo, { format, rows, cols }: QuantizedMatMulAttrs): void {
  const fail = (what: string) => new EngineError('bad-argument', `${QUANTIZED_MATMUL}: ${what}`);
  if (!(format in WORDS_PER_BLOCK)) throw fail(`unknown format "${format}"`);
  if (!(rows >= 1 && cols >= BLOCK && cols % BLOCK === 0)) throw fail(`W must be rows ≥ 1 × a positive multiple of ${BLOCK} columns, got ${rows}×${cols}`);
  if (x.dtype !== 'float32' || x.shape.length !== 2 || x.shape[1] !== cols) throw fail(`x must be float32 [T, ${cols}], got ${x.dtype} [${x.shape}]`);
  const blocks = (rows * cols) / BLOCK;
  const wordCount = blocks * WORDS_PER_BLOCK[format];
  if (words.dtype !== 'int32' || words.shape.length !== 1 || words.shape[0] !== wordCount) throw fail(`words must be int32 [${wordCount}], got ${words.dtype} [${words.shape}]`);
  if (scales.dtype !== 'float32' || scales.shape.length !== 1 || scales.shape[0] !== blocks) throw fail(`scales must be float32 [${blocks}], got ${scales.dtype} [${scales.shape}]`);
}

// cpu and wasm: the JavaScript loop of quant/matvec.ts on views of the packed words (on wasm, of
// its heap), so the matrix is read where it lies.
registerHostKernel<QuantizedMatMulAttrs>(
  QUANTIZED_MATMUL,
  (host, { x, words, scales }, attrs) => {
    checkInputs(x, words, scales, attrs);
    const y = host.allocate([x.shape[0], attrs.rows]);
    const matrix = { ...attrs, words: host.viewInt32(words), scales: host.view(scales) };
    quantizedMatMulInto(matrix, host.view(x), host.view(y));
    return y;
  },
  ['words'],
);

registerWebGpuKernel<QuantizedMatMulAttrs>(QUANTIZED_MATMUL, (backend, inputs, attrs) => {
  checkInputs(inputs.x, inputs.words, inputs.scales, attrs);
  return quantizedMatMulWebGpu(backend, inputs, attrs);
});
