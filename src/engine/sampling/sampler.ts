import { XorShiftRng } from './rng.ts';

export interface SamplerOptions {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Nucleus mass; ≤ 0 or ≥ 1 samples from the whole distribution. */
  topP: number;
  /** Keep only the k most likely tokens before top-p (0 = off). Not in the reference program. */
  topK?: number;
  seed: number | bigint;
}

const f = Math.fround;

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Softmax in float32 with sums in index order, exactly as the reference does. */
export function softmaxFloat32(x: Float32Array): Float32Array {
  let max = x[0];
  for (let i = 1; i < x.length; i++) if (x[i] > max) max = x[i];
  const out = new Float32Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.exp(f(x[i] - max));
    sum = f(sum + out[i]);
  }
  for (let i = 0; i < x.length; i++) out[i] = f(out[i] / sum);
  return out;
}

function sampleMultinomial(probs: Float32Array, coin: number): number {
  let cdf = 0;
  for (let i = 0; i < probs.length; i++) {
    cdf = f(cdf + probs[i]);
    if (coin < cdf) return i;
  }
  return probs.length - 1;
}

function sampleTopP(probs: Float32Array, topP: number, coin: number): number {
  const cutoff = f(f(1 - topP) / (probs.length - 1));
  const kept: number[] = [];
  for (let i = 0; i < probs.length; i++) if (probs[i] >= cutoff) kept.push(i);
  // Descending probability; equal probabilities keep index order so the result is deterministic.
  kept.sort((a, b) => probs[b] - probs[a] || a - b);
  let cumulative = 0;
  let last = kept.length - 1;
  for (let i = 0; i < kept.length; i++) {
    cumulative = f(cumulative + probs[kept[i]]);
    if (cumulative > topP) {
      last = i;
      break;
    }
  }
  const r = f(coin * cumulative);
  let cdf = 0;
  for (let i = 0; i <= last; i++) {
    cdf = f(cdf + probs[kept[i]]);
    if (r < cdf) return kept[i];
  }
  return kept[last];
}

/** Masks all but the k largest logits (ties at the threshold are kept). */
function keepTopK(logits: Float32Array, k: number): Float32Array {
  if (k <= 0 || k >= logits.length) return logits;
  const threshold = Float32Array.from(logits).sort().reverse()[k - 1];
  return logits.map((v) => (v >= threshold ? v : -Infinity));
}

/** Picks the next token from float32 logits; reproduces llama2.c's seeded choices bit for bit. */
export class Sampler {
  private readonly rng: XorShiftRng;
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;

  constructor(opts: SamplerOptions) {
    this.temperature = f(opts.temperature);
    this.topP = f(opts.topP);
    this.topK = opts.topK ?? 0;
    this.rng = new XorShiftRng(opts.seed);
  }

  sample(logits: Float32Array): number {
    if (this.temperature === 0) return argmax(keepTopK(logits, this.topK));
    const scaled = keepTopK(logits, this.topK).map((v) => f(v / this.temperature));
    const probs = softmaxFloat32(scaled);
    const coin = this.rng.nextFloat32();
    return this.topP <= 0 || this.topP >= 1 ? sampleMultinomial(probs, coin) : sampleTopP(probs, this.topP, coin);
  }
}
