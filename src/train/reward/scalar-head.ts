/**
 * The reward model's head: r = w · h, with h the backbone's final-norm hidden state at the last
 * token. No bias: the loss sees only differences r(chosen) − r(rejected), where a bias cancels.
 * Trained here in plain float64 arithmetic with Adam on cached features (the backbone is frozen),
 * so one optimizer step costs a few dot products per pair and the same code gives the same
 * numbers in the page's worker and in Node.
 */
import { XorShiftRng } from '../../engine/sampling/rng.ts';
import { rankingLoss, rankingLossSlope } from './ranking-loss.ts';

export interface HeadOptions {
  learningRate: number;
  /** Decoupled weight decay (AdamW), per step, times the learning rate. */
  weightDecay: number;
  batchSize: number;
  seed: number;
}

export const DEFAULT_HEAD_OPTIONS: HeadOptions = { learningRate: 0.02, weightDecay: 0.01, batchSize: 32, seed: 1 };

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

/** One training example: the chosen minus the rejected feature vector, and its margin. */
export interface DiffExample {
  diff: Float64Array;
  margin: number;
}

export class ScalarHead {
  readonly w: Float64Array;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private readonly rng: XorShiftRng;
  step = 0;

  constructor(
    readonly dim: number,
    readonly options: HeadOptions = DEFAULT_HEAD_OPTIONS,
  ) {
    // Zero start: every pair begins as a tie (Δ = 0), accuracy exactly at chance.
    this.w = new Float64Array(dim);
    this.m = new Float64Array(dim);
    this.v = new Float64Array(dim);
    this.rng = new XorShiftRng(BigInt(options.seed) + 0x9e3779b9n);
  }

  score(h: ArrayLike<number>): number {
    let s = 0;
    for (let i = 0; i < this.dim; i++) s += this.w[i] * h[i];
    return s;
  }

  /** One AdamW step on a random minibatch; returns its mean loss before the update. */
  trainStep(examples: readonly DiffExample[]): number {
    if (examples.length === 0) throw new RangeError('no training pairs');
    const { learningRate: lr, weightDecay, batchSize } = this.options;
    const grad = new Float64Array(this.dim);
    let loss = 0;
    const n = Math.min(batchSize, examples.length);
    for (let b = 0; b < n; b++) {
      const ex = examples[this.rng.nextU32() % examples.length];
      const delta = this.score(ex.diff);
      loss += rankingLoss(delta, ex.margin);
      const slope = rankingLossSlope(delta, ex.margin) / n;
      for (let i = 0; i < this.dim; i++) grad[i] += slope * ex.diff[i];
    }
    this.step++;
    const c1 = 1 - BETA1 ** this.step;
    const c2 = 1 - BETA2 ** this.step;
    for (let i = 0; i < this.dim; i++) {
      this.m[i] = BETA1 * this.m[i] + (1 - BETA1) * grad[i];
      this.v[i] = BETA2 * this.v[i] + (1 - BETA2) * grad[i] * grad[i];
      this.w[i] -= lr * ((this.m[i] / c1) / (Math.sqrt(this.v[i] / c2) + EPS) + weightDecay * this.w[i]);
    }
    return loss / n;
  }
}
