// The WGSL quantized matmul (decode and prefill programs) against a float64 reference, on
// WebGPU in Node (SwiftShader without a GPU: small shapes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { dequantize, quantize, type QuantFormat } from '../../src/engine/quant/blocks.ts';
import { quantizedMatMul } from '../../src/engine/kernels/quantized-matmul.ts';
import { getMatVecTiling, setMatVecTiling } from '../../src/engine/kernels/webgpu/quantized-matmul.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { onBackend } from '../support/engine.ts';
import { prng } from '../support/random.ts';

const uniform = (n: number, seed: number) => {
  const next = prng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
};

/** Runs the kernel on random W [rows, cols] and x [T, cols]; returns its output and float64 reference bounds. */
async function compare(format: QuantFormat, tokens: number, rows: number, cols: number, seed: number) {
  const m = quantize(format, uniform(rows * cols, seed), rows, cols);
  const w = dequantize(m); // exact: an f16 scale times a small integer fits in f32
  const x = uniform(tokens * cols, seed + 1);
  const y = tf.tidy(() =>
    quantizedMatMul(tf.tensor2d(x, [tokens, cols]), tf.tensor1d(m.words, 'int32'), tf.tensor1d(m.scales), { format, rows, cols }),
  );
  expect(y.shape).toEqual([tokens, rows]);
  const got = await y.data();
  y.dispose();
  let worst = 0;
  for (let t = 0; t < tokens; t++) {
    for (let r = 0; r < rows; r++) {
      let exact = 0;
      let magnitude = 0;
      for (let c = 0; c < cols; c++) {
        exact += w[r * cols + c] * x[t * cols + c];
        magnitude += Math.abs(w[r * cols + c] * x[t * cols + c]);
      }
      // Any order of f32 multiplications and additions over n = cols products (plus the scale
      // multiply per block) errs by at most about (n + 2)·2⁻²⁴·Σ|w·x| (the standard γₙ bound).
      const bound = (cols + 2) * 2 ** -24 * magnitude;
      worst = Math.max(worst, Math.abs(got[t * rows + r] - exact) / bound);
    }
  }
  return worst;
}

describe('LlamaQuantizedMatMul on webgpu', () => {
  beforeAll(() => onBackend('webgpu'));
  afterAll(() => {
    if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  });

  // rows 37 and 100 are not multiples of a workgroup's rows (16 decode, 64 prefill); cols 96 and
  // 1184 are 3 and 37 blocks (odd), 1184 having more units per row than a row's 32 threads.
  // T = 5 fills part of one token tile, T = 9 spills into a second.
  const cases = (['q8_0', 'q4_0'] as const).flatMap((format) =>
    [1, 5, 9].flatMap((tokens) => [[37, 1184], [100, 96]].map(([rows, cols]) => [format, tokens, rows, cols] as const)),
  );
  it.each(cases)('%s T=%i %i×%i is within the f32 rounding bound of float64', async (format, tokens, rows, cols) => {
    expect(await compare(format, tokens, rows, cols, rows * 7 + tokens)).toBeLessThanOrEqual(1);
  });

  it('other decode tilings (as the benchmark tries) give the same bound', async () => {
    const standard = getMatVecTiling();
    try {
      for (const tiling of [{ threadsPerRow: 8, rowsPerThread: 3, groups: 2 }, { threadsPerRow: 64, rowsPerThread: 1, groups: 4 }]) {
        setMatVecTiling(tiling);
        for (const format of ['q8_0', 'q4_0'] as const) expect(await compare(format, 1, 37, 1184, 5)).toBeLessThanOrEqual(1);
      }
    } finally {
      setMatVecTiling(standard);
    }
  });

  it('a decode grid of more than 65535 workgroups (which the backend folds into 2-D) covers every row', async () => {
    const standard = getMatVecTiling();
    try {
      setMatVecTiling({ threadsPerRow: 1, rowsPerThread: 1, groups: 1 }); // one row per workgroup
      expect(await compare('q4_0', 1, 65_600, 32, 11)).toBeLessThanOrEqual(1);
    } finally {
      setMatVecTiling(standard);
    }
  });

  it('refuses inputs that do not match the attributes', () => {
    const m = quantize('q4_0', uniform(4 * 64, 3), 4, 64);
    const run = (cols: number) =>
      tf.tidy(() => quantizedMatMul(tf.zeros([1, cols]), tf.tensor1d(m.words, 'int32'), tf.tensor1d(m.scales), { format: 'q8_0', rows: 4, cols }));
    expect(() => run(64)).toThrow(EngineError);
    expect(() => run(64)).toThrow(/words must be int32 \[64\]/);
    expect(() => setMatVecTiling({ threadsPerRow: 24, rowsPerThread: 1, groups: 1 })).toThrow(/power of two/);
  });
});
