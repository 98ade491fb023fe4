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

function order(s: { step: BlockStep | ModelStep; layer: number | null }): number {
  if (s.layer === null) return s.step === 'embedding' ? -1 : s.step === 'final_norm' ? 1e6 : 1e6 + 1;
  return s.layer * BLOCK_STEPS.length + BLOCK_STEPS.indexOf(s.step as BlockStep);
}

interface RecordedRow {
  step: BlockStep | ModelStep;
  layer: number | null;
  shape: number[];
  /** The row, flattened, kept past the forward pass's tidy until it has been read back. */
  row: tf.Tensor1D;
}

/**
 * Keeps one row (the position being inspected) of every recorded tensor on the device; they are
 * read back together, in one transfer, after the forward pass (one readback instead of ~20 per
 * layer: synchronous reads are slow on WebGPU and, repeated, leave SwiftShader's device unusable).
 */
class RowProbe implements Probe {
  readonly rows: RecordedRow[] = [];
  constructor(private readonly row: number) {}
  record(step: BlockStep | ModelStep, layer: number | null, x: tf.Tensor): void {
    const shape = x.shape.slice(1);
    const row = tf.keep(tf.tidy(() => tf.reshape(tf.slice(x, [this.row, ...shape.map(() => 0)], [1, ...shape]), [-1]) as tf.Tensor1D));
    this.rows.push({ step, layer, shape, row });
  }
}

function runProbed(llama: Llama, tokens: number[], position: number): { rows: RecordedRow[]; all: tf.Tensor1D } {
  if (!Number.isInteger(position) || position < 0 || position >= tokens.length)
    throw new EngineError('bad-argument', `position must be in 0..${tokens.length - 1}, got ${position}`);
  const probe = new RowProbe(position);
  const cache = llama.newCache();
  try {
    llama.model.forward(tokens.slice(0, position + 1), 0, cache, probe).dispose();
    probe.rows.sort((a, b) => order(a) - order(b));
    return { rows: probe.rows, all: tf.concat(probe.rows.map((r) => r.row)) as tf.Tensor1D };
  } finally {
    cache.dispose();
    for (const r of probe.rows) r.row.dispose();
  }
}

function split(tokens: number[], position: number, rows: RecordedRow[], data: Float32Array): ForwardTrace {
  let at = 0;
  const steps = rows.map(({ step, layer, shape, row }) => {
    const n = row.size;
    const values = data.slice(at, at + n);
    at += n;
    return { step, layer, shape, values };
  });
  return { tokens, position, token: tokens[position], steps };
}

/**
 * Every named intermediate value of the forward pass at `position`, running the tokens up to and
 * including it (the same computation generation does, with a probe attached).
 */
export function inspectForward(llama: Llama, tokens: number[], position: number): ForwardTrace {
  const { rows, all } = runProbed(llama, tokens, position);
  try {
    return split(tokens, position, rows, all.dataSync() as Float32Array);
  } finally {
    all.dispose();
  }
}

/** The same, read back asynchronously: what the page's worker uses (WebGPU reads best this way). */
export async function inspectForwardAsync(llama: Llama, tokens: number[], position: number): Promise<ForwardTrace> {
  const { rows, all } = runProbed(llama, tokens, position);
  try {
    return split(tokens, position, rows, (await all.data()) as Float32Array);
  } finally {
    all.dispose();
  }
}
