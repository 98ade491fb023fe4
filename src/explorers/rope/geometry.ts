/**
 * RoPE as geometry, in float64 and free of the DOM: the rotation of one head's query or key to
 * any position, the score of a rotated pair, and per-pair facts (frequency, wavelength, how far a
 * pair turns within the trained context). The engine's own rotation (src/engine/layers/rope.ts)
 * works in float32 to match llama2.c bit for bit; this module works in float64 so that what the
 * explorer shows (a score unchanged by a shift) is the mathematics, not float32 rounding of angles.
 */

/** θ_j = base^(−2j/d) for the d/2 pairs of a head of width d: the radians pair j turns per position. */
export function ropeFrequencies(headDim: number, base: number): Float64Array {
  if (!Number.isInteger(headDim) || headDim < 2 || headDim % 2 !== 0) throw new RangeError(`head width must be an even integer ≥ 2, got ${headDim}`);
  if (!(base > 1)) throw new RangeError(`the RoPE base must be greater than 1, got ${base}`);
  const freqs = new Float64Array(headDim / 2);
  for (let j = 0; j < freqs.length; j++) freqs[j] = Math.pow(base, (-2 * j) / headDim);
  return freqs;
}

/**
 * x rotated to `position`: each adjacent pair (x_2j, x_2j+1) turned by position·θ_j, the pairing
 * the engine, llama2.c and Meta's reference code use. Positions may be any real number, including
 * ones past the context length (the point of the "beyond the trained length" view).
 */
export function rotate(x: ArrayLike<number>, position: number, freqs: Float64Array): Float64Array {
  if (x.length !== 2 * freqs.length) throw new RangeError(`a vector of ${x.length} values does not fit ${freqs.length} pairs`);
  const out = new Float64Array(x.length);
  for (let j = 0; j < freqs.length; j++) {
    const angle = position * freqs[j];
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const x0 = x[2 * j];
    const x1 = x[2 * j + 1];
    out[2 * j] = x0 * c - x1 * s;
    out[2 * j + 1] = x0 * s + x1 * c;
  }
  return out;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/**
 * The attention score of a query with pre-RoPE content q at position m and a key with content k
 * at position n, scaled by 1/√d as the engine does: rotate both, then take the dot product. It is
 * computed from the absolute positions on purpose, so that its depending on m − n alone is
 * something the explorer (and its tests) observe rather than assume.
 */
export function ropeScore(q: ArrayLike<number>, k: ArrayLike<number>, m: number, n: number, freqs: Float64Array): number {
  return dot(rotate(q, m, freqs), rotate(k, n, freqs)) / Math.sqrt(q.length);
}

/**
 * The same score from the offset alone: qᵀ R((n − m)θ) k / √d with offset = n − m, the identity
 * R(mθ)ᵀ R(nθ) = R((n − m)θ) that RoPE is built on.
 */
export function relativeScore(q: ArrayLike<number>, k: ArrayLike<number>, offset: number, freqs: Float64Array): number {
  return dot(q, rotate(k, offset, freqs)) / Math.sqrt(q.length);
}

/** One pair of a vector as a point in the plane. */
export interface PairPoint {
  x: number;
  y: number;
}

export function pairOf(x: ArrayLike<number>, pair: number): PairPoint {
  return { x: x[2 * pair], y: x[2 * pair + 1] };
}

/** Pair j's angle at `position`, wrapped into [0, 2π). */
export function wrappedAngle(position: number, freq: number): number {
  const a = (position * freq) % (2 * Math.PI);
  return a < 0 ? a + 2 * Math.PI : a;
}

export interface PairFacts {
  pair: number;
  /** θ_j, radians per position. */
  frequency: number;
  /** 2π/θ_j: positions per full turn. */
  wavelength: number;
  /** Turns pair j makes across the largest offset seen in training, seqLen − 1. */
  turnsInContext: number;
}

/**
 * For each pair: its frequency, wavelength and how many full turns it makes over the largest
 * offset the model was trained on. A pair that makes less than one turn never saw most of its
 * circle in training; offsets past the context take it to angles the model never learned to read.
 */
export function pairFacts(freqs: Float64Array, seqLen: number): PairFacts[] {
  return Array.from(freqs, (frequency, pair) => ({
    pair,
    frequency,
    wavelength: (2 * Math.PI) / frequency,
    turnsInContext: ((seqLen - 1) * frequency) / (2 * Math.PI),
  }));
}
