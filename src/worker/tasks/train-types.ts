/** What the in-page training tasks (train.ts) take and answer: plain data, page-safe types only. */
import type { LlamaConfig } from '../../engine/config.ts';
import type { LogEntry, TrainOptions } from '../../train/trainer.ts';

/** The shape of an in-page model; its vocabulary is the loaded model's tokenizer's. */
export interface TrainShape {
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  seqLen: number;
}

/** What the reader may choose of a run; the rest of the recipe is the paper's (PAPER_RECIPE). */
export type TrainChoices = Pick<TrainOptions, 'steps' | 'batchSize' | 'peakLr' | 'warmupSteps' | 'evalEvery' | 'evalWindows' | 'seed'>;

export interface TrainStartArgs {
  shape: TrainShape;
  options: TrainChoices;
  /** `<|endoftext|>`-separated stories: the training stream, and the validation stream. */
  trainText: string;
  valText: string;
}

/** A training session that lives in the worker until `train-stop` (or a newer `train-start`). */
export interface TrainRun {
  session: number;
  config: LlamaConfig;
  parameters: number;
  options: TrainOptions;
  tokenizer: string;
  trainStories: number;
  trainTokens: number;
  valTokens: number;
}

/** One chunk of a run: the Trainer's log rows for the steps it ran. */
export interface TrainChunk {
  rows: LogEntry[];
  step: number;
  tokensSeen: number;
  done: boolean;
}

export interface TrainSample {
  /** The step the model had reached when it wrote this. */
  step: number;
  /** The prompt and its continuation. */
  text: string;
  newTokens: number;
}
