/**
 * The embedded model's training log (public/models/default/training-log.json, written by
 * `npm run cli -- train`), fetched once per page and checked enough that a malformed or
 * retrained file fails in words instead of drawing nonsense. Nothing about the run is assumed:
 * steps, tokens, shape and machine are all read from the file.
 */
import { withBase } from '../../../src/site/paths.ts';
import type { LogEntry } from '../../../src/train/trainer.ts';
import type { TrainingLog } from '../../../src/train/training-log.ts';
import { messageOf } from '../../../src/engine/errors.ts';

export const TRAINING_LOG_PATH = 'models/default/training-log.json';

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The log if it has the fields the widgets draw; otherwise an Error saying what is missing. */
export function checkTrainingLog(data: unknown, file = TRAINING_LOG_PATH): TrainingLog {
  const log = data as Partial<TrainingLog> | null;
  if (!log || typeof log !== 'object' || !Array.isArray(log.entries)) throw new Error(`${file}: no "entries" list of training steps`);
  if (log.entries.length === 0) throw new Error(`${file}: the run has no logged steps yet`);
  log.entries.forEach((e: Partial<LogEntry>, i) => {
    for (const key of ['step', 'tokensSeen', 'lr', 'trainLoss'] as const) {
      if (!isNumber(e[key])) throw new Error(`${file}: entry ${i} has no numeric "${key}"`);
    }
    if (e.valLoss !== undefined && !isNumber(e.valLoss)) throw new Error(`${file}: entry ${i} has a "valLoss" that is not a number`);
  });
  return log as TrainingLog;
}

let cached: Promise<TrainingLog> | null = null;

/** The shipped log (one request per page, shared by the chart and the in-page trainer). */
export function fetchTrainingLog(): Promise<TrainingLog> {
  cached ??= (async () => {
    const url = withBase(TRAINING_LOG_PATH);
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new Error(`The training log (${url}) could not be fetched: ${messageOf(e)}`);
    }
    if (!res.ok) throw new Error(`The training log (${url}) could not be fetched: ${res.status} ${res.statusText}`.trim());
    let data: unknown;
    try {
      data = await res.json();
    } catch {
      throw new Error(`${url} is not valid JSON`);
    }
    return checkTrainingLog(data);
  })();
  cached.catch(() => {
    cached = null; // a later visit may try again
  });
  return cached;
}

/** "2,000 steps, 4,096,000 tokens, wasm on AMD EPYC, 2 cores…": the run as the caption names it. */
export function describeRun(log: TrainingLog): { steps: number; tokens: number; backend: string; machine: string } {
  const last = log.entries[log.entries.length - 1];
  return { steps: last.step, tokens: last.tokensSeen, backend: log.backend ?? 'unknown backend', machine: log.machine ?? 'an unrecorded machine' };
}
