import { describe, expect, it } from 'vitest';
import { XorShiftRng } from '../../src/engine/sampling/rng.ts';
import { Sampler, argmax, softmaxFloat32 } from '../../src/engine/sampling/sampler.ts';

/** The generator in float64-free arithmetic on two 32-bit halves: an independent check of the BigInt one. */
function referenceXorShift(seed: number) {
  let hi = Math.floor(seed / 2 ** 32) >>> 0;
  let lo = seed >>> 0;
  const shr = (n: number): [number, number] => (n >= 32 ? [0, hi >>> (n - 32)] : [hi >>> n, ((lo >>> n) | (hi << (32 - n))) >>> 0]);
  const shl = (n: number): [number, number] => [((hi << n) | (lo >>> (32 - n))) >>> 0, (lo << n) >>> 0];
  const mulTop32 = (aHi: number, aLo: number): number => {
    // top 32 bits of (a · 0x2545F4914F6CDD1D) mod 2^64, via 16-bit limbs
    const a = [aLo & 0xffff, aLo >>> 16, aHi & 0xffff, aHi >>> 16];
    const b = [0xdd1d, 0x4f6c, 0xf491, 0x2545];
    const r = [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) for (let j = 0; i + j < 4; j++) r[i + j] += a[i] * b[j];
    for (let i = 0; i < 3; i++) {
      r[i + 1] += Math.floor(r[i] / 65536);
      r[i] %= 65536;
    }
    return ((r[3] % 65536) * 65536 + r[2]) >>> 0;
  };
  return () => {
    let [h, l] = shr(12);
    hi ^= h; lo = (lo ^ l) >>> 0; hi >>>= 0;
    [h, l] = shl(25);
    hi = (hi ^ h) >>> 0; lo = (lo ^ l) >>> 0;
    [h, l] = shr(27);
    hi = (hi ^ h) >>> 0; lo = (lo ^ l) >>> 0;
    return mulTop32(hi, lo);
  };
}

describe('xorshift* generator', () => {
  it('matches an independent 32-bit-limb implementation for many seeds', () => {
    for (const seed of [1, 5, 99, 133742, 1_700_000_000, 2 ** 40 + 12345]) {
      const a = new XorShiftRng(seed);
      const b = referenceXorShift(seed);
      for (let i = 0; i < 200; i++) expect(a.nextU32()).toBe(b());
    }
  });

  it('gives float32 coins in [0, 1) on a 2^-24 grid', () => {
    const rng = new XorShiftRng(42);
    for (let i = 0; i < 1000; i++) {
      const c = rng.nextFloat32();
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThan(1);
      expect(Number.isInteger(c * 2 ** 24)).toBe(true);
    }
  });
});

describe('sampler', () => {
  const logits = Float32Array.from([0.5, 3, 3, -1, 2.9, 0]);

  it('greedy takes the first maximum', () => {
    expect(argmax(logits)).toBe(1);
    expect(new Sampler({ temperature: 0, topP: 0.9, seed: 1 }).sample(logits)).toBe(1);
  });

  it('softmax sums to one in float32', () => {
    const p = softmaxFloat32(logits);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(p[1]).toBe(p[2]);
  });

  it('samples in proportion to the probabilities', () => {
    const s = new Sampler({ temperature: 1, topP: 1, seed: 7 });
    const counts = new Array(logits.length).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[s.sample(logits)]++;
    const p = softmaxFloat32(logits);
    // 5 standard deviations of a binomial count: fails only if the sampler is biased.
    p.forEach((pi, i) => expect(Math.abs(counts[i] - n * pi)).toBeLessThan(5 * Math.sqrt(n * pi * (1 - pi)) + 1));
  });

  it('top-p keeps the smallest set of most likely tokens whose mass exceeds p', () => {
    // probs ≈ [.04 .31 .31 .01 .28 .02]: p = 0.5 keeps indices 1, 2 only
    const s = new Sampler({ temperature: 1, topP: 0.5, seed: 3 });
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(s.sample(logits));
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('top-k keeps only the k most likely tokens', () => {
    const s = new Sampler({ temperature: 2, topP: 1, topK: 3, seed: 11 });
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) seen.add(s.sample(logits));
    expect([...seen].sort()).toEqual([1, 2, 4]);
  });

  it('is reproducible for a seed', () => {
    const draw = (seed: number) => {
      const s = new Sampler({ temperature: 0.8, topP: 0.95, seed });
      return Array.from({ length: 50 }, () => s.sample(logits));
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
  });
});
