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

// cpu and wasm: the JavaScript loop of quant/matvec.ts on views of the packed words (on wasm, of
// its heap), so the matrix is read where it lies.
registerHostKernel<QuantizedMatMulAttrs>(
  QUANTIZED_MATMUL,
  (host, { x, words, scales }, { format, rows, cols }) => {
    const [tokens, width] = x.shape;
    if (width !== cols) throw new RangeError(`${QUANTIZED_MATMUL}: x has ${width} columns, the matrix ${cols}`);
    const y = host.allocate([tokens, rows]);
    const matrix = { format, rows, cols, words: host.viewInt32(words), scales: host.view(scales) };
    if (matrix.scales.length * BLOCK !== rows * cols || matrix.words.length !== matrix.scales.length * WORDS_PER_BLOCK[format])
      throw new RangeError(`${QUANTIZED_MATMUL}: ${words.shape} words and ${scales.shape} scales do not hold a ${format} ${rows}×${cols} matrix`);
    quantizedMatMulInto(matrix, host.view(x), host.view(y));
    return y;
  },
  ['words'],
);
