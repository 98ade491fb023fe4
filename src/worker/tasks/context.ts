import type { Llama } from '../../engine/llama.ts';

/** What a task gets from the worker: the loaded model, cancellation and a progress channel. */
export interface TaskContext<P> {
  /** The loaded model; throws a readable error when none is loaded. */
  model(): Llama;
  /** Aborted when the page sends `stop` for this request. */
  readonly signal: AbortSignal;
  /** Sends a progress report to the page (transfer lists typed arrays instead of copying them). */
  progress(data: P, transfer?: Transferable[]): void;
  /** Yields to the event loop so a `stop` can arrive between steps of a long task. */
  pause(): Promise<void>;
}

export interface TaskOutput<R> {
  result: R;
  transfer?: Transferable[];
}
