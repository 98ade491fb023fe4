/**
 * y = W x for a block-quantized W [rows, cols] (decode's product), dequantizing as it reads:
 * y[r] = Σ_b d[r,b] · Σ_j q[r,b,j] · x[32b + j]. The integer dot product of a block is summed
 * before its scale is applied, as the GPU kernels do, so the matrix is never expanded.
 */
import { BLOCK, type QuantizedMatrix } from './blocks.ts';

export function quantizedMatVec(m: QuantizedMatrix, x: Float32Array): Float32Array {
  if (x.length !== m.cols) throw new RangeError(`matvec: x has ${x.length} values, the matrix ${m.cols} columns`);
  const y = new Float32Array(m.rows);
  const bytes = new Uint8Array(m.words.buffer, m.words.byteOffset, m.words.byteLength);
  const signed = new Int8Array(m.words.buffer, m.words.byteOffset, m.words.byteLength);
  const blocksPerRow = m.cols / BLOCK;
  for (let r = 0; r < m.rows; r++) {
    let sum = 0;
    for (let c = 0; c < blocksPerRow; c++) {
      const b = r * blocksPerRow + c;
      const xs = c * BLOCK;
      let dot = 0;
      if (m.format === 'q8_0') {
        const at = b * 32;
        for (let j = 0; j < BLOCK; j++) dot += signed[at + j] * x[xs + j];
      } else {
        const at = b * 16;
        for (let j = 0; j < 16; j++) {
          const byte = bytes[at + j];
          dot += ((byte & 0x0f) - 8) * x[xs + j] + ((byte >>> 4) - 8) * x[xs + j + 16];
        }
      }
      sum += m.scales[b] * dot;
    }
    y[r] = sum;
  }
  return y;
}
