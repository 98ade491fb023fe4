import type { KvVariantMeasure } from '../../engine/kv-variant.ts';

/**
 * The named jobs the engine worker runs beyond loading and generating: the concept explorers'
 * measurements and the in-page training runs. Types only, so the page can import them without
 * pulling TensorFlow.js into its bundle. Each entry: what the page sends, what the worker reports
 * while it works, and what it answers.
 */
export interface TaskTypes {
  /** Smoke task for the mechanism itself: counts to `n`, reporting each number. */
  count: { args: { n: number }; progress: number; result: { counted: number } };
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
