import type { LlamaConfig } from '../engine/config.ts';
import type { LogEntry, TrainOptions } from './trainer.ts';

/** `training-log.json`: the full record of a run, which the model card and the loss chart read. */
export interface TrainingLog {
  /** Every invocation that trained this run, in order (a resumed run has several). */
  commands: string[];
  machine: string;
  backend: string;
  config: LlamaConfig;
  options: TrainOptions;
  trainTokens: number;
  valTokens: number;
  entries: LogEntry[];
}
