import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/engine/checkpoint/llama2c.ts';
import { writeLlama2cV0 } from '../../src/engine/checkpoint/write-llama2c.ts';
import { AdamW, clipByGlobalNorm } from '../../src/train/adamw.ts';
import { PackedBatches, packStories } from '../../src/train/batches.ts';
import { learningRate } from '../../src/train/schedule.ts';
import { sharedBytes, STORIES260K } from '../support/shared.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('learning-rate schedule', () => {
  const o = { peak: 3e-4, warmupSteps: 10, totalSteps: 110 };
  it('warms up linearly, then follows a cosine down to 10% of the peak', () => {
    expect(learningRate(0, o)).toBeCloseTo(3e-5, 12);
    expect(learningRate(9, o)).toBeCloseTo(3e-4, 12);
    expect(learningRate(10, o)).toBeCloseTo(3e-4, 12);
    // halfway through the decay: floor + (peak − floor) / 2
    expect(learningRate(10 + 49.5, o)).toBeCloseTo(3e-5 + 1.35e-4, 12);
    expect(learningRate(109, o)).toBeCloseTo(3e-5, 12);
    for (let s = 11; s < 110; s++) expect(learningRate(s, o)).toBeLessThanOrEqual(learningRate(s - 1, o));
  });
});

describe('AdamW', () => {
  it('matches a hand-computed step: bias-corrected moments, decoupled weight decay', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const opt = new AdamW([{ name: 'w', variable: w, decay: true }], { beta1: 0.9, beta2: 0.95, epsilon: 1e-5, weightDecay: 0.1 });
    const g = tf.tensor1d([0.5, 0.25]);
    opt.apply([g], 0.01);
    // step 1: m̂ = g, v̂ = g², update = g/(|g|+ε) ≈ sign(g); w ← w(1 − lr·wd) − lr·update
    const expected = [1 * (1 - 0.001) - 0.01 * (0.5 / (0.5 + 1e-5)), -2 * (1 - 0.001) - 0.01 * (0.25 / (0.25 + 1e-5))];
    const got = w.dataSync();
    expected.forEach((e, i) => expect(got[i]).toBeCloseTo(e, 6));
    // step 2 with the same gradient: m = g(1−β1²)… bias correction keeps m̂ = g
    opt.apply([g], 0.01);
    const w1 = expected;
    const again = w1.map((x, i) => x * (1 - 0.001) - 0.01 * ([0.5, 0.25][i] / ([0.5, 0.25][i] + 1e-5)));
    const got2 = w.dataSync();
    again.forEach((e, i) => expect(got2[i]).toBeCloseTo(e, 6));
  });

  it('does not decay parameters marked decay: false (norm gains)', () => {
    const w = tf.variable(tf.tensor1d([1]));
    new AdamW([{ name: 'g', variable: w, decay: false }]).apply([tf.tensor1d([0])], 0.1);
    expect(w.dataSync()[0]).toBe(1);
  });
});

describe('gradient clipping', () => {
  it('scales to a global norm of 1 only when above it', async () => {
    const big = [tf.tensor1d([3, 0]), tf.tensor1d([4])];
    const { clipped, norm } = await clipByGlobalNorm(big, 1);
    expect(norm).toBeCloseTo(5, 5);
    const total = Math.hypot(...clipped.flatMap((t) => [...t.dataSync()]));
    expect(total).toBeCloseTo(1, 4);
    const small = [tf.tensor1d([0.3, 0.4])];
    expect((await clipByGlobalNorm(small, 1)).clipped[0]).toBe(small[0]);
  });
});

describe('packed batches', () => {
  it('concatenates stories with their BOS and cuts reproducible windows', () => {
    const stream = packStories([[1, 10, 11], [1, 12], [1, 13, 14, 15]]);
    expect([...stream]).toEqual([1, 10, 11, 1, 12, 1, 13, 14, 15]);
    const a = new PackedBatches(stream, 4, 7);
    const b = new PackedBatches(stream, 4, 7);
    for (let i = 0; i < 20; i++) {
      const w = a.next();
      expect(w).toHaveLength(5);
      expect(b.next()).toEqual(w);
      const start = [...stream].join(',').indexOf(w.join(','));
      expect(start).toBeGreaterThanOrEqual(0); // a contiguous slice of the stream
    }
    // resuming from the generator state continues the same sequence
    const resumed = new PackedBatches(stream, 4, a.rngState);
    expect(resumed.next()).toEqual(a.next());
  });
});

describe('llama2.c version-0 writer', () => {
  it('writes a file the reader parses back to the same weights, at the same size as llama2.c', () => {
    const original = sharedBytes(STORIES260K);
    const ck = parseLlama2c(original, 'stories260K.bin');
    const written = writeLlama2cV0(ck);
    expect(written.byteLength).toBe(original.byteLength);
    // header and every weight byte-identical; only the unused legacy RoPE tables may differ in rounding
    const back = parseLlama2c(written, 'written.bin');
    expect(back.tokenEmbedding).toEqual(ck.tokenEmbedding);
    expect(back.layers).toEqual(ck.layers);
    expect(back.rmsFinal).toEqual(ck.rmsFinal);
    expect([...written.subarray(0, 28)]).toEqual([...original.subarray(0, 28)]);
  });
});
