// The WGSL quantized matmul (decode and prefill programs) against a float64 reference, on
// WebGPU in Node (SwiftShader without a GPU: small shapes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { dequantize, quantize, quantizePadded, type QuantFormat } from '../../src/engine/quant/blocks.ts';
import { quantizedMatMul, type Prologue } from '../../src/engine/kernels/quantized-matmul.ts';
import { rmsNormRows } from '../../src/engine/kernels/rms-norm.ts';
import { swiGluRows } from '../../src/engine/kernels/swiglu.ts';
import { resetMatVecTiling, setMatVecTiling } from '../../src/engine/kernels/webgpu/quantized-matmul.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { Llama } from '../../src/engine/llama.ts';
import { onBackend } from '../support/engine.ts';
import { sharedBytes, STORIES260K, TOK512 } from '../support/shared.ts';
import { prng } from '../support/random.ts';
import { fusedAndProbedLogits } from '../support/fused-logits.ts';
import { expectQuantizedRows, QUANTIZED_ROWS_CASES } from '../support/quantized-rows.ts';

const uniform = (n: number, seed: number) => {
  const next = prng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
};

/** The fused forms: a prologue on x, W's inputs (≤ cols, the rest padding) and a residual. */
interface Fusion {
  prologue: Prologue;
  inFeatures?: number;
  residual?: boolean;
}

const EPS = 1e-5;

/**
 * Runs the kernel on random W [rows, cols] and x (with the fusion's prologue and residual);
 * returns its worst error relative to the float32 rounding bound of a float64 reference.
 */
