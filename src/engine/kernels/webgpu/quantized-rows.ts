import type * as tf from '@tensorflow/tfjs-core';
import type { QuantizedRowsAttrs } from '../quantized-rows.ts';
import { WORDS_PER_BLOCK } from '../../quant/blocks.ts';
import { elementwiseProgram } from './layout.ts';
import type { WebGpuBackendLike } from './program.ts';

/**
 * One invocation per output element: weight j of row ids[t] is the scale of its block times the
 * block's integer j (quant/blocks.ts: q8_0 a signed byte; q4_0 the low nibble of byte j, or the
 * high one of byte j − 16, minus 8). The product of a float32 scale and a small integer is exact
 * before its one rounding, so the rows equal the host kernel's to the bit. A row number the
 * GPU cannot refuse is clamped into the matrix (the host kernel refuses it).
 */
const code = (format: QuantizedRowsAttrs['format']) => `
  fn main(index : i32) {
    if (index < uniforms.count) {
      let t = index / uniforms.width;
      let c = index % uniforms.width;
      let row = clamp(ids[t], 0, uniforms.rows - 1);
      let b = row * (uniforms.cols / 32) + c / 32;
      let j = c % 32;
      ${
        format === 'q8_0'
          ? `let word = words[b * ${WORDS_PER_BLOCK.q8_0} + j / 4];
      let q = (word << u32(24 - 8 * (j % 4))) >> 24u;`
          : `let word = words[b * ${WORDS_PER_BLOCK.q4_0} + (j % 16) / 4];
      let q = ((word >> u32(8 * (j % 4) + 4 * (j / 16))) & 15) - 8;`
      }
      result[index] = scales[b] * f32(q);
    }
  }`;

export function quantizedRowsWebGpu(backend: WebGpuBackendLike, { ids, words, scales }: Record<string, tf.TensorInfo>, { format, rows, cols, width }: QuantizedRowsAttrs): tf.TensorInfo {
  const count = ids.shape[0] * width;
  const program = elementwiseProgram(`LlamaQuantizedRows_${format}`, [ids.shape[0], width], ['ids', 'words', 'scales'], count, 'count : i32, width : i32, rows : i32, cols : i32,', code(format));
  const uniforms = [count, width, rows, cols].map((n) => ({ type: 'int32' as const, data: [n] }));
  return backend.runWebGPUProgram(program, [ids, words, scales], 'float32', uniforms);
}
