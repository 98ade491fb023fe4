import type { LlamaConfig } from '../engine/config.ts';
import type { LogEntry, TrainOptions } from './trainer.ts';

/** One --data file of a run: what it held, and the command that made it when the project did. */
export interface DataSource {
  file: string;
  bytes: number;
  stories: number;
  tokens: number;
  /** From a `FILE.json` beside the data (written by `sample-stories`): how the text was generated. */
  generatedBy?: string;
  /** From the same file, where someone added one: what the command alone does not say (a run stopped early, say). */
  note?: string;
}

/** `training-log.json`: the full record of a run, which the model card and the loss chart read. */
export interface TrainingLog {
  /** Every invocation that trained this run, in order (a resumed run has several). */
  commands: string[];
  machine: string;
  backend: string;
  config: LlamaConfig;
  options: TrainOptions;
  /** The training files in order (runs logged before this field existed lack it). */
  data?: DataSource[];
  trainTokens: number;
  valTokens: number;
  /**
   * Every step of the model's training, continued runs included: a run started with `--init`
   * carries the earlier run's entries, then its own, with step, tokens and wall time counted on
   * from where the earlier run ended.
   */
  entries: LogEntry[];
  /** Set when this run started from another finished run's weights (`train --init DIR`). */
  continuedFrom?: EarlierRun;
}

/** The run a continued run started from, as its own log recorded it (entries live in `entries`). */
export interface EarlierRun {
  run: string;
  steps: number;
  tokensSeen: number;
  wallSeconds: number;
  commands: string[];
  machine: string;
  backend: string;
  options: TrainOptions;
  data?: DataSource[];
  continuedFrom?: EarlierRun;
}

/** This run's own entries, placed after the earlier run's (step, tokens and wall time added on). */
export function continueEntries(earlier: EarlierRun | undefined, own: LogEntry[]): LogEntry[] {
  if (!earlier) return own;
  return own.map((e) => ({
    ...e,
    step: e.step + earlier.steps,
    tokensSeen: e.tokensSeen + earlier.tokensSeen,
    wallSeconds: e.wallSeconds + earlier.wallSeconds,
  }));
}

/** The step count the log must reach to be finished. */
export function finalStep(log: TrainingLog): number {
  return (log.continuedFrom?.steps ?? 0) + log.options.steps;
}
