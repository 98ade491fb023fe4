/**
 * y = x Wᵀ for a block-quantized W [rows, cols], dequantizing as it reads:
 * y[t, r] = Σ_b d[r,b] · Σ_j q[r,b,j] · x[t, 32b + j]. The integer dot product of a block is
 * summed before its scale is applied, as the GPU kernels do, so the matrix is never expanded.
 * The host backends' quantized matmul kernel runs this loop on views of its tensors.
 */
import { BLOCK, type QuantizedMatrix } from './blocks.ts';

/**
 * x [T, cols] → y [T, rows], written into `y`. Row r of W (cols/32 blocks, a few KB) is taken
 * once and used for all T rows of x while it is in cache, so W streams from memory once per
 * call, which is what decode's speed depends on. Sums are float64; y is stored as float32.
 */
export function quantizedMatMulInto(m: QuantizedMatrix, x: Float32Array, y: Float32Array): void {
  const { rows, cols, scales, words } = m;
  const T = x.length / cols;
  if (!Number.isInteger(T)) throw new RangeError(`quantized matmul: x has ${x.length} values, not a whole number of rows of ${cols}`);
  if (y.length !== T * rows) throw new RangeError(`quantized matmul: y has ${y.length} values, expected ${T}×${rows}`);
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const signed = new Int8Array(words.buffer, words.byteOffset, words.byteLength);
  const blocksPerRow = cols / BLOCK;
  const q8 = m.format === 'q8_0';
  for (let r = 0; r < rows; r++) {
    const firstBlock = r * blocksPerRow;
    for (let t = 0; t < T; t++) {
      let sum = 0;
      for (let c = 0; c < blocksPerRow; c++) {
        const b = firstBlock + c;
        const xs = t * cols + c * BLOCK;
        let dot = 0;
        if (q8) {
          const at = b * 32;
          for (let j = 0; j < BLOCK; j++) dot += signed[at + j] * x[xs + j];
        } else {
          const at = b * 16;
          for (let j = 0; j < 16; j++) {
            const byte = bytes[at + j];
            dot += ((byte & 0x0f) - 8) * x[xs + j] + ((byte >>> 4) - 8) * x[xs + j + 16];
          }
        }
        sum += scales[b] * dot;
      }
      y[t * rows + r] = sum;
    }
  }
}

/** y = W x for one vector (decode's product). */
export function quantizedMatVec(m: QuantizedMatrix, x: Float32Array): Float32Array {
  if (x.length !== m.cols) throw new RangeError(`matvec: x has ${x.length} values, the matrix ${m.cols} columns`);
  const y = new Float32Array(m.rows);
  quantizedMatMulInto(m, x, y);
  return y;
}
