import { LLAMA_NORM_EPS, LLAMA_ROPE_THETA, type LlamaConfig } from '../engine/config.ts';

/** llama2.c's FFN width rule: 2/3 of 4·dim (SwiGLU has three matrices), rounded up to a multiple. */
export function swiGluHiddenDim(dim: number, multipleOf = 4): number {
  const hidden = Math.floor((2 * 4 * dim) / 3);
  return multipleOf * Math.ceil(hidden / multipleOf);
}

export interface ShapeOptions {
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  seqLen: number;
  vocabSize: number;
  hiddenDim?: number;
}

export function llamaShape(o: ShapeOptions): LlamaConfig {
  return {
    dim: o.dim,
    hiddenDim: o.hiddenDim ?? swiGluHiddenDim(o.dim),
    nLayers: o.nLayers,
    nHeads: o.nHeads,
    nKvHeads: o.nKvHeads,
    vocabSize: o.vocabSize,
    seqLen: o.seqLen,
    sharedClassifier: true,
    normEps: LLAMA_NORM_EPS,
    ropeTheta: LLAMA_ROPE_THETA,
  };
}

/** Named sizes for `train --config` and the in-page trainer; all use grouped-query attention. */
export const TRAIN_CONFIGS: Record<string, Omit<ShapeOptions, 'vocabSize'>> = {
  nano: { dim: 48, nLayers: 2, nHeads: 4, nKvHeads: 2, seqLen: 64 },
  micro: { dim: 64, nLayers: 4, nHeads: 8, nKvHeads: 4, seqLen: 128 },
  mini: { dim: 128, nLayers: 5, nHeads: 8, nKvHeads: 4, seqLen: 256 },
  small: { dim: 192, nLayers: 6, nHeads: 8, nKvHeads: 4, seqLen: 256 },
};
