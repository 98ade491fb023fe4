/**
 * What the rotary-embedding explorer shows for one selection, computed from the engine's pre-RoPE
 * q and k with the float64 geometry of src/explorers/rope. Pure and DOM-free, so tests and the
 * e2e comparison in Node use the same code path as the page.
 */
import { beyondContext, scoreByDistance, type BeyondContext } from '../../../src/explorers/rope/distance.ts';
import { norm, pairFacts, pairOf, rotate, ropeFrequencies, ropeScore, wrappedAngle, type PairFacts, type PairPoint } from '../../../src/explorers/rope/geometry.ts';
import { keyOf, queryOf, type RopeQk } from '../../../src/explorers/rope/qk.ts';

export interface Selection {
  layer: number;
  head: number;
  /** The token whose query is used, and the token whose key is used (indices into the prompt). */
  queryToken: number;
  keyToken: number;
  /** Positions they are rotated to, before the shift. */
  m: number;
  n: number;
  /** Added to both positions. */
  shift: number;
}

/** The most dials drawn; heads with more pairs show this many, evenly spaced, first and last included. */
export const MAX_DIALS = 12;

/** How far the distance curve runs: this many context lengths. */
export const CURVE_CONTEXTS = 4;

export function pairsToShow(nPairs: number, max = MAX_DIALS): number[] {
  if (nPairs <= max) return Array.from({ length: nPairs }, (_, j) => j);
  return Array.from({ length: max }, (_, i) => Math.round((i * (nPairs - 1)) / (max - 1)));
}

export interface Dial {
  facts: PairFacts;
  /** The pair's q and k rotated to m + s and n + s. */
  q: PairPoint;
  k: PairPoint;
  /** Their angles of rotation at those positions, in [0, 2π). */
  qAngle: number;
  kAngle: number;
}

export interface RopeView {
  freqs: Float64Array;
  /** Content vectors (pre-RoPE) of the selection. */
  q: Float32Array;
  k: Float32Array;
  /** ‖q‖‖k‖/√d: the size scores are measured against. */
  scale: number;
  score: number;
  shiftedScore: number;
  dials: Dial[];
}

export function ropeView(qk: RopeQk, s: Selection): RopeView {
  const freqs = ropeFrequencies(qk.headDim, qk.ropeTheta);
  const q = queryOf(qk, s.layer, s.queryToken, s.head);
  const k = keyOf(qk, s.layer, s.keyToken, s.head);
  const mq = s.m + s.shift;
  const nk = s.n + s.shift;
  const rq = rotate(q, mq, freqs);
  const rk = rotate(k, nk, freqs);
  const facts = pairFacts(freqs, qk.seqLen);
  return {
    freqs,
    q,
    k,
    scale: (norm(q) * norm(k)) / Math.sqrt(qk.headDim),
    score: ropeScore(q, k, s.m, s.n, freqs),
    shiftedScore: ropeScore(q, k, mq, nk, freqs),
    dials: pairsToShow(freqs.length).map((j) => ({
      facts: facts[j],
      q: pairOf(rq, j),
      k: pairOf(rk, j),
      qAngle: wrappedAngle(mq, freqs[j]),
      kAngle: wrappedAngle(nk, freqs[j]),
    })),
  };
}

export interface DistanceView {
  /** Score at distance d = 0..CURVE_CONTEXTS·seqLen − 1. */
  curve: Float64Array;
  beyond: BeyondContext;
  /** Pairs that turn less than once over the trained offsets. */
  slowPairs: number;
}

export function distanceView(qk: RopeQk, view: RopeView): DistanceView {
  const curve = scoreByDistance(view.q, view.k, CURVE_CONTEXTS * qk.seqLen - 1, view.freqs);
  const slowPairs = pairFacts(view.freqs, qk.seqLen).filter((f) => f.turnsInContext < 1).length;
  return { curve, beyond: beyondContext(curve, qk.seqLen), slowPairs };
}

/** A score for reading: six significant digits, a true minus sign. */
export function formatScore(x: number): string {
  return x.toPrecision(6).replace(/^-/, '−');
}

/** A tiny difference: "0" or two significant digits in scientific notation. */
export function formatDifference(x: number): string {
  return x === 0 ? '0' : x.toExponential(1).replace(/^-/, '−').replace('e-', 'e−');
}

export function formatAngle(radians: number): string {
  return `${((radians * 180) / Math.PI).toFixed(1)}°`;
}

/** A frequency or wavelength: three significant digits, exponent only when tiny or huge. */
export function formatQuantity(x: number): string {
  return x >= 1e5 || x < 1e-3 ? x.toExponential(2).replace('e-', 'e−').replace('e+', 'e') : x.toPrecision(3);
}
