/**
 * GGUF's two simplest block formats, kept packed: every row is cut into blocks of 32 weights, and
 * each block stores one half-precision scale d and 32 small integers q, the weight being d·q.
 *  - Q8_0: q in -127..127, one byte each (four to an int32 word).
 *  - Q4_0: q in 0..15 meaning q − 8, a nibble each (eight to an int32 word); as in GGUF, weight j of
 *    a block sits in the low nibble of byte j and weight j + 16 in the high nibble.
 * Quantization follows llama.cpp's reference (quantize_row_q8_0_ref / quantize_row_q4_0_ref), so
 * the packed words are GGUF's bytes read as little-endian int32s.
 */
import { roundToFloat16 } from './float16.ts';

export const BLOCK = 32;
export type QuantFormat = 'q8_0' | 'q4_0';

export interface QuantizedMatrix {
  format: QuantFormat;
  rows: number;
  cols: number;
  /** One scale per block, row-major (rows × cols/32), already rounded to half precision. */
  scales: Float32Array;
  /** The integers, packed: 8 words per block for q8_0, 4 for q4_0. */
  words: Int32Array;
}

export const WORDS_PER_BLOCK: Record<QuantFormat, number> = { q8_0: 8, q4_0: 4 };

function checkShape(rows: number, cols: number, length: number): void {
  if (cols % BLOCK !== 0) throw new RangeError(`quantized rows need a multiple of ${BLOCK} columns, got ${cols}`);
  if (rows * cols !== length) throw new RangeError(`${rows}×${cols} matrix needs ${rows * cols} values, got ${length}`);
}

/** Quantizes a row-major float matrix [rows, cols]. */
export function quantize(format: QuantFormat, values: Float32Array, rows: number, cols: number): QuantizedMatrix {
  checkShape(rows, cols, values.length);
  const blocks = (rows * cols) / BLOCK;
  const scales = new Float32Array(blocks);
  const words = new Int32Array(blocks * WORDS_PER_BLOCK[format]);
  const bytes = new Uint8Array(words.buffer);
  const blockBytes = WORDS_PER_BLOCK[format] * 4;
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * BLOCK, (b + 1) * BLOCK);
    const out = bytes.subarray(b * blockBytes, (b + 1) * blockBytes);
    scales[b] = format === 'q8_0' ? quantizeQ8Block(x, out) : quantizeQ4Block(x, out);
  }
  return { format, rows, cols, scales, words };
}

/**
 * The same for rows of any width: each row is padded with zeros to whole blocks (cols rounded up
 * to a multiple of 32; zeros quantize exactly in both formats). The product with a padded matrix
 * needs x padded alike (QuantizedLinear does it).
 */
export function quantizePadded(format: QuantFormat, values: Float32Array, rows: number, cols: number): QuantizedMatrix {
  const padded = Math.ceil(cols / BLOCK) * BLOCK;
  if (padded === cols) return quantize(format, values, rows, cols);
  if (rows * cols !== values.length) throw new RangeError(`${rows}×${cols} matrix needs ${rows * cols} values, got ${values.length}`);
  const wide = new Float32Array(rows * padded);
  for (let r = 0; r < rows; r++) wide.set(values.subarray(r * cols, (r + 1) * cols), r * padded);
  return quantize(format, wide, rows, padded);
}

/** d = max|x| / 127, q = round(x / d): the error of each weight is at most d / 2. */
function quantizeQ8Block(x: Float32Array, out: Uint8Array): number {
  let amax = 0;
  for (const v of x) amax = Math.max(amax, Math.abs(v));
  const d = amax / 127;
  const id = d ? 1 / d : 0;
  // roundf: halves away from zero (Math.round would send −0.5 up to 0).
  for (let j = 0; j < BLOCK; j++) {
    const v = Math.fround(x[j] * id);
    out[j] = (Math.sign(v) * Math.round(Math.abs(v))) & 0xff;
  }
  return roundToFloat16(d);
}

/**
 * d = m / −8 where m is the weight of largest magnitude (sign kept), q = min(15, ⌊x/d + 8.5⌋):
 * m itself maps to q = 0 exactly; the error of each weight is at most |d| (|d|/2 but for the clamp).
 */
function quantizeQ4Block(x: Float32Array, out: Uint8Array): number {
  let amax = 0;
  let max = 0;
  for (const v of x) {
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = max / -8;
  const id = d ? 1 / d : 0;
  const q = (v: number) => Math.min(15, Math.trunc(Math.fround(v * id) + 8.5));
  for (let j = 0; j < BLOCK / 2; j++) out[j] = q(x[j]) | (q(x[j + BLOCK / 2]) << 4);
  return roundToFloat16(d);
}

/** The integer of weight j (0..31) of block b, signed (q8_0: q; q4_0: q − 8). */
export function blockInteger(m: QuantizedMatrix, bytes: Uint8Array, b: number, j: number): number {
  if (m.format === 'q8_0') return (bytes[b * 32 + j] << 24) >> 24;
  const byte = bytes[b * 16 + (j % 16)];
  return (j < 16 ? byte & 0x0f : byte >>> 4) - 8;
}

/** Chosen rows of the matrix as floats, [rows.length, cols] (an embedding lookup reads only its tokens' rows). */
export function dequantizeRows(m: QuantizedMatrix, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * m.cols);
  const bytes = new Uint8Array(m.words.buffer, m.words.byteOffset, m.words.byteLength);
  const blocksPerRow = m.cols / BLOCK;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (!Number.isInteger(r) || r < 0 || r >= m.rows) throw new RangeError(`row ${r} is outside the matrix's ${m.rows} rows`);
    for (let c = 0; c < blocksPerRow; c++) {
      const b = r * blocksPerRow + c;
      const at = i * m.cols + c * BLOCK;
      for (let j = 0; j < BLOCK; j++) out[at + j] = m.scales[b] * blockInteger(m, bytes, b, j);
    }
  }
  return out;
}

/** The float matrix the blocks stand for (tests and references; inference never expands a matrix). */
export function dequantize(m: QuantizedMatrix): Float32Array {
  return dequantizeRows(
    m,
    Int32Array.from({ length: m.rows }, (_, r) => r),
  );
}
