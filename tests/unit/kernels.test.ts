/**
 * Each fused kernel against the stock-op composite it replaces, on random float32 data, forward
 * and gradient, on both host backends (cpu, wasm); then the whole model both ways.
 *
 * Tolerances. The fused kernels compute in float32 in llama2.c's order of operations; the
 * composites run TF.js kernels whose reductions (mean, matmul, softmax sums) may add in another
 * order and whose sigmoid/exp may be a few ulps off the correctly rounded value. A sum of n
 * float32 terms in two orders differs by at most about n·u·Σ|terms| (u = 2⁻²⁴ ≈ 6e-8), and in
 * practice by about √n·u of it; the n here are at most 64, so forward results agree to a few
 * 1e-7 of their scale. We allow 2e-6 of each output's scale (max |value|) plus the same relative
 * to each element: 10× the typical error, still far below anything that changes a token.
 * RoPE does the same two rounded products and one rounded sum either way, so it must match to
 * the bit. Gradients are analytic formulas on one side and TF.js's chain rule on the other, with
 * a few more reductions in a row, so they get 5e-6. (Observed worst: 2.5e-7 for both.)
 *
 * The gradient kernels (and attention's training forward pass) need not follow llama2.c: they
 * compute in float64 (cpu), or on wasm as XNNPACK float32 matmuls with float64 elementwise work,
 * against the composites' float32 in another order. They get the gradient bound, 5e-6. The
 * attention gradient is the loosest: dS = P ⊙ (dP − Σ P ⊙ dP) cancels, so the float32 rounding of
 * dP (both sides) shows up relative to dS (observed worst 1.5e-6, wasm; 9e-7 over 40 other seeds).
 * The embedding gradient is a plain sum per token on both sides and is held to 2e-6.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // the stock ops' gradients, for the composites
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import {
  attention,
  attentionComposite,
  attentionGradComposite,
  attentionWithWeights,
  ATTENTION,
  ATTENTION_GRAD,
} from '../../src/engine/kernels/attention.ts';
import { EMBEDDING_GRAD, embeddingGrad, embeddingGradComposite } from '../../src/engine/kernels/embedding.ts';
import { KV_WRITE, kvWrite, ROPE_KV_WRITE, ropeKvWrite } from '../../src/engine/kernels/kv-write.ts';
import { hasKernel, hostKernelNames, runKernel, runKernelOutputs } from '../../src/engine/kernels/registry.ts';
import { RMS_NORM, RMS_NORM_GRAD, rmsNorm, rmsNormComposite, rmsNormGradComposite } from '../../src/engine/kernels/rms-norm.ts';
import { ROPE_QKV, ROPE_QKV_GRAD, ropeQkv, ropeQkvComposite, ropeQkvGradComposite } from '../../src/engine/kernels/rope.ts';
import { SWIGLU, SWIGLU_GRAD, swiGlu, swiGluComposite, swiGluGradComposite } from '../../src/engine/kernels/swiglu.ts';
import { RopePositions, ropeTables } from '../../src/engine/layers/rope.ts';
import { ConcatKVCache, createKVCache, InPlaceKVCache } from '../../src/engine/kv-cache.ts';
import { inspectForward } from '../../src/engine/inspect.ts';
import { Llama } from '../../src/engine/llama.ts';
import type { DenseLinear } from '../../src/engine/weights/linear.ts';
import { tinyConfig } from '../support/tiny-config.ts';

const FORWARD_TOL = 2e-6;
const GRAD_TOL = 5e-6;

/** |a − b| ≤ tol · (max|b| + |b|) elementwise. */
async function expectClose(actual: tf.Tensor, expected: tf.Tensor, tol: number) {
  expect(actual.shape).toEqual(expected.shape);
  const a = (await actual.data()) as Float32Array;
  const b = (await expected.data()) as Float32Array;
  const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (scale + Math.abs(b[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** Runs f with the host kernels unregistered, so the ops fall back to their composites. */
function withoutFusedKernels<T>(f: () => T): T {
  const backend = tf.getBackend();
  const saved = hostKernelNames.map((name) => tf.getKernel(name, backend)!);
  for (const k of saved) tf.unregisterKernel(k.kernelName, backend);
  try {
    return f();
  } finally {
    for (const k of saved) tf.registerKernel(k);
  }
}

/** Gradients of Σ f(xs) ⊙ r (a random projection of the output) with respect to xs. */
function projectedGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number): tf.Tensor[] {
  return tf.grads((...args: tf.Tensor[]) => {
    const y = f(...args);
    return tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', seed)));
  })(xs);
}

const config = tinyConfig;

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fused kernels on ${backend}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
      await tf.ready();
    });

    it('registers every fused kernel for this backend', () => {
      for (const name of [RMS_NORM, ROPE_QKV, ATTENTION, SWIGLU, KV_WRITE, ROPE_KV_WRITE]) expect(hasKernel(name)).toBe(true);
      for (const name of [RMS_NORM_GRAD, ROPE_QKV_GRAD, ATTENTION_GRAD, SWIGLU_GRAD, EMBEDDING_GRAD])
        expect(hasKernel(name)).toBe(true);
      withoutFusedKernels(() => expect(hasKernel(RMS_NORM)).toBe(false));
    });

    it('RMSNorm matches the composite, forward and gradient', async () => {
      const x = tf.randomNormal([5, 64], 0, 3, 'float32', 1);
      const w = tf.randomNormal([64], 1, 0.5, 'float32', 2) as tf.Tensor1D;
      await expectClose(rmsNorm(x, w, 1e-5), rmsNormComposite(x, w, 1e-5), FORWARD_TOL);
      const fused = projectedGrads((a, b) => rmsNorm(a, b as tf.Tensor1D, 1e-5), [x, w], 3);
      const composite = projectedGrads((a, b) => rmsNormComposite(a, b as tf.Tensor1D, 1e-5), [x, w], 3);
      for (let i = 0; i < 2; i++) await expectClose(fused[i], composite[i], GRAD_TOL);
      // Rank 3 as well: only the last axis is normalized.
      const x3 = tf.randomNormal([2, 3, 64], 0, 1, 'float32', 4);
      await expectClose(rmsNorm(x3, w, 1e-5), rmsNormComposite(x3, w, 1e-5), FORWARD_TOL);
    });

    it('RoPE on q and k matches the composite to the bit, forward; gradient within tolerance', async () => {
      for (const [nHeads, nKvHeads] of [
        [8, 4],
        [8, 8],
        [8, 1],
      ]) {
        const c = config({ nHeads, nKvHeads });
        const tables = ropeTables(c);
        const hs = c.dim / nHeads;
        const qkv = tf.randomNormal([3, (nHeads + 2 * nKvHeads) * hs], 0, 1, 'float32', 5) as tf.Tensor2D;
        const at = new RopePositions(tables, 7, 3);
        const fused = ropeQkv(qkv, at, nHeads, nKvHeads);
        const composite = ropeQkvComposite(qkv, at, nHeads, nKvHeads);
        for (const key of ['q', 'k', 'v'] as const) {
          expect(fused[key].shape).toEqual(composite[key].shape);
          expect(Array.from(await fused[key].data())).toEqual(Array.from(await composite[key].data()));
        }
        const outputs = (f: typeof ropeQkv) => (x: tf.Tensor) => {
          const { q, k, v } = f(x as tf.Tensor2D, at, nHeads, nKvHeads);
          return tf.concat([tf.reshape(q, [3, -1]), tf.reshape(k, [3, -1]), tf.reshape(v, [3, -1])], -1);
        };
        const [gFused] = projectedGrads(outputs(ropeQkv), [qkv], 6);
        const [gComposite] = projectedGrads(outputs(ropeQkvComposite), [qkv], 6);
        await expectClose(gFused, gComposite, GRAD_TOL);
        tables.cos.dispose();
        tables.sin.dispose();
      }
    });

    it('SwiGLU matches the composite, forward and gradient', async () => {
      const gateUp = tf.randomNormal([4, 2 * 172], 0, 3, 'float32', 7) as tf.Tensor2D;
      await expectClose(swiGlu(gateUp), swiGluComposite(gateUp), FORWARD_TOL);
      const [gFused] = projectedGrads((x) => swiGlu(x as tf.Tensor2D), [gateUp], 8);
      const [gComposite] = projectedGrads((x) => swiGluComposite(x as tf.Tensor2D), [gateUp], 8);
      await expectClose(gFused, gComposite, GRAD_TOL);
    });

    it('attention matches the composite for decode, prefill and GQA/MQA/MHA, forward and gradient', async () => {
      const cases = [
        { tokens: 1, start: 9, heads: 8, kvHeads: 4, capacity: 10 }, // decode
        { tokens: 6, start: 0, heads: 8, kvHeads: 4, capacity: 6 }, // prefill
        { tokens: 4, start: 3, heads: 8, kvHeads: 8, capacity: 7 }, // prefill after a prompt, MHA
        { tokens: 2, start: 5, heads: 8, kvHeads: 1, capacity: 7 }, // MQA
        { tokens: 3, start: 2, heads: 8, kvHeads: 2, capacity: 12 }, // preallocated cache, rows past the end ignored
      ];
      for (const [i, { tokens, start, heads, kvHeads, capacity }] of cases.entries()) {
        const hs = 8;
        const q = tf.randomNormal([tokens, heads, hs], 0, 2, 'float32', 10 + i) as tf.Tensor3D;
        const keys = tf.randomNormal([kvHeads, capacity, hs], 0, 2, 'float32', 20 + i) as tf.Tensor3D;
        const values = tf.randomNormal([kvHeads, capacity, hs], 0, 1, 'float32', 30 + i) as tf.Tensor3D;
        await expectClose(attention(q, keys, values, start), attentionComposite(q, keys, values, start), FORWARD_TOL);
        const f = (op: typeof attention) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          op(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, start);
        const gFused = projectedGrads(f(attention), [q, keys, values], 40 + i);
        const gComposite = projectedGrads(f(attentionComposite), [q, keys, values], 40 + i);
        for (let j = 0; j < 3; j++) await expectClose(gFused[j], gComposite[j], GRAD_TOL);
      }
    });

    it('attention for training (tape on) and its gradient kernel match the composite, with and without saved probabilities', async () => {
      const cases = [
        { tokens: 40, start: 0, heads: 8, kvHeads: 4, capacity: 40, hs: 16 }, // a training window (GQA)
        { tokens: 33, start: 0, heads: 4, kvHeads: 4, capacity: 33, hs: 8 }, // MHA, sizes not a multiple of 4
        { tokens: 5, start: 0, heads: 8, kvHeads: 1, capacity: 5, hs: 16 }, // MQA
        { tokens: 1, start: 9, heads: 8, kvHeads: 4, capacity: 10, hs: 8 }, // one token after a prompt
        { tokens: 7, start: 6, heads: 8, kvHeads: 2, capacity: 20, hs: 6 }, // preallocated cache, rows past the end get 0
      ];
      for (const [i, { tokens, start, heads, kvHeads, capacity, hs }] of cases.entries()) {
        const q = tf.randomNormal([tokens, heads, hs], 0, 2, 'float32', 110 + i) as tf.Tensor3D;
        const keys = tf.randomNormal([kvHeads, capacity, hs], 0, 2, 'float32', 120 + i) as tf.Tensor3D;
        const values = tf.randomNormal([kvHeads, capacity, hs], 0, 1, 'float32', 130 + i) as tf.Tensor3D;
        const dy = tf.randomNormal([tokens, heads * hs], 0, 1, 'float32', 140 + i) as tf.Tensor2D;
        // The forward pass a tape records: the output, and the probabilities it keeps for the gradient.
        const [output, probs] = runKernelOutputs(ATTENTION, { q, keys, values }, { start, exact: false });
        const reference = attentionWithWeights(q, keys, values, start);
        await expectClose(output, reference.output, GRAD_TOL);
        const rows = (tokens * heads) / kvHeads;
        await expectClose(probs, tf.reshape(reference.probs, [kvHeads, rows, start + tokens]), GRAD_TOL);
        const { value } = tf.valueAndGrads((a: tf.Tensor) => tf.sum(attention(a as tf.Tensor3D, keys, values, start)))([q]);
        await expectClose(value, tf.sum(reference.output), GRAD_TOL);
        // The gradient kernel, reusing the probabilities and recomputing them.
        const expected = attentionGradComposite(dy, q, keys, values, start);
        const withAndWithout: Record<string, tf.Tensor>[] = [
          { q, keys, values, dy, probs },
          { q, keys, values, dy },
        ];
        for (const inputs of withAndWithout) {
          const [dq, dkeys, dvalues] = runKernelOutputs(ATTENTION_GRAD, inputs, { start });
          await expectClose(dq, expected.q, GRAD_TOL);
          await expectClose(dkeys, expected.keys, GRAD_TOL);
          await expectClose(dvalues, expected.values, GRAD_TOL);
          if (capacity > start + tokens) {
            const past = tf.slice(dkeys, [0, start + tokens, 0], [-1, -1, -1]);
            expect(Array.from(await past.data()).every((x) => x === 0)).toBe(true);
          }
        }
      }
    });

    it('the gradient kernels match their stock-op fallbacks', async () => {
      const x = tf.randomNormal([6, 64], 0, 3, 'float32', 150) as tf.Tensor2D;
      const w = tf.randomNormal([64], 1, 0.5, 'float32', 151) as tf.Tensor1D;
      const dx = tf.randomNormal([6, 64], 0, 1, 'float32', 152) as tf.Tensor2D;
      const rms = runKernelOutputs(RMS_NORM_GRAD, { x, weight: w, dy: dx }, { eps: 1e-5 });
      const rmsRef = rmsNormGradComposite(x, w, dx, 1e-5);
      for (let j = 0; j < 2; j++) await expectClose(rms[j], rmsRef[j], GRAD_TOL);

      const gateUp = tf.randomNormal([5, 2 * 172], 0, 3, 'float32', 153) as tf.Tensor2D;
      const dGated = tf.randomNormal([5, 172], 0, 1, 'float32', 154) as tf.Tensor2D;
      await expectClose(runKernel(SWIGLU_GRAD, { gateUp, dy: dGated }), swiGluGradComposite(gateUp, dGated), GRAD_TOL);

      const c = config({ nHeads: 8, nKvHeads: 2 });
      const tables = ropeTables(c);
      const [t, hs] = [4, 8];
      const [dq, dk, dv] = [8, 2, 2].map((h, j) => tf.randomNormal([t, h, hs], 0, 1, 'float32', 155 + j) as tf.Tensor3D);
      const attrs = { start: 5, nHeads: 8, nKvHeads: 2 };
      const rope = runKernel(ROPE_QKV_GRAD, { dq, dk, dv, cos: tables.cos, sin: tables.sin }, attrs);
      await expectClose(rope, ropeQkvGradComposite(dq, dk, dv, tables.cos, tables.sin, 5), GRAD_TOL);
      tables.cos.dispose();
      tables.sin.dispose();
    });

    it('the embedding gradient adds each token into its row (or column), repeated tokens included', async () => {
      const ids = tf.tensor1d([3, 0, 3, 7, 3, 1], 'int32');
      const dy = tf.randomNormal([6, 16], 0, 1, 'float32', 160) as tf.Tensor2D;
      for (const transposed of [false, true]) {
        const fused = embeddingGrad(dy, ids, 9, transposed);
        expect(fused.shape).toEqual(transposed ? [16, 9] : [9, 16]);
        await expectClose(fused, embeddingGradComposite(dy, ids, 9, transposed), FORWARD_TOL);
        const rows = (transposed ? tf.transpose(fused) : fused) as tf.Tensor2D;
        expect(Array.from(await tf.slice(rows, [2, 0], [1, -1]).data()).every((v) => v === 0)).toBe(true); // token 2 is absent
      }
      expect(() => embeddingGrad(dy, tf.tensor1d([0, 1, 2, 3, 4, 9], 'int32'), 9, false)).toThrow(RangeError);
    });

    it('RoPE into the cache gives ropeQkv then kvWrite to the bit: the queries, and the keys and values in the buffers', async () => {
      for (const [nHeads, nKvHeads] of [
        [8, 4],
        [8, 1],
      ]) {
        const c = config({ nHeads, nKvHeads, seqLen: 12 });
        const tables = ropeTables(c);
        const hs = c.dim / nHeads;
        const qkv = tf.randomNormal([3, (nHeads + 2 * nKvHeads) * hs], 0, 1, 'float32', 7) as tf.Tensor2D;
        const at = new RopePositions(tables, 7, 3);
        const buffers = () => [80, 81].map((seed) => tf.randomNormal([nKvHeads, 12, hs], 0, 1, 'float32', seed) as tf.Tensor3D);
        const [keys, values] = buffers();
        const [q, outKeys, outValues] = ropeKvWrite(keys, values, qkv, at, nHeads, nKvHeads);
        const [refKeys, refValues] = buffers();
        const ref = ropeQkv(qkv, at, nHeads, nKvHeads);
        kvWrite(refKeys, refValues, ref.k, ref.v, 7);
        expect(q.shape).toEqual([3, nHeads, hs]);
        expect(Array.from(await q.data())).toEqual(Array.from(await ref.q.data()));
        expect(Array.from(await outKeys.data())).toEqual(Array.from(await refKeys.data()));
        expect(Array.from(await values.data())).toEqual(Array.from(await refValues.data())); // in place
        expect(outValues.shape).toEqual([nKvHeads, 12, hs]);
        expect(() => ropeKvWrite(keys, values, qkv, new RopePositions(tables, 10, 3), nHeads, nKvHeads)).toThrow(/cannot write qkv/);
        tables.cos.dispose();
        tables.sin.dispose();
      }
    });

    it('KV write fills rows in place; its gradient matches the same write done by concatenation', async () => {
      const [kvHeads, capacity, hs, tokens, start] = [2, 6, 4, 2, 3];
      const keys = tf.randomNormal([kvHeads, capacity, hs], 0, 1, 'float32', 50) as tf.Tensor3D;
      const values = tf.randomNormal([kvHeads, capacity, hs], 0, 1, 'float32', 51) as tf.Tensor3D;
      const k = tf.randomNormal([tokens, kvHeads, hs], 0, 1, 'float32', 52) as tf.Tensor3D;
      const v = tf.randomNormal([tokens, kvHeads, hs], 0, 1, 'float32', 53) as tf.Tensor3D;
      // The reference: rows start..start+tokens replaced, by slicing and concatenating.
      const written = (buffer: tf.Tensor3D, rows: tf.Tensor3D) =>
        tf.concat(
          [
            tf.slice(buffer, [0, 0, 0], [-1, start, -1]),
            tf.transpose(rows, [1, 0, 2]),
            tf.slice(buffer, [0, start + tokens, 0], [-1, -1, -1]),
          ],
          1,
        );
      const expectedKeys = await written(keys, k).data();
      const expectedValues = await written(values, v).data();
      const gComposite = projectedGrads(
        (a, b, c, d) => tf.concat([written(a as tf.Tensor3D, c as tf.Tensor3D), written(b as tf.Tensor3D, d as tf.Tensor3D)], 1),
        [keys, values, k, v],
        54,
      );
      const gFused = projectedGrads(
        (a, b, c, d) => tf.concat(kvWrite(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, d as tf.Tensor3D, start), 1),
        // Copies (tf.add, not tf.clone, which shares the buffer): the write is in place.
        [tf.add(keys, 0), tf.add(values, 0), k, v],
        54,
      );
      for (let j = 0; j < 4; j++) await expectClose(gFused[j], gComposite[j], 0);
      const [outKeys, outValues] = kvWrite(keys, values, k, v, start);
      expect(Array.from(await outKeys.data())).toEqual(Array.from(expectedKeys));
      expect(Array.from(await outValues.data())).toEqual(Array.from(expectedValues));
      // In place: the input handles see the write too.
      expect(Array.from(await keys.data())).toEqual(Array.from(expectedKeys));
    });

    it('the in-place and concatenating caches return the same keys and values, and free everything', async () => {
      const c = config({ nLayers: 2, seqLen: 8 });
      expect(createKVCache(c)).toBeInstanceOf(InPlaceKVCache);
      withoutFusedKernels(() => expect(createKVCache(c)).toBeInstanceOf(ConcatKVCache));
      const before = tf.memory().numTensors;
      const inPlace = new InPlaceKVCache(c);
      const concat = new ConcatKVCache(c);
      for (const [step, tokens] of [3, 1, 2].entries()) {
        for (let layer = 0; layer < 2; layer++) {
          const k = tf.randomNormal([tokens, 4, 8], 0, 1, 'float32', 60 + step * 2 + layer) as tf.Tensor3D;
          const v = tf.randomNormal([tokens, 4, 8], 0, 1, 'float32', 70 + step * 2 + layer) as tf.Tensor3D;
          const a = tf.tidy(() => inPlace.append(layer, k, v));
          const b = tf.tidy(() => concat.append(layer, k, v));
          const n = b.keys.shape[1];
          expect(a.keys.shape).toEqual([4, 8, 8]);
          const [keys, values] = [a.keys, a.values].map((t) => tf.slice(t, [0, 0, 0], [-1, n, -1]));
          expect(await keys.data()).toEqual(await b.keys.data());
          expect(await values.data()).toEqual(await b.values.data());
          tf.dispose([k, v, keys, values]);
        }
        expect(inPlace.length).toBe(concat.length);
      }
      expect(inPlace.bytes()).toBe(2 * 2 * 4 * 8 * 8 * 4);
      inPlace.dispose();
      concat.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}

describe('the model with fused kernels (stories260K, wasm)', () => {
  const S = '/work/shared/models/stories260K/';
  let llama: Llama;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    llama = Llama.fromBytes(readFileSync(S + 'stories260K.bin'), 'stories260K.bin', readFileSync(S + 'tok512.bin'), 'tok512.bin');
  });
  afterAll(() => llama?.dispose());

  /** Prefill of `prompt` then `steps` single-token decodes: all logits, [positions, vocab]. */
  function run(prompt: number[], steps: number[]): tf.Tensor2D {
    const cache = createKVCache(llama.config);
    try {
      const rows = [llama.model.forward(prompt, 0, cache)];
      steps.forEach((t, i) => rows.push(llama.model.forward([t], prompt.length + i, cache)));
      const all = tf.concat(rows) as tf.Tensor2D;
      tf.dispose(rows);
      return all;
    } finally {
      cache.dispose();
    }
  }

  it('gives the logits of the composite ops, prefill and decode, without leaking tensors', async () => {
    const prompt = [1, 403, 407, 261, 378, 426, 275];
    const steps = [300, 301, 302, 303];
    run(prompt, steps).dispose(); // warm up (lazy allocations)
    const before = tf.memory().numTensors;
    const fused = run(prompt, steps);
    expect(tf.memory().numTensors).toBe(before + 1);
    const composite = withoutFusedKernels(() => run(prompt, steps));
    // Logits are sums over 64 features of values that went through five layers: allow 1e-5 of scale.
    await expectClose(fused, composite, 1e-5);
    fused.dispose();
    composite.dispose();
  });

  it('trains through the same forward pass: weight gradients match the composite ops', async () => {
    // A prefill through the preallocated cache (KV write, attention over a longer buffer) and the
    // loss of the next-token targets; gradients reach every kind of weight through every kernel.
    const tokens = [1, 403, 407, 261, 378, 426];
    const w = llama.model.weights;
    const xs = [w.blocks[0].attentionNorm, (w.blocks[0].qkv as DenseLinear).weightT, w.blocks[2].ffnNorm];
    // The classifier shares the embedding table: its gradient sums the classifier's and the lookup's.
    xs.push((w.blocks[4].gateUp as DenseLinear).weightT, w.finalNorm, (w.classifier as DenseLinear).weightT);
    const grads = () => {
      const cache = createKVCache(llama.config);
      try {
        const { grads } = tf.engine().gradients(() => {
          const logits = llama.model.forward(tokens, 0, cache);
          const targets = tf.oneHot(tf.tensor1d(tokens.slice(1).concat(2), 'int32'), logits.shape[1]);
          return tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), targets)));
        }, xs);
        return grads;
      } finally {
        cache.dispose();
      }
    };
    const fused = grads();
    const composite = withoutFusedKernels(grads);
    // Five layers of float32 backprop in two orders of operations: 2e-5 of each gradient's scale.
    for (let i = 0; i < xs.length; i++) await expectClose(fused[i], composite[i], 2e-5);
  });

  it('records the same named steps with the same shapes for inspection', () => {
    const tokens = [1, 403, 407, 261, 378];
    const fused = inspectForward(llama, tokens, 3);
    const composite = withoutFusedKernels(() => inspectForward(llama, tokens, 3));
    expect(fused.steps.map((s) => [s.step, s.layer, s.shape])).toEqual(composite.steps.map((s) => [s.step, s.layer, s.shape]));
    for (const [i, s] of fused.steps.entries()) {
      const ref = composite.steps[i].values;
      const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const worst = s.values.reduce((m, v, j) => Math.max(m, Math.abs(v - ref[j])), 0);
      expect(worst, `${s.step} ${s.layer}`).toBeLessThanOrEqual(1e-5 * (scale + 1e-30) + 1e-30);
    }
    const step = (name: string) => fused.steps.find((s) => s.step === name && s.layer === 0)!;
    expect(step('q').shape).toEqual([64]);
    expect(step('k').shape).toEqual([32]);
    expect(step('attention_probs').shape).toEqual([8, 4]);
    expect(step('gate').shape).toEqual([172]);
  });
});
