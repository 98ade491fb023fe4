import * as tf from '@tensorflow/tfjs-core';
import { EngineError } from './errors.ts';
import type { Llama } from './llama.ts';
import { BLOCK_STEPS, type BlockStep, type ModelStep, type Probe } from './probe.ts';

export interface TraceStep {
  step: BlockStep | ModelStep;
  /** Null for the steps outside the blocks (embedding, final norm, logits). */
  layer: number | null;
  /** Shape without the token axis, e.g. [heads, keys] for attention probabilities. */
  shape: number[];
  values: Float32Array;
}

export interface ForwardTrace {
  tokens: number[];
  position: number;
  token: number;
  /** In the order the forward pass computes them. */
  steps: TraceStep[];
}

function order(s: TraceStep): number {
  if (s.layer === null) return s.step === 'embedding' ? -1 : s.step === 'final_norm' ? 1e6 : 1e6 + 1;
  return s.layer * BLOCK_STEPS.length + BLOCK_STEPS.indexOf(s.step as BlockStep);
}

/** Keeps one row (the position being inspected) of every recorded tensor, copied to the host. */
class RowProbe implements Probe {
  readonly steps: TraceStep[] = [];
  constructor(private readonly row: number) {}
  record(step: BlockStep | ModelStep, layer: number | null, x: tf.Tensor): void {
    const shape = x.shape.slice(1);
    const row = tf.tidy(() => tf.slice(x, [this.row, ...shape.map(() => 0)], [1, ...shape]));
    this.steps.push({ step, layer, shape, values: row.dataSync() as Float32Array });
    row.dispose();
  }
}

/**
 * Every named intermediate value of the forward pass at `position`, running the tokens up to and
 * including it (the same computation generation does, with a probe attached).
 */
export function inspectForward(llama: Llama, tokens: number[], position: number): ForwardTrace {
  if (!Number.isInteger(position) || position < 0 || position >= tokens.length)
    throw new EngineError('bad-argument', `position must be in 0..${tokens.length - 1}, got ${position}`);
  const probe = new RowProbe(position);
  const cache = llama.newCache();
  try {
    llama.model.forward(tokens.slice(0, position + 1), 0, cache, probe).dispose();
  } finally {
    cache.dispose();
  }
  probe.steps.sort((a, b) => order(a) - order(b));
  return { tokens, position, token: tokens[position], steps: probe.steps };
}
