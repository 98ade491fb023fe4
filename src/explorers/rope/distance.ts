/**
 * The score of one query/key pair as a function of their distance, and what happens to it past
 * the trained context length. Distances are query position minus key position (≥ 0: a query
 * attends to keys before it); the score is computed with the query at position d and the key at
 * 0, which by RoPE's relative property is the score at any (m, m − d).
 */
import { ropeScore } from './geometry.ts';

export function scoreByDistance(q: ArrayLike<number>, k: ArrayLike<number>, maxDistance: number, freqs: Float64Array): Float64Array {
  const out = new Float64Array(maxDistance + 1);
  for (let d = 0; d <= maxDistance; d++) out[d] = ropeScore(q, k, d, 0, freqs);
  return out;
}

export interface BeyondContext {
  /** Lowest and highest score over the distances a model trained on seqLen tokens sees, 0..seqLen − 1. */
  trainedMin: number;
  trainedMax: number;
  /** Distances from seqLen on, in the curve. */
  beyond: number;
  /** How many of those give a score outside [trainedMin, trainedMax]. */
  outside: number;
  /** The largest distance by which a score past the context leaves that range (0 if none does). */
  largestExcursion: number;
  /** The first distance whose score leaves the range, or null. */
  firstOutside: number | null;
}

/**
 * Compares the scores at distances the model was trained on (0..seqLen − 1) with those past it.
 * Needs a curve that extends past seqLen.
 */
export function beyondContext(curve: Float64Array, seqLen: number): BeyondContext {
  if (curve.length <= seqLen) throw new RangeError(`the curve must extend past the context (${curve.length} ≤ ${seqLen} distances)`);
  let trainedMin = Infinity;
  let trainedMax = -Infinity;
  for (let d = 0; d < seqLen; d++) {
    trainedMin = Math.min(trainedMin, curve[d]);
    trainedMax = Math.max(trainedMax, curve[d]);
  }
  let outside = 0;
  let largestExcursion = 0;
  let firstOutside: number | null = null;
  for (let d = seqLen; d < curve.length; d++) {
    const excursion = Math.max(curve[d] - trainedMax, trainedMin - curve[d], 0);
    if (excursion > 0) {
      outside++;
      firstOutside ??= d;
      largestExcursion = Math.max(largestExcursion, excursion);
    }
  }
  return { trainedMin, trainedMax, beyond: curve.length - seqLen, outside, largestExcursion, firstOutside };
}
