/**
 * The model sizes a reader can train in the page: small enough that the wasm fallback runs a step
 * in well under a second on a laptop, big enough to learn more than word frequencies. The
 * vocabulary is the loaded model's tokenizer's, so the embedding table is often most of the model.
 */
import { TRAIN_CONFIGS } from '../../../src/train/model-configs.ts';
import type { TrainChoices, TrainShape } from '../../../src/worker/tasks/train-types.ts';

export interface TrainPreset {
  id: string;
  label: string;
  shape: TrainShape;
  batchSize: number;
  peakLr: number;
}

export const TRAIN_PRESETS: TrainPreset[] = [
  { id: 'tiny', label: 'Tiny: dim 32, 1 layer, context 64', shape: { dim: 32, nLayers: 1, nHeads: 4, nKvHeads: 2, seqLen: 64 }, batchSize: 4, peakLr: 5e-3 },
  { id: 'nano', label: 'Nano: dim 48, 2 layers, context 64', shape: TRAIN_CONFIGS.nano, batchSize: 4, peakLr: 4e-3 },
  { id: 'micro', label: 'Micro: dim 64, 4 layers, context 128', shape: TRAIN_CONFIGS.micro, batchSize: 4, peakLr: 3e-3 },
  { id: 'wide', label: 'Wide: dim 96, 3 layers, context 128', shape: { dim: 96, nLayers: 3, nHeads: 6, nKvHeads: 2, seqLen: 128 }, batchSize: 4, peakLr: 3e-3 },
];

/** The run's options for a preset and a step budget: warmup 5% of the steps, as the CLI's default. */
export function presetChoices(preset: TrainPreset, steps: number, seed = 1): TrainChoices {
  return {
    steps,
    batchSize: preset.batchSize,
    peakLr: preset.peakLr,
    warmupSteps: Math.max(1, Math.round(steps / 20)),
    evalEvery: Math.max(5, Math.round(steps / 20)),
    evalWindows: 4,
    seed,
  };
}
