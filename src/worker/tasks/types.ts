/**
 * The named jobs the engine worker runs beyond loading and generating: the concept explorers'
 * measurements and the in-page training runs. Types only, so the page can import them without
 * pulling TensorFlow.js into its bundle. Each entry: what the page sends, what the worker reports
 * while it works, and what it answers.
 */
import type { RopeQk } from '../../explorers/rope/qk.ts';

export interface TaskTypes {
  /** Smoke task for the mechanism itself: counts to `n`, reporting each number. */
  count: { args: { n: number }; progress: number; result: { counted: number } };
  /** Chapter 3: every layer's pre-RoPE queries and keys of a prompt (one forward pass, no progress to report). */
  'rope-qk': { args: { prompt: string }; progress: never; result: RopeQk };
}

export type TaskName = keyof TaskTypes;
export type TaskArgs<N extends TaskName> = TaskTypes[N]['args'];
export type TaskProgress<N extends TaskName> = TaskTypes[N]['progress'];
export type TaskResult<N extends TaskName> = TaskTypes[N]['result'];
