/**
 * The numbers the in-page trainer shows, computed from the Trainer's own log rows only, so what
 * the reader sees is exactly what the training code measured (a unit test holds the two equal).
 */
import type { LogEntry } from '../../../src/train/trainer.ts';

export interface RunSummary {
  step: number;
  tokensSeen: number;
  /** Training loss of the first step (≈ ln of the vocabulary for a fresh model) and of the last. */
  firstTrainLoss: number;
  trainLoss: number;
  /** The latest validation loss and the step it was measured at; null before the first. */
  valLoss: number | null;
  valStep: number | null;
  /** Training throughput over the last RECENT_STEPS steps (validation time excluded, as the Trainer counts). */
  tokensPerSecond: number;
}

export const RECENT_STEPS = 10;

export function summarizeRun(rows: readonly LogEntry[]): RunSummary | null {
  if (rows.length === 0) return null;
  const last = rows[rows.length - 1];
  const recent = rows.slice(-RECENT_STEPS);
  // Each row's tokens and seconds: total tokens over total time, not a mean of per-step rates.
  let tokens = 0;
  let seconds = 0;
  recent.forEach((r, i) => {
    const before = i > 0 ? recent[i - 1].tokensSeen : rows.length > recent.length ? rows[rows.length - recent.length - 1].tokensSeen : 0;
    const n = r.tokensSeen - before;
    tokens += n;
    seconds += n / r.tokensPerSecond;
  });
  const lastVal = [...rows].reverse().find((r) => r.valLoss !== undefined);
  return {
    step: last.step,
    tokensSeen: last.tokensSeen,
    firstTrainLoss: rows[0].trainLoss,
    trainLoss: last.trainLoss,
    valLoss: lastVal?.valLoss ?? null,
    valStep: lastVal?.step ?? null,
    tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
  };
}

/** Losses as the widgets print them: three decimals (the curves move by hundredths late in a run). */
export const formatLoss = (v: number): string => v.toFixed(3);
