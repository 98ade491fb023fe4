import type { LlamaConfig } from './config.ts';
import { kvCacheBytesPerToken, weightBytes, type WeightFormat } from './params.ts';

/**
 * The memory traffic of decoding, the GQA paper's motivation: a decode step for a batch of
 * sequences reads every weight once (shared by the batch) and the keys and values of every
 * cached position of every sequence. Bytes only; time ≈ bytes / memory bandwidth when decoding
 * is memory-bound.
 */
export interface DecodeSetting {
  /** Tokens already in each sequence's cache (the context the new token attends to). */
  context: number;
  /** Sequences decoded together. */
  batch: number;
  weightFormat: WeightFormat;
  /** Bytes per cached key/value number (2 for float16/bfloat16). */
  kvElementBytes: number;
}

export interface DecodeTraffic {
  /** Bytes read per decode step (one new token for each sequence of the batch). */
  weightsPerStep: number;
  kvPerStep: number;
  /** The same per generated token: the weight read is shared by the batch, the cache read is not. */
  weightsPerToken: number;
  kvPerToken: number;
  totalPerToken: number;
  /** Memory the KV cache occupies for the whole batch at this context. */
  kvCacheMemory: number;
}

export function decodeTraffic(c: LlamaConfig, s: DecodeSetting): DecodeTraffic {
  if (!(s.context >= 0) || !(s.batch >= 1)) throw new RangeError(`context must be ≥ 0 and batch ≥ 1, got ${s.context}, ${s.batch}`);
  const weights = weightBytes(c, s.weightFormat);
  const kvCacheMemory = kvCacheBytesPerToken(c, s.kvElementBytes) * s.context * s.batch;
  const weightsPerToken = weights / s.batch;
  const kvPerToken = kvCacheMemory / s.batch;
  return {
    weightsPerStep: weights,
    kvPerStep: kvCacheMemory,
    weightsPerToken,
    kvPerToken,
    totalPerToken: weightsPerToken + kvPerToken,
    kvCacheMemory,
  };
}
