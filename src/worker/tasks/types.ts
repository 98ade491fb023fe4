/**
 * The named jobs the engine worker runs beyond loading and generating: the concept explorers'
 * measurements and the in-page training runs. Types only, so the page can import them without
 * pulling TensorFlow.js into its bundle. Each entry: what the page sends, what the worker reports
 * while it works, and what it answers.
 */
import type { KvVariantMeasure } from '../../engine/kv-variant.ts';
import type { RopeQk } from '../../explorers/rope/qk.ts';
import type { TrainChunk, TrainRun, TrainSample, TrainStartArgs } from './train-types.ts';
import type { PairOptions } from '../../train/reward/pairs.ts';
import type { Evaluation, StepLog } from '../../train/reward/reward-run.ts';
import type { Margins } from '../../train/reward/ratings.ts';
import type { HeadOptions } from '../../train/reward/scalar-head.ts';
import type { RewardStartResult } from './reward-types.ts';

export interface TaskTypes {
  /** Smoke task for the mechanism itself: counts to `n`, reporting each number. */
  count: { args: { n: number }; progress: number; result: { counted: number } };
  /** Chapter 3: every layer's pre-RoPE queries and keys of a prompt (one forward pass, no progress to report). */
  'rope-qk': { args: { prompt: string }; progress: never; result: RopeQk };
  /** Builds a fresh model and its Trainer on the loaded model's tokenizer; reports tokenizing progress. */
  'train-start': { args: TrainStartArgs; progress: { what: string; done: number; total: number }; result: TrainRun };
  /** Runs optimizer steps until `maxSteps` or `budgetMs` (at least one), so other requests interleave. */
  'train-steps': { args: { session: number; maxSteps: number; budgetMs: number }; progress: never; result: TrainChunk };
  /** Generates from the model being trained, as it is now. */
  'train-sample': { args: { session: number; prompt: string; steps: number; temperature: number; seed: number }; progress: never; result: TrainSample };
  /** Frees the session's model and optimizer state. */
  'train-stop': { args: { session: number }; progress: never; result: { stopped: boolean } };
  /** Chapter 9: a reward-model run on the loaded model (src/worker/tasks/reward.ts). */
  'reward-start': {
    args: { stories: string; margins: Margins; pairs?: Partial<PairOptions>; head?: Partial<HeadOptions> };
    progress: never;
    result: RewardStartResult;
  };
  'reward-encode': { args: { count: number }; progress: { encoded: number; total: number }; result: { encoded: number; total: number } };
  'reward-steps': { args: { steps: number }; progress: never; result: { log: StepLog[]; step: number } };
  'reward-eval': { args: Record<string, never>; progress: never; result: Evaluation };
  /** Chapter 4: the loaded model mean-pooled to `kvHeads` key/value heads and measured (null: stopped). */
  'kv-variant': {
    args: { kvHeads: number; stories: string[]; prompt: string; steps: number };
    progress: { kvHeads: number; storiesDone: number; stories: number };
    result: KvVariantMeasure | null;
  };
  /**
   * Chapter 4: uptrains a pooled variant a few steps per request (`start` begins a run, from the
   * loaded model pooled to `kvHeads`); `evaluate` (stories) measures bits per byte afterwards.
   */
  'kv-uptrain': {
    args: {
      start?: { kvHeads: number; totalSteps: number; trainStories: string[]; batchSize?: number };
      steps: number;
      evaluate?: string[];
    };
    progress: { kvHeads: number; step: number; totalSteps: number; trainLoss: number };
    result: { kvHeads: number; step: number; totalSteps: number; trainLosses: number[]; bitsPerByte: number | null };
  };
}

export type TaskName = keyof TaskTypes;
export type TaskArgs<N extends TaskName> = TaskTypes[N]['args'];
export type TaskProgress<N extends TaskName> = TaskTypes[N]['progress'];
export type TaskResult<N extends TaskName> = TaskTypes[N]['result'];
