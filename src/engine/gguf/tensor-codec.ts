/**
 * Tensor data between GGUF's bytes and host values. Quantized blocks are repacked, not expanded:
 * GGUF interleaves each block's f16 scale with its quant bytes (34-byte Q8_0 blocks, 18-byte
 * Q4_0 blocks); a QuantizedMatrix keeps the scales apart and the quant bytes contiguous.
 */
import { BLOCK, quantize, WORDS_PER_BLOCK, type QuantizedMatrix } from '../quant/blocks.ts';
import { dequantizeQ6K, Q6K_BLOCK, Q6K_BLOCK_BYTES } from './q6k.ts';
import { fromFloat16Bits, toFloat16Bits } from '../quant/float16.ts';
import { BLOCK_BYTES, GGML_F16, GGML_F32, GGML_Q6_K, GGML_TYPE_OF, QUANT_FORMAT_OF, type SupportedType } from './tensor-types.ts';

let halfTable: Float32Array | undefined;
/** Every half-precision bit pattern as float32: one lookup per F16 weight instead of arithmetic. */
function halves(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) halfTable[bits] = fromFloat16Bits(bits);
  }
  return halfTable;
}

/** A copy as float32s (copied: the bytes may sit at any offset of a larger buffer). */
function float32sOf(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function halfsToFloat32(bytes: Uint8Array): Float32Array {
  const table = halves();
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0, b = 0; i < out.length; i++, b += 2) out[i] = table[bytes[b] | (bytes[b + 1] << 8)];
  return out;
}

function unpackBlocks(type: SupportedType, bytes: Uint8Array, rows: number, cols: number): QuantizedMatrix {
  const format = QUANT_FORMAT_OF[type]!;
  const blocks = (rows * cols) / BLOCK;
  const quantBytes = WORDS_PER_BLOCK[format] * 4;
  const table = halves();
  const scales = new Float32Array(blocks);
  const words = new Int32Array(blocks * WORDS_PER_BLOCK[format]);
  const out = new Uint8Array(words.buffer);
  for (let b = 0, src = 0, dst = 0; b < blocks; b++) {
    scales[b] = table[bytes[src] | (bytes[src + 1] << 8)];
    src += 2;
    for (let j = 0; j < quantBytes; j++) out[dst++] = bytes[src++];
  }
  return { format, rows, cols, scales, words };
}

/**
 * The host value of a tensor's bytes: float32 for F32/F16, still-packed blocks for Q8_0/Q4_0, and
 * Q6_K requantized to Q8_0 row by row (one row is all that is ever expanded to float32; the error
 * added is at most half a Q8_0 step, 1/254 of a block's largest weight).
 */
function q6kAsQ8(bytes: Uint8Array, rows: number, cols: number): QuantizedMatrix {
  const rowBytes = (cols / Q6K_BLOCK) * Q6K_BLOCK_BYTES;
  const blocks = cols / BLOCK;
  const scales = new Float32Array(rows * blocks);
  const words = new Int32Array(rows * blocks * WORDS_PER_BLOCK.q8_0);
  for (let r = 0; r < rows; r++) {
    const row = quantize('q8_0', dequantizeQ6K(bytes.subarray(r * rowBytes, (r + 1) * rowBytes), cols, halves()), 1, cols);
    scales.set(row.scales, r * blocks);
    words.set(row.words, r * row.words.length);
  }
  return { format: 'q8_0', rows, cols, scales, words };
}

export function decodeTensor(type: SupportedType, bytes: Uint8Array, rows: number, cols: number): Float32Array | QuantizedMatrix {
  if (type === GGML_F32) return float32sOf(bytes);
  if (type === GGML_F16) return halfsToFloat32(bytes);
  if (type === GGML_Q6_K) return q6kAsQ8(bytes, rows, cols);
  return unpackBlocks(type, bytes, rows, cols);
}

/** A host value as GGUF bytes: float32 as F32 or (rounded) F16, a quantized matrix as its own type. */
export function encodeTensor(value: Float32Array | QuantizedMatrix, asHalf = false): { type: SupportedType; bytes: Uint8Array } {
  if (value instanceof Float32Array) {
    if (!asHalf) return { type: GGML_F32, bytes: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) };
    const bits = new Uint16Array(value.length);
    for (let i = 0; i < value.length; i++) bits[i] = toFloat16Bits(value[i]);
    return { type: GGML_F16, bytes: new Uint8Array(bits.buffer) };
  }
  const quantBytes = WORDS_PER_BLOCK[value.format] * 4;
  const stride = BLOCK_BYTES[value.format];
  const src = new Uint8Array(value.words.buffer, value.words.byteOffset, value.words.byteLength);
  const bytes = new Uint8Array(value.scales.length * stride);
  const view = new DataView(bytes.buffer);
  for (let b = 0; b < value.scales.length; b++) {
    view.setUint16(b * stride, toFloat16Bits(value.scales[b]), true);
    bytes.set(src.subarray(b * quantBytes, (b + 1) * quantBytes), b * stride + 2);
  }
  return { type: GGML_TYPE_OF[value.format], bytes };
}
