/**
 * Checking what the page asks of an in-page training run, in words a reader can act on. Pure
 * (no TF.js), so the limits are the same wherever a run is started.
 */
import { EngineError } from '../../engine/errors.ts';
import type { TrainChoices, TrainShape } from './train-types.ts';

/**
 * Bounds that keep a run inside what a browser can hold and train at an interactive pace; the
 * page's presets sit well inside them.
 */
export const TRAIN_LIMITS = {
  dim: [8, 256],
  nLayers: [1, 8],
  seqLen: [8, 512],
  steps: [1, 100_000],
  batchSize: [1, 64],
  evalWindows: [1, 64],
} as const;

function wholeNumber(value: number, what: string, [min, max]: readonly [number, number]): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new EngineError('bad-argument', `${what} must be a whole number from ${min} to ${max}; got ${value}`);
  }
}

export function checkShape(s: TrainShape): void {
  wholeNumber(s.dim, 'The model width (dim)', TRAIN_LIMITS.dim);
  wholeNumber(s.nLayers, 'The number of layers', TRAIN_LIMITS.nLayers);
  wholeNumber(s.seqLen, 'The context length', TRAIN_LIMITS.seqLen);
  wholeNumber(s.nHeads, 'The number of heads', [1, s.dim]);
  wholeNumber(s.nKvHeads, 'The number of key/value heads', [1, s.nHeads]);
  if (s.dim % s.nHeads !== 0 || (s.dim / s.nHeads) % 2 !== 0 || s.nHeads % s.nKvHeads !== 0) {
    throw new EngineError(
      'bad-argument',
      `dim ${s.dim}, ${s.nHeads} heads, ${s.nKvHeads} key/value heads: the heads must split dim into equal, even head sizes (rotary embeddings rotate pairs), and the key/value heads must divide the heads`,
    );
  }
}

export function checkChoices(o: TrainChoices): void {
  wholeNumber(o.steps, 'Steps', TRAIN_LIMITS.steps);
  wholeNumber(o.batchSize, 'The batch size', TRAIN_LIMITS.batchSize);
  wholeNumber(o.warmupSteps, 'Warmup steps', [0, o.steps]);
  wholeNumber(o.evalEvery, 'The validation interval', [1, TRAIN_LIMITS.steps[1]]);
  wholeNumber(o.evalWindows, 'Validation windows', TRAIN_LIMITS.evalWindows);
  wholeNumber(o.seed, 'The seed', [1, 2 ** 32 - 1]); // xorshift never leaves a zero state
  if (!(o.peakLr > 0 && o.peakLr <= 1)) throw new EngineError('bad-argument', `The peak learning rate must be above 0 and at most 1; got ${o.peakLr}`);
}
