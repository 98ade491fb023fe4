import { kvDim, type LlamaConfig } from './config.ts';

/** Parameter counts per tensor kind, computed from the shape alone (norm weights included). */
export interface ParameterBreakdown {
  tokenEmbedding: number;
  attention: number;
  feedForward: number;
  norms: number;
  classifier: number;
  total: number;
}

export function parameterBreakdown(c: LlamaConfig): ParameterBreakdown {
  const kv = kvDim(c);
  const tokenEmbedding = c.vocabSize * c.dim;
  const attention = c.nLayers * (2 * c.dim * c.dim + 2 * kv * c.dim);
  const feedForward = c.nLayers * 3 * c.dim * c.hiddenDim;
  const norms = (2 * c.nLayers + 1) * c.dim;
  const classifier = c.sharedClassifier ? 0 : c.vocabSize * c.dim;
  return {
    tokenEmbedding,
    attention,
    feedForward,
    norms,
    classifier,
    total: tokenEmbedding + attention + feedForward + norms + classifier,
  };
}

export const parameterCount = (c: LlamaConfig): number => parameterBreakdown(c).total;

/** Bytes per stored element for the weight formats the engine knows (int8/int4 incl. group scales). */
export const WEIGHT_FORMATS = {
  float32: 4,
  float16: 2,
  /** Q8_0: 32 int8 values + one float16 scale per group. */
  int8: 34 / 32,
  /** Q4_0: 32 4-bit values + one float16 scale per group. */
  int4: 18 / 32,
} as const;
export type WeightFormat = keyof typeof WEIGHT_FORMATS;

export const weightBytes = (c: LlamaConfig, format: WeightFormat): number =>
  parameterCount(c) * WEIGHT_FORMATS[format];

/** Keys and values of every layer for one token: 2 * layers * kv_dim elements. */
export const kvCacheBytesPerToken = (c: LlamaConfig, bytesPerElement = 2): number =>
  2 * c.nLayers * kvDim(c) * bytesPerElement;

export const kvCacheBytes = (c: LlamaConfig, tokens: number, bytesPerElement = 2, batch = 1): number =>
  kvCacheBytesPerToken(c, bytesPerElement) * tokens * batch;
