/**
 * Rows of a block-quantized matrix, dequantized: the token embedding lookup of a packed table
 * (quant/blocks.ts). Only the chosen rows are expanded; the table stays packed on the backend.
 * The row numbers are a tensor, so a decode step on the GPU can look up a token the GPU chose
 * (decode-steps.ts) without a round trip through JavaScript.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { EngineError } from '../errors.ts';
import { BLOCK, dequantizeRows, WORDS_PER_BLOCK, type QuantFormat } from '../quant/blocks.ts';
import { hasKernel, registerHostKernel, runKernel } from './registry.ts';
import { registerWebGpuKernel } from './webgpu/program.ts';
import { quantizedRowsWebGpu } from './webgpu/quantized-rows.ts';

export const QUANTIZED_ROWS = 'LlamaQuantizedRows';

export interface QuantizedRowsAttrs {
  format: QuantFormat;
  /** The matrix's rows (a row number must be below this). */
  rows: number;
  /** The packed width, a multiple of 32. */
  cols: number;
  /** Columns returned: the first `width` of each row (the rest is padding to whole blocks). */
  width: number;
}

/** ids int32 [T], words int32, scales float32 (QuantizedLinear's) → rows ids of W, [T, width]. */
export function quantizedRows(ids: tf.Tensor1D, words: tf.Tensor1D, scales: tf.Tensor1D, attrs: QuantizedRowsAttrs): tf.Tensor2D {
  if (!hasKernel(QUANTIZED_ROWS))
    throw new EngineError('backend-unavailable', `the active TF.js backend has no ${QUANTIZED_ROWS} kernel, so it cannot look up quantized rows`);
  return runKernel<tf.Tensor2D>(QUANTIZED_ROWS, { ids, words, scales }, attrs);
}

/** Refuses inputs that do not hold the matrix the attributes describe (both kernels call it). */
function checkInputs({ ids, words, scales }: Record<string, tf.TensorInfo>, { format, rows, cols, width }: QuantizedRowsAttrs): void {
  const fail = (what: string) => new EngineError('bad-argument', `${QUANTIZED_ROWS}: ${what}`);
  if (!(format in WORDS_PER_BLOCK)) throw fail(`unknown format "${format}"`);
  if (!(rows >= 1 && cols >= BLOCK && cols % BLOCK === 0 && width > cols - BLOCK && width <= cols))
    throw fail(`a ${rows}×${cols} matrix cannot give rows of width ${width}`);
  const blocks = (rows * cols) / BLOCK;
  if (ids.dtype !== 'int32' || ids.shape.length !== 1) throw fail(`ids must be int32 [T], got ${ids.dtype} [${ids.shape}]`);
  if (words.dtype !== 'int32' || words.shape.join() !== String(blocks * WORDS_PER_BLOCK[format])) throw fail(`words must be int32 [${blocks * WORDS_PER_BLOCK[format]}], got ${words.dtype} [${words.shape}]`);
  if (scales.dtype !== 'float32' || scales.shape.join() !== String(blocks)) throw fail(`scales must be float32 [${blocks}], got ${scales.dtype} [${scales.shape}]`);
}

// cpu and wasm: quant/blocks.ts's reference on views of the packed words, which also refuses a
// row number outside the matrix.
registerHostKernel<QuantizedRowsAttrs>(
  QUANTIZED_ROWS,
  (host, inputs, attrs) => {
    checkInputs(inputs, attrs);
    const { format, rows, cols, width } = attrs;
    const ids = host.viewInt32(inputs.ids);
    const expanded = dequantizeRows({ format, rows, cols, words: host.viewInt32(inputs.words), scales: host.view(inputs.scales) }, ids);
    const y = host.allocate([ids.length, width]);
    const out = host.view(y);
    for (let t = 0; t < ids.length; t++) out.set(expanded.subarray(t * cols, t * cols + width), t * width);
    return y;
  },
  ['ids', 'words'],
);

registerWebGpuKernel<QuantizedRowsAttrs>(QUANTIZED_ROWS, (backend, inputs, attrs) => {
  checkInputs(inputs, attrs);
  return quantizedRowsWebGpu(backend, inputs, attrs);
});
