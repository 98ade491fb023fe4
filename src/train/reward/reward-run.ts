/**
 * One reward-model training run on the loaded model, in steps small enough for a worker to
 * interleave with other requests: encode a few texts through the frozen backbone, then train the
 * scalar head on the cached features, then evaluate on the held-out stories' pairs.
 */
import type { Llama } from '../../engine/llama.ts';
import { lastTokenFeature } from './features.ts';
import type { PairSet } from './pairs.ts';
import { rankingLoss } from './ranking-loss.ts';
import { RATINGS, type Margins, type Rating } from './ratings.ts';
import { ScalarHead, type DiffExample, type HeadOptions } from './scalar-head.ts';

export interface RatingStats {
  rating: Rating;
  pairs: number;
  /** Share of pairs with Δ > 0 (a tie counts as half: a coin flip would get it right half the time). */
  accuracy: number;
  meanDelta: number;
}

export interface Evaluation {
  step: number;
  /** Mean ranking loss with the run's margins. */
  loss: number;
  accuracy: number;
  perRating: RatingStats[];
  /** Δ of every held-out pair, with its rating, for the histogram. */
  deltas: { rating: Rating; delta: number }[];
}

export interface StepLog {
  step: number;
  /** Mean minibatch loss of the step. */
  loss: number;
}

export class RewardRun {
  readonly features: (Float32Array | null)[];
  private encodedCount = 0;
  private head: ScalarHead;
  private examples: DiffExample[] | null = null;

  constructor(
    readonly llama: Llama,
    readonly set: PairSet,
    private margins: Margins,
    private readonly headOptions: HeadOptions,
  ) {
    this.features = new Array(set.texts.length).fill(null);
    this.head = new ScalarHead(llama.config.dim, headOptions);
  }

  get encoded(): number {
    return this.encodedCount;
  }
  get total(): number {
    return this.set.texts.length;
  }
  get step(): number {
    return this.head.step;
  }
  get ready(): boolean {
    return this.encodedCount === this.total;
  }

  /** A fresh head (new margins or a restart); the backbone's features are kept. */
  reset(margins: Margins): void {
    this.margins = margins;
    this.head = new ScalarHead(this.llama.config.dim, this.headOptions);
    this.examples = null;
  }

  /** Runs the backbone on up to `count` more texts; `stop` is checked between texts. */
  async encode(count: number, stop: () => boolean = () => false): Promise<number> {
    const end = Math.min(this.total, this.encodedCount + count);
    while (this.encodedCount < end && !stop()) {
      this.features[this.encodedCount] = await lastTokenFeature(this.llama, this.set.texts[this.encodedCount]);
      this.encodedCount++;
    }
    return this.encodedCount;
  }

  private diff(chosen: number, rejected: number): Float64Array {
    const a = this.features[chosen];
    const b = this.features[rejected];
    if (!a || !b) throw new Error('the backbone has not encoded every text yet');
    const d = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) d[i] = a[i] - b[i];
    return d;
  }

  trainSteps(steps: number): StepLog[] {
    if (!this.ready) throw new Error(`encode the texts first (${this.encodedCount} of ${this.total} done)`);
    this.examples ??= this.set.pairs.filter((p) => !p.heldOut).map((p) => ({ diff: this.diff(p.chosen, p.rejected), margin: this.margins[p.rating] }));
    const log: StepLog[] = [];
    for (let i = 0; i < steps; i++) {
      const loss = this.head.trainStep(this.examples);
      log.push({ step: this.head.step, loss });
    }
    return log;
  }

  /** Reward of text `index` (an index into set.texts). */
  reward(index: number): number {
    const h = this.features[index];
    if (!h) throw new Error(`text ${index} is not encoded yet`);
    return this.head.score(h);
  }

  evaluate(): Evaluation {
    if (!this.ready) throw new Error(`encode the texts first (${this.encodedCount} of ${this.total} done)`);
    const held = this.set.pairs.filter((p) => p.heldOut);
    const deltas = held.map((p) => ({ rating: p.rating, delta: this.reward(p.chosen) - this.reward(p.rejected) }));
    const right = (d: number) => (d > 0 ? 1 : d === 0 ? 0.5 : 0);
    const perRating = RATINGS.map((rating) => {
      const ds = deltas.filter((d) => d.rating === rating).map((d) => d.delta);
      return {
        rating,
        pairs: ds.length,
        accuracy: ds.reduce((a, d) => a + right(d), 0) / ds.length,
        meanDelta: ds.reduce((a, d) => a + d, 0) / ds.length,
      };
    });
    const loss = deltas.reduce((a, d) => a + rankingLoss(d.delta, this.margins[d.rating]), 0) / deltas.length;
    const accuracy = deltas.reduce((a, d) => a + right(d.delta), 0) / deltas.length;
    return { step: this.head.step, loss, accuracy, perRating, deltas };
  }
}
