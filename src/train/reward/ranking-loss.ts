/**
 * Llama 2's binary ranking loss with a margin: L = −log σ(Δ − m), Δ = r(chosen) − r(rejected).
 * Written as softplus(m − Δ) and evaluated so that neither large gaps nor large margins overflow.
 */
import { RATINGS, type Margins, type Rating } from './ratings.ts';

/** log(1 + e^z) without overflow for large z or loss of precision for very negative z. */
export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** −log σ(Δ − m). */
export function rankingLoss(delta: number, margin: number): number {
  return softplus(margin - delta);
}

/** dL/dΔ = −σ(m − Δ): how hard the loss still pushes the two scores apart. */
export function rankingLossSlope(delta: number, margin: number): number {
  return -sigmoid(margin - delta);
}

export interface LossPoint {
  rating: Rating;
  delta: number;
  loss: number;
}

/** The loss of every rating at `points` evenly spaced gaps over [from, to], for plotting. */
export function lossCurves(margins: Margins, from: number, to: number, points: number): LossPoint[] {
  if (!(to > from) || points < 2) throw new RangeError('lossCurves needs from < to and at least two points');
  const out: LossPoint[] = [];
  for (const rating of RATINGS)
    for (let i = 0; i < points; i++) {
      const delta = from + ((to - from) * i) / (points - 1);
      out.push({ rating, delta, loss: rankingLoss(delta, margins[rating]) });
    }
  return out;
}
