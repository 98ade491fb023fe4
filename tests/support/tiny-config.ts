import { LLAMA_NORM_EPS, LLAMA_ROPE_THETA, type LlamaConfig } from '../../src/engine/config.ts';

/** A one-layer GQA 8/4 shape small enough for kernel tests (stories260K's widths), with overrides. */
export const tinyConfig = (over: Partial<LlamaConfig> = {}): LlamaConfig => ({
  dim: 64,
  hiddenDim: 172,
  nLayers: 1,
  nHeads: 8,
  nKvHeads: 4,
  vocabSize: 32,
  seqLen: 32,
  sharedClassifier: true,
  normEps: LLAMA_NORM_EPS,
  ropeTheta: LLAMA_ROPE_THETA,
  ...over,
});
