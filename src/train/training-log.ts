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
  entries: LogEntry[];
}
