import * as tf from '@tensorflow/tfjs-core';
import type { Checkpoint } from '../engine/checkpoint/checkpoint.ts';
import type { LlamaConfig } from '../engine/config.ts';
import { LlamaModel } from '../engine/model.ts';
import { downloadCheckpoint, namedWeights } from '../engine/weights/llama-weights.ts';
import { uploadWeights } from '../engine/weights/weight-builder.ts';
import { AdamW, PAPER_ADAMW, clipByGlobalNorm } from './adamw.ts';
import { PackedBatches } from './batches.ts';
import { windowLoss } from './loss.ts';
import { learningRate } from './schedule.ts';

export interface TrainOptions {
  steps: number;
  /** Windows per optimizer step, accumulated one forward at a time. */
  batchSize: number;
  peakLr: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of the peak (the paper: 10%). */
  minLrFraction: number;
  weightDecay: number;
  gradClip: number;
  evalEvery: number;
  /** Validation windows (non-overlapping, from the start of the validation stream). */
  evalWindows: number;
  seed: number;
}

export const PAPER_RECIPE = { minLrFraction: 0.1, weightDecay: PAPER_ADAMW.weightDecay, gradClip: 1.0 } as const;

export interface LogEntry {
  step: number;
  tokensSeen: number;
  lr: number;
  trainLoss: number;
  valLoss?: number;
  gradNorm: number;
  tokensPerSecond: number;
  wallSeconds: number;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainerState {
  config: LlamaConfig;
  options: TrainOptions;
  step: number;
  tokensSeen: number;
  wallSeconds: number;
  batchRngState: string;
  checkpoint: Checkpoint;
  /** Adam moments, in namedWeights order. */
  moments: { m: Float32Array[]; v: Float32Array[] };
  log: LogEntry[];
}

/** Pretraining with the paper's recipe, on whatever TF.js backend is active. */
export class Trainer {
  readonly model: LlamaModel;
  private readonly optimizer: AdamW;
  private readonly batches: PackedBatches;
  private readonly valWindows: number[][];
  step: number;
  tokensSeen: number;
  wallSeconds: number;
  readonly log: LogEntry[];

  constructor(
    readonly options: TrainOptions,
    checkpoint: Checkpoint,
    train: Int32Array,
    val: Int32Array,
    resume?: Omit<TrainerState, 'config' | 'options' | 'checkpoint'>,
  ) {
    const c = checkpoint.config;
    this.model = new LlamaModel(c, uploadWeights(checkpoint, { trainable: true }));
    const named = namedWeights(this.model.weights);
    this.optimizer = new AdamW(
      named.map((n) => ({ name: n.name, variable: n.tensor as tf.Variable, decay: n.matrix })),
      { ...PAPER_ADAMW, weightDecay: options.weightDecay },
    );
    this.batches = new PackedBatches(train, c.seqLen, resume ? BigInt(resume.batchRngState) : options.seed);
    this.valWindows = Array.from({ length: Math.min(options.evalWindows, Math.floor((val.length - 1) / c.seqLen)) }, (_, i) =>
      Array.from(val.subarray(i * c.seqLen, (i + 1) * c.seqLen + 1)),
    );
    this.step = resume?.step ?? 0;
    this.tokensSeen = resume?.tokensSeen ?? 0;
    this.wallSeconds = resume?.wallSeconds ?? 0;
    this.log = [...(resume?.log ?? [])];
    if (resume) {
      this.optimizer.step = resume.step;
      resume.moments.m.forEach((m, i) => this.optimizer.m[i].assign(tf.tensor(m, this.optimizer.m[i].shape)));
      resume.moments.v.forEach((v, i) => this.optimizer.v[i].assign(tf.tensor(v, this.optimizer.v[i].shape)));
    }
  }

  get config(): LlamaConfig {
    return this.model.config;
  }

  get done(): boolean {
    return this.step >= this.options.steps;
  }

  learningRate(step = this.step): number {
    const o = this.options;
    return learningRate(step, { peak: o.peakLr, warmupSteps: o.warmupSteps, totalSteps: o.steps, floor: o.minLrFraction });
  }

  /** Mean loss over the validation windows, no gradients; one read-back for all windows. */
  async validationLoss(): Promise<number> {
    const losses = tf.tidy(() => tf.stack(this.valWindows.map((w) => windowLoss(this.model, w))));
    const values = await readAndDispose(losses);
    return values.reduce((a, b) => a + b, 0) / values.length;
  }

  /**
   * One optimizer step: accumulate the batch's gradients, clip, AdamW. Values are read back
   * asynchronously (a GPU backend cannot read synchronously in Node or a worker without stalling).
   */
  async trainStep(): Promise<LogEntry> {
    const t0 = performance.now();
    const params = this.optimizer.params.map((p) => p.variable);
    let sums: tf.Tensor[] | null = null;
    const losses: tf.Scalar[] = [];
    for (let b = 0; b < this.options.batchSize; b++) {
      const window = this.batches.next();
      const { value, grads } = tf.variableGrads(() => windowLoss(this.model, window), params);
      losses.push(value);
      const ordered = params.map((p) => grads[p.name]);
      if (!sums) sums = ordered;
      else {
        const prev: tf.Tensor[] = sums;
        sums = prev.map((s, i) => tf.add(s, ordered[i]));
        [...prev, ...ordered].forEach((t) => t.dispose());
      }
    }
    const mean = sums!.map((s) => tf.div(s, this.options.batchSize));
    sums!.forEach((s) => s.dispose());
    const lossValues = await readAndDispose(tf.stack(losses));
    losses.forEach((l) => l.dispose());
    const { clipped, norm } = await clipByGlobalNorm(mean, this.options.gradClip);
    const lr = this.learningRate();
    this.optimizer.apply(clipped, lr);
    new Set([...mean, ...clipped]).forEach((t) => t.dispose());

    this.step++;
    const tokens = this.options.batchSize * this.config.seqLen;
    this.tokensSeen += tokens;
    const seconds = (performance.now() - t0) / 1000;
    this.wallSeconds += seconds;
    const entry: LogEntry = {
      step: this.step,
      tokensSeen: this.tokensSeen,
      lr,
      trainLoss: lossValues.reduce((a, b) => a + b, 0) / this.options.batchSize,
      gradNorm: norm,
      tokensPerSecond: tokens / seconds,
      wallSeconds: this.wallSeconds,
    };
    if (this.step % this.options.evalEvery === 0 || this.done) {
      const v0 = performance.now();
      entry.valLoss = await this.validationLoss();
      this.wallSeconds += (performance.now() - v0) / 1000;
      entry.wallSeconds = this.wallSeconds;
    }
    this.log.push(entry);
    return entry;
  }

  checkpoint(): Promise<Checkpoint> {
    return downloadCheckpoint(this.model.weights, this.config);
  }

  async state(): Promise<TrainerState> {
    return {
      config: this.config,
      options: this.options,
      step: this.step,
      tokensSeen: this.tokensSeen,
      wallSeconds: this.wallSeconds,
      batchRngState: this.batches.rngState.toString(),
      checkpoint: await this.checkpoint(),
      moments: {
        m: await Promise.all(this.optimizer.m.map(readFloats)),
        v: await Promise.all(this.optimizer.v.map(readFloats)),
      },
      log: this.log,
    };
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }
}

async function readFloats(t: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data());
}

async function readAndDispose(t: tf.Tensor): Promise<number[]> {
  const values = Array.from(await t.data());
  t.dispose();
  return values;
}