async function compare(format: QuantFormat, tokens: number, rows: number, cols: number, seed: number, fusion: Fusion = { prologue: 'none' }) {
  const { prologue, inFeatures = cols, residual = false } = fusion;
  const m = quantizePadded(format, uniform(rows * inFeatures, seed), rows, inFeatures);
  expect(m.cols).toBe(cols);
  const w = dequantize(m); // exact: an f16 scale times a small integer fits in f32
  const width = prologue === 'swiGlu' ? 2 * inFeatures : inFeatures;
  const x = uniform(tokens * width, seed + 1).map((v) => v * 4);
  const g = uniform(inFeatures, seed + 2);
  const res = uniform(tokens * rows, seed + 3);
  // The product's input as the separate host kernels compute it (float32, llama2.c's order).
  const h = new Float32Array(tokens * inFeatures);
  if (prologue === 'rmsNorm') rmsNormRows(x, g, h, EPS);
  else if (prologue === 'swiGlu') swiGluRows(x, h, inFeatures);
  else h.set(x);
  const y = tf.tidy(() =>
    quantizedMatMul(
      tf.tensor2d(x, [tokens, width]),
      tf.tensor1d(m.words, 'int32'),
      tf.tensor1d(m.scales),
      { format, rows, cols, prologue, ...(prologue === 'none' ? {} : { inFeatures }), eps: EPS, residual },
      { ...(prologue === 'rmsNorm' ? { normWeight: tf.tensor1d(g) } : {}), ...(residual ? { residual: tf.tensor2d(res, [tokens, rows]) } : {}) },
    ),
  );
  expect(y.shape).toEqual([tokens, rows]);
  const got = await y.data();
  y.dispose();
  let worst = 0;
  for (let t = 0; t < tokens; t++) {
    for (let r = 0; r < rows; r++) {
      let exact = residual ? res[t * rows + r] : 0;
      let magnitude = Math.abs(exact);
      for (let c = 0; c < inFeatures; c++) {
        exact += w[r * cols + c] * h[t * inFeatures + c];
        magnitude += Math.abs(w[r * cols + c] * h[t * inFeatures + c]);
      }
      // Any order of f32 multiplications and additions over n = cols products (plus the scale
      // multiply per block and the residual add) errs by at most about (n + 3)·2⁻²⁴·Σ|w·h|
      // (the standard γₙ bound). A prologue's h differs from the host's by float32 rounding of
      // its own: RMSNorm's sum of squares in another order (≤ n ulp of h, the square root halving
      // it), SiLU's exp within 3 + 2|x| ulp (|x| ≤ 4 here) plus a divide and two multiplies; we
      // allow another (n + 16)·2⁻²⁴ of Σ|w·h| for it.
      const bound = (prologue === 'none' ? cols + 3 : 2 * cols + 19) * 2 ** -24 * magnitude;
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

  // The fused forms, decode and prefill; 172 inputs padded to 192 columns as stories260K's w2.
  const fusions: [string, Fusion][] = [
    ['residual', { prologue: 'none', residual: true }],
    ['rmsNorm', { prologue: 'rmsNorm' }],
    ['rmsNorm, padded', { prologue: 'rmsNorm', inFeatures: 172 }],
    ['swiGlu + residual', { prologue: 'swiGlu', residual: true }],
    ['swiGlu + residual, padded', { prologue: 'swiGlu', inFeatures: 172, residual: true }],
  ];
  const fusedCases = (['q8_0', 'q4_0'] as const).flatMap((format) => [1, 9].flatMap((tokens) => fusions.map(([name, f]) => [format, tokens, name, f] as const)));
  it.each(fusedCases)('%s T=%i %s is within the f32 rounding bound of float64', async (format, tokens, _name, fusion) => {
    expect(await compare(format, tokens, 37, 192, tokens * 13 + 1, fusion)).toBeLessThanOrEqual(1);
  });

  /**
   * The model's fused block (three fused products per layer) against its probed block (the
   * separate RMSNorm, SwiGLU and add kernels). Both round in float32 in different orders (a
   * sum of squares per workgroup, SiLU inside the product): each op's result differs by a few
   * ulps, ≈ n·2⁻²⁴ ≈ 1e-5 of its scale for sums of n ≤ 192 terms, compounding over 5 layers. We
   * allow 2e-4 of the logits' scale, far below what quantization changes (q4_0 vs q8_0: > 3%).
   */
  it('stories260K q4_0: the fused block gives the probed block\'s logits (prefill and a decode step)', async () => {
    const llama = Llama.fromBytes(sharedBytes(STORIES260K), STORIES260K, sharedBytes(TOK512), TOK512, { quant: 'q4_0' });
    const [fused, probed] = await fusedAndProbedLogits(llama, 'Once upon a time, there was a little dog named Max.');
    probed.forEach((expected, i) => {
      const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const worst = expected.reduce((m, v, j) => Math.max(m, Math.abs(fused[i][j] - v)), 0);
      expect(worst).toBeLessThanOrEqual(2e-4 * scale);
    });
    llama.dispose();
  });

  it('other decode tilings (as the benchmark tries) give the same bound', async () => {
    try {
      for (const tiling of [{ threadsPerRow: 8, rowsPerThread: 3, groups: 3 }, { threadsPerRow: 64, rowsPerThread: 1, groups: 4 }]) {
        setMatVecTiling(tiling);
        for (const format of ['q8_0', 'q4_0'] as const) expect(await compare(format, 1, 37, 1184, 5)).toBeLessThanOrEqual(1);
        expect(await compare('q4_0', 1, 37, 192, 6, { prologue: 'rmsNorm', inFeatures: 172 })).toBeLessThanOrEqual(1);
      }
    } finally {
      resetMatVecTiling();
    }
  });

  /**
   * x staged in workgroup memory. With SwiftShader's 32 KiB of it, 11,008 columns (w2's) take
   * three chunks in q4_0 and two in q8_0 under 32x8x8s, two under 8x3x3s, the last one shorter;
   * 192 columns take one, with lanes past the last unit. The prologues read x through the copy.
   */
  it('decode tilings with x staged in workgroup memory give the same bound, over several chunks', async () => {
    try {
      for (const tiling of [{ threadsPerRow: 32, rowsPerThread: 8, groups: 8, stagedX: true }, { threadsPerRow: 8, rowsPerThread: 3, groups: 3, stagedX: true }]) {
        setMatVecTiling(tiling);
        for (const format of ['q8_0', 'q4_0'] as const) expect(await compare(format, 1, 37, 11_008, 7)).toBeLessThanOrEqual(1);
        expect(await compare('q4_0', 1, 37, 192, 8, { prologue: 'rmsNorm', inFeatures: 172 })).toBeLessThanOrEqual(1);
        expect(await compare('q8_0', 1, 37, 192, 9, { prologue: 'swiGlu', inFeatures: 172, residual: true })).toBeLessThanOrEqual(1);
      }
    } finally {
      resetMatVecTiling();
    }
  });

  it('a decode grid of more than 65535 workgroups (which the backend folds into 2-D) covers every row', async () => {
    try {
      setMatVecTiling({ threadsPerRow: 1, rowsPerThread: 1, groups: 1 }); // one row per workgroup
      expect(await compare('q4_0', 1, 65_600, 32, 11)).toBeLessThanOrEqual(1);
    } finally {
      resetMatVecTiling();
    }
  });

  // The embedding lookup of a packed table (kernels/quantized-rows.ts), beside the product.
  for (const [format, rows, width, ids] of QUANTIZED_ROWS_CASES)
    it(`LlamaQuantizedRows ${format}, rows ${width} wide: the host reference's rows to the bit`, () => expectQuantizedRows(format, rows, width, ids, rows + width));

  it('refuses inputs that do not match the attributes', () => {
    const m = quantize('q4_0', uniform(4 * 64, 3), 4, 64);
    const run = (cols: number) =>
      tf.tidy(() => quantizedMatMul(tf.zeros([1, cols]), tf.tensor1d(m.words, 'int32'), tf.tensor1d(m.scales), { format: 'q8_0', rows: 4, cols }));
    expect(() => run(64)).toThrow(EngineError);
    expect(() => run(64)).toThrow(/words must be int32 \[64\]/);
    expect(() => setMatVecTiling({ threadsPerRow: 24, rowsPerThread: 1, groups: 1 })).toThrow(/power of two/);
    expect(() => setMatVecTiling({ threadsPerRow: 64, rowsPerThread: 15, groups: 4, stagedX: true })).toThrow(/room for x/);
  });
});
