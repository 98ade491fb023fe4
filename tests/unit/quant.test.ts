import { describe, expect, it } from 'vitest';
import { BLOCK, dequantize, quantize, type QuantFormat } from '../../src/engine/quant/blocks.ts';
import { fromFloat16Bits, roundToFloat16, toFloat16Bits } from '../../src/engine/quant/float16.ts';
import { quantizedMatVec } from '../../src/engine/quant/matvec.ts';

/** Deterministic values in (-scale, scale), with an occasional outlier as real weights have. */
function randomMatrix(n: number, seed: number, scale = 0.05): Float32Array {
  let s = seed;
  const next = () => ((s = (s * 48271) % 2147483647) / 2147483647) * 2 - 1;
  return Float32Array.from({ length: n }, (_, i) => next() * scale * (i % 97 === 0 ? 20 : 1));
}

describe('half precision', () => {
  it('encodes known values, rounding to nearest even', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff); // largest finite
    expect(toFloat16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(2 ** -26)).toBe(0x0000); // below half of it: zero
    expect(toFloat16Bits(0.1)).toBe(0x2e66);
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // a tie goes to the even mantissa
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
  });

  it('decodes what it encodes, for every finite half', () => {
    for (let bits = 0; bits < 0x7c00; bits++) {
      expect(toFloat16Bits(fromFloat16Bits(bits))).toBe(bits);
      expect(toFloat16Bits(-fromFloat16Bits(bits))).toBe(bits === 0 ? 0x8000 : bits | 0x8000);
    }
    expect(fromFloat16Bits(0x3555)).toBe(0.333251953125);
    expect(roundToFloat16(1 / 3)).toBe(0.333251953125);
  });
});

describe('GGUF block quantization', () => {
  it('q8_0 by hand: d = max|x| / 127, q = round half away from zero', () => {
    const x = new Float32Array(BLOCK);
    x.set([127, -127, 63.5, -63.5, 0.4, -0.6]);
    const m = quantize('q8_0', x, 1, BLOCK);
    expect(m.scales[0]).toBe(1);
    expect(Array.from(new Int8Array(m.words.buffer).subarray(0, 6))).toEqual([127, -127, 64, -64, 0, -1]);
  });

  it('q4_0 by hand: d = (signed max) / -8, nibbles q + 8, weight j + 16 in the high nibble', () => {
    const x = new Float32Array(BLOCK);
    x[0] = -8; // the largest magnitude: d = 1, q = 0
    x[1] = 7;
    x[16] = 3.4;
    x[17] = 7.9; // ⌊7.9 + 8.5⌋ = 16, clamped to 15
    const m = quantize('q4_0', x, 1, BLOCK);
    expect(m.scales[0]).toBe(1);
    const bytes = new Uint8Array(m.words.buffer);
    expect(bytes[0]).toBe(0 | (11 << 4)); // x0 → 0, x16 → ⌊3.4 + 8.5⌋ = 11
    expect(bytes[1]).toBe(15 | (15 << 4));
    expect(bytes[2]).toBe(8 | (8 << 4)); // zeros
    expect(Array.from(dequantize(m).subarray(0, 2))).toEqual([-8, 7]);
    expect(dequantize(m)[16]).toBe(3);
    expect(dequantize(m)[17]).toBe(7);
  });

  // Per weight: q8_0 rounds to the nearest of 255 levels (error ≤ d/2), q4_0 to 16 levels with
  // the top one clamped (error ≤ |d|); d itself is rounded to half precision (relative 2^-11),
  // which moves a weight by at most 127·d·2^-11 (q8_0) or 8·|d|·2^-11 (q4_0).
  for (const [format, bound] of [
    ['q8_0', (d: number) => d / 2 + 127 * d * 2 ** -11],
    ['q4_0', (d: number) => Math.abs(d) * (1 + 8 * 2 ** -11)],
  ] as const) {
    it(`${format}: every weight within its block's error bound, on random weights`, () => {
      const [rows, cols] = [24, 256];
      const w = randomMatrix(rows * cols, 7);
      const m = quantize(format as QuantFormat, w, rows, cols);
      expect(m.words.length).toBe(((rows * cols) / BLOCK) * (format === 'q8_0' ? 8 : 4));
      const back = dequantize(m);
      let worst = 0;
      for (let i = 0; i < w.length; i++) {
        const d = m.scales[Math.floor(i / BLOCK)];
        const err = Math.abs(back[i] - w[i]);
        expect(err).toBeLessThanOrEqual(bound(d) + 1e-12);
        worst = Math.max(worst, err / Math.abs(d));
      }
      expect(worst).toBeGreaterThan(0.3); // the bound is not vacuous: errors come close to it
    });

    it(`${format}: the quantized matvec equals W·x over the dequantized matrix, in float64`, () => {
      const [rows, cols] = [40, 320];
      const m = quantize(format as QuantFormat, randomMatrix(rows * cols, 11), rows, cols);
      const x = randomMatrix(cols, 13, 1);
      const w = dequantize(m);
      const y = quantizedMatVec(m, x);
      for (let r = 0; r < rows; r++) {
        let ref = 0;
        let magnitude = 0;
        for (let c = 0; c < cols; c++) {
          ref += w[r * cols + c] * x[c];
          magnitude += Math.abs(w[r * cols + c] * x[c]);
        }
        // The kernel sums in float64 and stores float32: one rounding of the result.
        expect(Math.abs(y[r] - ref)).toBeLessThanOrEqual(2 ** -23 * magnitude + 1e-30);
      }
    });
  }

  it('refuses rows that are not whole blocks, and a vector of the wrong length', () => {
    expect(() => quantize('q8_0', new Float32Array(48), 1, 48)).toThrow(/multiple of 32 columns, got 48/);
    expect(() => quantize('q4_0', new Float32Array(64), 3, 32)).toThrow(/3×32 matrix needs 96 values, got 64/);
    const m = quantize('q4_0', new Float32Array(64), 2, 32);
    expect(() => quantizedMatVec(m, new Float32Array(31))).toThrow(/x has 31 values, the matrix 32 columns/);
  });
});
