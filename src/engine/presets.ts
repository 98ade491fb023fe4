import { LLAMA_NORM_EPS, LLAMA_ROPE_THETA, type LlamaConfig } from './config.ts';

/**
 * The published Llama 1 and Llama 2 shapes. Context length and whether GQA is used come from
 * Table 1 of the Llama 2 paper; dim, layers, heads, kv heads and FFN width are the released
 * models' parameters (Llama 2 34B was never released: its shape is the one Code Llama 34B shipped).
 */
export interface Preset {
  id: string;
  family: 'Llama 1' | 'Llama 2';
  label: string;
  config: LlamaConfig;
  /** Pretraining tokens (Table 1), for the chapters that compare the families. */
  trainingTokens: number;
}

function shape(
  dim: number,
  nLayers: number,
  nHeads: number,
  nKvHeads: number,
  hiddenDim: number,
  seqLen: number,
): LlamaConfig {
  return {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: 32000,
    seqLen,
    sharedClassifier: false,
    normEps: LLAMA_NORM_EPS,
    ropeTheta: LLAMA_ROPE_THETA,
  };
}

export const PRESETS: readonly Preset[] = [
  { id: 'llama1-7b', family: 'Llama 1', label: 'LLaMA 7B', config: shape(4096, 32, 32, 32, 11008, 2048), trainingTokens: 1.0e12 },
  { id: 'llama1-13b', family: 'Llama 1', label: 'LLaMA 13B', config: shape(5120, 40, 40, 40, 13824, 2048), trainingTokens: 1.0e12 },
  { id: 'llama1-33b', family: 'Llama 1', label: 'LLaMA 33B', config: shape(6656, 60, 52, 52, 17920, 2048), trainingTokens: 1.4e12 },
  { id: 'llama1-65b', family: 'Llama 1', label: 'LLaMA 65B', config: shape(8192, 80, 64, 64, 22016, 2048), trainingTokens: 1.4e12 },
  { id: 'llama2-7b', family: 'Llama 2', label: 'Llama 2 7B', config: shape(4096, 32, 32, 32, 11008, 4096), trainingTokens: 2.0e12 },
  { id: 'llama2-13b', family: 'Llama 2', label: 'Llama 2 13B', config: shape(5120, 40, 40, 40, 13824, 4096), trainingTokens: 2.0e12 },
  { id: 'llama2-34b', family: 'Llama 2', label: 'Llama 2 34B', config: shape(8192, 48, 64, 8, 22016, 4096), trainingTokens: 2.0e12 },
  { id: 'llama2-70b', family: 'Llama 2', label: 'Llama 2 70B', config: shape(8192, 80, 64, 8, 28672, 4096), trainingTokens: 2.0e12 },
];

export function presetById(id: string): Preset | undefined {
  return PRESETS.find((p) => p.id === id);
}
