/**
 * The fused forms of a quantized linear (RMSNorm prologue, SwiGLU prologue, residual epilogue, in
 * one kernel launch) against the separate ops on the host backends, and stories260K's logits
 * through the fused block against the probed (unfused) one.
 *
 * Exact equality is the right test here: the host kernel computes its prologue with the separate
 * kernels' own row functions (rmsNormRows, swiGluRows, llama2.c's float32 order), runs the same
 * matmul loop on the same inputs, and adds the residual in float32 as tf.add does, so any
 * difference at all means the fused kernel read or combined something else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../../src/engine/errors.ts';
import { quantizedMatMul } from '../../src/engine/kernels/quantized-matmul.ts';
import { rmsNorm } from '../../src/engine/kernels/rms-norm.ts';
import { swiGlu } from '../../src/engine/kernels/swiglu.ts';
import { Llama } from '../../src/engine/llama.ts';
import { quantizePadded, type QuantFormat } from '../../src/engine/quant/blocks.ts';
import { QuantizedLinear } from '../../src/engine/weights/quantized-linear.ts';
import { prng } from '../support/random.ts';
import { sharedBytes, STORIES260K, TOK512 } from '../support/shared.ts';
import { fusedAndProbedLogits } from '../support/fused-logits.ts';

const FORMATS: QuantFormat[] = ['q8_0', 'q4_0'];
const EPS = 1e-5;

function random(n: number, seed: number, scale = 1): Float32Array {
  const next = prng(seed);
  return Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
}

/** A quantized [rows, inFeatures] linear, padded to whole blocks when inFeatures is not. */
function randomLinear(format: QuantFormat, rows: number, inFeatures: number, seed: number): QuantizedLinear {
  return QuantizedLinear.fromMatrices([quantizePadded(format, random(rows * inFeatures, seed), rows, inFeatures)], inFeatures);
}

async function expectSame(fused: tf.Tensor, separate: tf.Tensor): Promise<void> {
  expect(fused.shape).toEqual(separate.shape);
  const [a, b] = [await fused.data(), await separate.data()];
  expect(Array.from(a)).toEqual(Array.from(b));
  expect(b.some((v) => v !== 0)).toBe(true);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fused quantized linears on ${backend}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
      await tf.ready();
    });

    // Widths: whole blocks (64, 96) and one padded to whole blocks (44 → 64, as stories260K's
    // hidden width 172 pads to 192).
    for (const format of FORMATS)
      for (const T of [1, 3])
        for (const inFeatures of [64, 44])
          it(`${format}, T = ${T}, ${inFeatures} inputs: each fused form equals the separate ops`, async () => {
            const rows = 37;
            const w = randomLinear(format, rows, inFeatures, inFeatures + T);
            const x = tf.tensor2d(random(T * inFeatures, 1, 3), [T, inFeatures]);
            const g = tf.tensor1d(random(inFeatures, 2));
            const gateUp = tf.tensor2d(random(T * 2 * inFeatures, 3, 4), [T, 2 * inFeatures]);
            const r = tf.tensor2d(random(T * rows, 4, 2), [T, rows]);
            const before = tf.memory().numTensors;
            const pairs = [
              [w.applyNormed(x, g, EPS), tf.tidy(() => w.apply(rmsNorm(x, g, EPS)))],
              [w.applyAdd(x, r), tf.tidy(() => tf.add(r, w.apply(x)))],
              [w.applyGatedAdd(gateUp, r), tf.tidy(() => tf.add(r, w.apply(swiGlu(gateUp))))],
            ];
            expect(tf.memory().numTensors).toBe(before + 2 * pairs.length); // no intermediates left behind
            for (const [fused, separate] of pairs) await expectSame(fused, separate);
            tf.dispose([...pairs.flat(), x, g, gateUp, r]);
            w.dispose();
          });

    it('the kernel refuses inputs its attributes do not describe', () => {
      const w = randomLinear('q4_0', 4, 64, 5);
      const run = (x: tf.Tensor2D, attrs: object, extras: object = {}) => () =>
        tf.tidy(() => quantizedMatMul(x, w.words, w.scales, { format: 'q4_0', rows: 4, cols: 64, ...attrs }, extras));
      const x = tf.zeros([2, 64]) as tf.Tensor2D;
      expect(run(x, { prologue: 'rmsNorm', eps: EPS })).toThrow(EngineError);
      expect(run(x, { prologue: 'rmsNorm', eps: EPS })).toThrow(/normWeight must be float32 \[64\], got nothing/);
      expect(run(x, { residual: true }, { residual: tf.zeros([1, 4]) })).toThrow(/residual must be float32 \[2,4\]/);
      expect(run(x, {}, { residual: tf.zeros([2, 4]) })).toThrow(/residual was given but the attributes do not use it/);
      expect(run(x, { prologue: 'swiGlu' })).toThrow(/x must be float32 \[T, 128\]/);
      expect(run(x, { prologue: 'swiGlu', inFeatures: 16 })).toThrow(/inFeatures 16 must pad to the 64 columns/);
      expect(run(x, { prologue: 'gelu' })).toThrow(/unknown prologue "gelu"/);
      x.dispose();
      w.dispose();
    });
  });
}

describe('stories260K quantized: the fused block against the probed one', () => {
  const model = sharedBytes(STORIES260K);
  const tok = sharedBytes(TOK512);
  afterAll(() => tf.setBackend('cpu'));

  // stories260K covers both prologues on a padded width (w2's 172 inputs pack to 192) and GQA.
  for (const backend of ['cpu', 'wasm'] as const)
    it(`${backend}: the same logits for a prompt and then one decoded token, q8_0 and q4_0`, async () => {
      await tf.setBackend(backend);
      for (const quant of FORMATS) {
        const llama = Llama.fromBytes(model, STORIES260K, tok, TOK512, { quant });
        const [fused, probed] = await fusedAndProbedLogits(llama, 'Once upon a time, there was a little dog named Max.');
        expect(fused.map((a) => Array.from(a))).toEqual(probed.map((a) => Array.from(a)));
        llama.dispose();
      }
    });
});
