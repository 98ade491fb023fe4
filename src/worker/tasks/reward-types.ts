/** What the reward-model tasks (reward.ts) answer: plain data, page-safe types only. */
import type { PairOptions } from '../../train/reward/pairs.ts';
import type { Rating } from '../../train/reward/ratings.ts';

export interface RewardStartResult {
  options: PairOptions;
  dim: number;
  texts: number;
  trainPairs: number;
  heldOutPairs: number;
  /** Texts the backbone has already encoded (kept when only the head restarts). */
  encoded: number;
  examples: { rating: Rating; edits: number; chosen: string; rejected: string }[];
}
