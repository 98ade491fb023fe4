// Q6_K (the classifier of llama.cpp's Q4_0 files) is read by converting it to Q8_0. The decoder
// is checked against ggml's own loop structure (dequantize_row_q6_K: two halves of 128, four
// 32-wide groups per half, written out here independently of q6k.ts's per-weight indexing).
import { describe, expect, it } from 'vitest';
import { dequantizeQ6K, Q6K_BLOCK_BYTES } from '../../src/engine/gguf/q6k.ts';
import { decodeTensor } from '../../src/engine/gguf/tensor-codec.ts';
import { GGML_Q6_K } from '../../src/engine/gguf/tensor-types.ts';
import { dequantize, quantize, type QuantizedMatrix } from '../../src/engine/quant/blocks.ts';
import { fromFloat16Bits, toFloat16Bits } from '../../src/engine/quant/float16.ts';

const halves = Float32Array.from({ length: 65536 }, (_, bits) => fromFloat16Bits(bits));

/** ggml's dequantize_row_q6_K, loop for loop. */
function ggmlReference(bytes: Uint8Array, blocks: number): Float32Array {
  const y = new Float32Array(blocks * 256);
  const s8 = (b: number) => (b << 24) >> 24;
  for (let i = 0; i < blocks; i++) {
    const base = i * Q6K_BLOCK_BYTES;
    const d = fromFloat16Bits(bytes[base + 208] | (bytes[base + 209] << 8));
    let ql = base, qh = base + 128, sc = base + 192, out = i * 256;
    for (let n = 0; n < 256; n += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const q1 = ((bytes[ql + l] & 0xf) | (((bytes[qh + l] >> 0) & 3) << 4)) - 32;
        const q2 = ((bytes[ql + l + 32] & 0xf) | (((bytes[qh + l] >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l] >> 4) | (((bytes[qh + l] >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + l + 32] >> 4) | (((bytes[qh + l] >> 6) & 3) << 4)) - 32;
        y[out + l] = d * s8(bytes[sc + is]) * q1;
        y[out + l + 32] = d * s8(bytes[sc + is + 2]) * q2;
        y[out + l + 64] = d * s8(bytes[sc + is + 4]) * q3;
        y[out + l + 96] = d * s8(bytes[sc + is + 6]) * q4;
      }
      out += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
  return y;
}

function randomQ6K(blocks: number, seed: number): Uint8Array {
  let s = seed;
  const bytes = new Uint8Array(blocks * Q6K_BLOCK_BYTES).map(() => (s = (s * 1103515245 + 12345) >>> 0) >>> 24);
  for (let i = 0; i < blocks; i++) {
    const d = toFloat16Bits(0.001 * (1 + i)); // a finite, realistic super-block scale
    bytes[i * Q6K_BLOCK_BYTES + 208] = d & 0xff;
    bytes[i * Q6K_BLOCK_BYTES + 209] = d >> 8;
  }
  return bytes;
}

describe('Q6_K', () => {
  it("decodes every weight as ggml's dequantize_row_q6_K does", () => {
    const bytes = randomQ6K(6, 7);
    const ours = dequantizeQ6K(bytes, 6 * 256, halves);
    expect(Array.from(ours)).toEqual(Array.from(ggmlReference(bytes, 6)));
    expect(ours.some((v) => v !== 0)).toBe(true);
  });

  it('becomes exactly the Q8_0 blocks of its decoded weights, within half a Q8_0 step of them', () => {
    const rows = 3;
    const cols = 512;
    const bytes = randomQ6K((rows * cols) / 256, 11);
    const m = decodeTensor(GGML_Q6_K, bytes, rows, cols) as QuantizedMatrix;
    const exact = ggmlReference(bytes, (rows * cols) / 256);
    expect(m.format).toBe('q8_0');
    expect([m.rows, m.cols]).toEqual([rows, cols]);
    const ref = quantize('q8_0', exact, rows, cols);
    expect(m.words).toEqual(ref.words);
    expect(m.scales).toEqual(ref.scales);
    const back = dequantize(m);
    for (let b = 0; b < m.scales.length; b++)
      for (let j = 0; j < 32; j++) {
        const i = b * 32 + j;
        // Q8_0's step is its scale d; rounding to the nearest step errs by at most d/2, plus the
        // scale's own rounding to half precision (relative 2^-11 of the largest weight).
        expect(Math.abs(back[i] - exact[i])).toBeLessThanOrEqual(m.scales[b] / 2 + 127 * m.scales[b] * 2 ** -11 + 1e-12);
      }
  });
});
