import { LLAMA_NORM_EPS, LLAMA_ROPE_THETA, type LlamaConfig } from '../config.ts';
import { EngineError, mismatch } from '../errors.ts';

/** "ak42" read as a little-endian uint32: the magic of llama2.c's versioned exports. */
export const LLAMA2C_MAGIC = 0x616b3432;
export const VERSIONED_HEADER_BYTES = 256;
export const LEGACY_HEADER_BYTES = 7 * 4;

/** Larger than any real model's dimension, small enough to catch a misread header. */
const MAX_DIM = 1 << 20;

/** The seven int32 fields of llama2.c's header, as stored (vocabSize negative: an own classifier). */
export type RawHeader = Pick<LlamaConfig, 'dim' | 'hiddenDim' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'vocabSize' | 'seqLen'>;

export function readRawHeader(view: DataView, offset: number): RawHeader {
  const at = (i: number) => view.getInt32(offset + 4 * i, true);
  return { dim: at(0), hiddenDim: at(1), nLayers: at(2), nHeads: at(3), nKvHeads: at(4), vocabSize: at(5), seqLen: at(6) };
}

/** Whether seven int32s could be a model header at all (used to tell "not a checkpoint" from "bad dims"). */
export function isPlausibleHeader(h: RawHeader): boolean {
  const { vocabSize, ...rest } = h;
  return Object.values(rest).every((v) => v > 0 && v < MAX_DIM) && vocabSize !== 0 && Math.abs(vocabSize) < MAX_DIM;
}

/** Checks the shape constraints the forward pass relies on and turns the header into a config. */
export function configFromHeader(h: RawHeader, file: string, sharedClassifier: boolean): LlamaConfig {
  const dims = (what: string, expected: string, actual: string) => mismatch('checkpoint-dims', file, what, expected, actual);
  for (const [k, v] of Object.entries(h)) {
    if (k !== 'vocabSize' && !(v > 0)) throw dims(k, 'a positive integer', String(v));
  }
  if (h.dim % h.nHeads !== 0) throw dims('dim / n_heads', 'a whole head size', `${h.dim} / ${h.nHeads}`);
  if (h.nHeads % h.nKvHeads !== 0)
    throw dims('n_heads / n_kv_heads', 'a whole number of query heads per kv head', `${h.nHeads} / ${h.nKvHeads}`);
  if ((h.dim / h.nHeads) % 2 !== 0) throw dims('head size', 'even (RoPE rotates pairs)', String(h.dim / h.nHeads));
  const vocabSize = Math.abs(h.vocabSize);
  if (vocabSize === 0) throw new EngineError('checkpoint-dims', `${file}: vocab_size is 0`);
  return {
    dim: h.dim,
    hiddenDim: h.hiddenDim,
    nLayers: h.nLayers,
    nHeads: h.nHeads,
    nKvHeads: h.nKvHeads,
    vocabSize,
    seqLen: h.seqLen,
    sharedClassifier,
    normEps: LLAMA_NORM_EPS,
    ropeTheta: LLAMA_ROPE_THETA,
  };
}

/** Exact length checks: a short file is truncated, a long one has bytes we would silently ignore. */
export function checkFileSize(file: string, expected: number, actual: number): void {
  if (actual < expected)
    throw mismatch('checkpoint-truncated', file, 'file is truncated: size in bytes', expected, actual);
  if (actual > expected)
    throw mismatch('checkpoint-padded', file, 'file has trailing bytes: size in bytes', expected, actual);
}
