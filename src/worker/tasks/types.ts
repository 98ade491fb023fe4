/**
 * The named jobs the engine worker runs beyond loading and generating: the concept explorers'
 * measurements and the in-page training runs. Types only, so the page can import them without
 * pulling TensorFlow.js into its bundle. Each entry: what the page sends, what the worker reports
 * while it works, and what it answers.
 */
import type { PairOptions } from '../../train/reward/pairs.ts';
import type { Evaluation, StepLog } from '../../train/reward/reward-run.ts';
import type { Margins, Rating } from '../../train/reward/ratings.ts';
import type { HeadOptions } from '../../train/reward/scalar-head.ts';

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

export interface TaskTypes {
  /** Smoke task for the mechanism itself: counts to `n`, reporting each number. */
  count: { args: { n: number }; progress: number; result: { counted: number } };
  /** Chapter 9: a reward-model run on the loaded model (src/worker/tasks/reward.ts). */
  'reward-start': {
    args: { stories: string; margins: Margins; pairs?: Partial<PairOptions>; head?: Partial<HeadOptions> };
    progress: never;
    result: RewardStartResult;
  };
  'reward-encode': { args: { count: number }; progress: { encoded: number; total: number }; result: { encoded: number; total: number } };
  'reward-steps': { args: { steps: number }; progress: never; result: { log: StepLog[]; step: number } };
  'reward-eval': { args: Record<string, never>; progress: never; result: Evaluation };
}

export type TaskName = keyof TaskTypes;
export type TaskArgs<N extends TaskName> = TaskTypes[N]['args'];
export type TaskProgress<N extends TaskName> = TaskTypes[N]['progress'];
export type TaskResult<N extends TaskName> = TaskTypes[N]['result'];
