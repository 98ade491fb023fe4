/** Numbers of a tensor as the stepper shows them: readable values, summaries, top-k of the logits. */

/** Four significant digits; scientific notation for very large or very small magnitudes. */
export function formatValue(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  const text = a >= 1e4 || a < 1e-3 ? x.toExponential(3) : x.toPrecision(4);
  return text.replace(/^-/, '−'); // a true minus sign for the value, not the exponent
}

/** A probability as a percentage: "42.1%", "0.03%", "<0.01%". */
export function formatProbability(p: number): string {
  const pct = 100 * p;
  if (pct >= 10) return `${pct.toFixed(1)}%`;
  if (pct >= 0.01) return `${pct.toPrecision(2)}%`;
  return pct > 0 ? '<0.01%' : '0%';
}

export interface VectorStats {
  /** Euclidean norm √Σx². */
  norm: number;
  min: number;
  max: number;
  mean: number;
}

export function vectorStats(values: ArrayLike<number>): VectorStats {
  let sumSq = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    sumSq += v * v;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const n = values.length;
  return n ? { norm: Math.sqrt(sumSq), min, max, mean: sum / n } : { norm: 0, min: 0, max: 0, mean: 0 };
}

export const l2Norm = (values: ArrayLike<number>): number => vectorStats(values).norm;

export interface RankedToken {
  id: number;
  logit: number;
  probability: number;
}

/**
 * The k largest logits with their softmax probabilities (in float64, max-subtracted so large
 * logits cannot overflow), largest first; ties keep the lower id first, as argmax does.
 * One pass over the vocabulary, keeping a small sorted list: fast for 32,000 logits.
 */
export function topTokens(logits: ArrayLike<number>, k: number): RankedToken[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let denom = 0;
  for (let i = 0; i < logits.length; i++) denom += Math.exp(logits[i] - max);
  const best: { id: number; logit: number }[] = [];
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (best.length === k && v <= best[k - 1].logit) continue;
    let at = best.length;
    while (at > 0 && best[at - 1].logit < v) at--;
    best.splice(at, 0, { id: i, logit: v });
    if (best.length > k) best.pop();
  }
  return best.map((b) => ({ ...b, probability: Math.exp(b.logit - max) / denom }));
}

/** Greedy decoding's choice: the index of the largest logit (the first one on a tie). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** What e2e tests read: the first `count` values at full float precision, as JSON. */
export const valuesAttribute = (values: ArrayLike<number>, count = 16): string =>
  JSON.stringify(Array.from({ length: Math.min(count, values.length) }, (_, i) => values[i]));
