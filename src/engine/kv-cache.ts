import * as tf from '@tensorflow/tfjs-core';
import { headSize, type LlamaConfig } from './config.ts';
import { hasKvWrite, hasRopeKvWrite, kvWrite, ropeKvWrite } from './kernels/kv-write.ts';
import { ropeQkv } from './kernels/rope.ts';
import type { RopePositions } from './layers/rope.ts';

/**
 * Keys and values of every past position, per layer, laid out [kvHeads, positions, headSize] so
 * attention is one batched matmul per layer. An implementation that writes in place into a
 * preallocated GPU buffer can replace these behind the same interface.
 */
export interface KVCache {
  /** Positions stored (the same for all layers once a forward pass completes). */
  readonly length: number;
  readonly capacity: number;
  /**
   * Appends k, v: [tokens, kvHeads, headSize] at position `length`; returns everything cached
   * for that layer, [kvHeads, positions, headSize]. `positions` may exceed the positions stored
   * (a preallocated buffer): attention reads only the first `length` after this append.
   * `position`, where given, holds `length` on the device (an in-place write may read it there).
   */
  append(layer: number, k: tf.Tensor3D, v: tf.Tensor3D, position?: tf.Tensor1D): { keys: tf.Tensor3D; values: tf.Tensor3D };
  /** Bytes held on the device. */
  bytes(): number;
  dispose(): void;
}

/** The cache that suits the active backend: written in place where it can be, else concatenated. */
export function createKVCache(config: LlamaConfig): KVCache {
  return hasKvWrite() ? new InPlaceKVCache(config) : new ConcatKVCache(config);
}

/**
 * For one forward over a whole sequence from position 0 (training, evaluation): keys and values go
 * straight to attention and nothing is kept, so gradients flow through them like any other op.
 */
export class SequenceKVCache implements KVCache {
  length = 0;
  constructor(readonly capacity: number) {}
  append(_layer: number, k: tf.Tensor3D, v: tf.Tensor3D) {
    this.length = k.shape[0];
    return { keys: tf.transpose(k, [1, 0, 2]), values: tf.transpose(v, [1, 0, 2]) };
  }
  bytes(): number {
    return 0;
  }
  dispose(): void {}
}

/** Grows by concatenation: simple, exact and backend-independent, but copies the whole cache each step. */
export class ConcatKVCache implements KVCache {
  readonly capacity: number;
  private keys: (tf.Tensor3D | null)[];
  private values: (tf.Tensor3D | null)[];
  private readonly kvHeads: number;
  private readonly headSize: number;

  constructor(config: LlamaConfig) {
    this.capacity = config.seqLen;
    this.kvHeads = config.nKvHeads;
    this.headSize = headSize(config);
    this.keys = new Array(config.nLayers).fill(null);
    this.values = new Array(config.nLayers).fill(null);
  }

  get length(): number {
    return this.keys[this.keys.length - 1]?.shape[1] ?? 0;
  }

  append(layer: number, k: tf.Tensor3D, v: tf.Tensor3D) {
    const put = (store: (tf.Tensor3D | null)[], x: tf.Tensor3D) => {
      // [tokens, kvHeads, hs] → [kvHeads, tokens, hs]; a plain reshape when there is one token.
      const headMajor = x.shape[0] === 1 ? tf.reshape(x, [this.kvHeads, 1, this.headSize]) : tf.transpose(x, [1, 0, 2]);
      const prev = store[layer];
      const next = tf.keep(prev ? tf.concat([prev, headMajor], 1) : headMajor) as tf.Tensor3D;
      prev?.dispose();
      store[layer] = next;
      return next;
    };
    return { keys: put(this.keys, k), values: put(this.values, v) };
  }

  bytes(): number {
    return [...this.keys, ...this.values].reduce((n, t) => n + (t ? t.size * 4 : 0), 0);
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
  }
}

/**
 * Preallocates [kvHeads, seqLen, headSize] per layer (on first use) and writes each step's rows
 * in place with one kernel per layer: no copy of the past, whatever its length. For backends
 * with the KV_WRITE kernel (cpu, wasm, webgpu).
 */
export class InPlaceKVCache implements KVCache {
  readonly capacity: number;
  private readonly filled: number[];
  private readonly buffers: ({ keys: tf.Tensor3D; values: tf.Tensor3D } | null)[];
  private readonly shape: [number, number, number];

  constructor(config: LlamaConfig) {
    this.capacity = config.seqLen;
    this.shape = [config.nKvHeads, config.seqLen, headSize(config)];
    this.filled = new Array(config.nLayers).fill(0);
    this.buffers = new Array(config.nLayers).fill(null);
  }

  get length(): number {
    return this.filled[this.filled.length - 1];
  }

  append(layer: number, k: tf.Tensor3D, v: tf.Tensor3D, position?: tf.Tensor1D) {
    const prev = this.buffersOf(layer);
    const [keys, values] = kvWrite(prev.keys, prev.values, k, v, this.filled[layer], position);
    return this.replace(layer, keys, values, k.shape[0]);
  }

  /** RoPE on the fused qkv rows with the keys and values written here, in one kernel (ropeAndAppend). */
  appendRotated(layer: number, qkv: tf.Tensor2D, positions: RopePositions, nHeads: number, nKvHeads: number) {
    if (positions.start !== this.filled[layer]) throw new RangeError(`cannot write position ${positions.start} after ${this.filled[layer]} in layer ${layer}`);
    const prev = this.buffersOf(layer);
    const [q, keys, values] = ropeKvWrite(prev.keys, prev.values, qkv, positions, nHeads, nKvHeads);
    return { q, ...this.replace(layer, keys, values, qkv.shape[0]) };
  }

  private buffersOf(layer: number) {
    // tf.fill, not tf.zeros: on webgpu it fills the buffers on the device, where tf.zeros makes
    // the zeros on the host and uploads them (64 MiB a buffer at Llama-2-7B's full context).
    return (this.buffers[layer] ??= { keys: tf.keep(tf.fill(this.shape, 0)), values: tf.keep(tf.fill(this.shape, 0)) });
  }

  /** Keeps the handles a write returned in place of the layer's old ones, `tokens` rows more filled. */
  private replace(layer: number, keys: tf.Tensor3D, values: tf.Tensor3D, tokens: number) {
    const prev = this.buffersOf(layer);
    prev.keys.dispose(); // a handle on the same buffer: it stays alive
    prev.values.dispose();
    this.buffers[layer] = { keys: tf.keep(keys), values: tf.keep(values) };
    this.filled[layer] += tokens;
    return { keys, values };
  }

  /** Counts `tokens` rows per layer written on the device by a replayed decode step (decode-steps.ts), which bypasses append. */
  advance(tokens: number): void {
    if (this.buffers.some((b) => !b) || this.length + tokens > this.capacity)
      throw new RangeError(`cannot advance a cache of ${this.length} of ${this.capacity} positions by ${tokens}`);
    for (let l = 0; l < this.filled.length; l++) this.filled[l] += tokens;
  }

  /**
   * Forgets the positions from `length` on (a decode step run ahead on a token that was not
   * chosen); the next step at `length` overwrites their rows.
   */
  rewind(length: number): void {
    if (!(Number.isInteger(length) && length >= 0 && length <= this.length)) throw new RangeError(`cannot rewind a cache of ${this.length} positions to ${length}`);
    this.filled.fill(length);
  }

  bytes(): number {
    return this.buffers.reduce((n, b) => n + (b ? 2 * b.keys.size * 4 : 0), 0);
  }

  dispose(): void {
    for (const b of this.buffers) {
      b?.keys.dispose();
      b?.values.dispose();
    }
    this.buffers.fill(null);
    this.filled.fill(0);
  }
}

/**
 * The queries and the layer's cache for attention: RoPE on the fused qkv rows, the keys and
 * values appended. One kernel into an in-place cache for inference (three launches on webgpu,
 * five as ropeQkv then append); under a gradient tape, or another cache, the two ops.
 */
export function ropeAndAppend(cache: KVCache, layer: number, qkv: tf.Tensor2D, positions: RopePositions, nHeads: number, nKvHeads: number) {
  if (cache instanceof InPlaceKVCache && hasRopeKvWrite() && !tf.engine().isTapeOn()) return cache.appendRotated(layer, qkv, positions, nHeads, nKvHeads);
  const { q, k, v } = ropeQkv(qkv, positions, nHeads, nKvHeads);
  return { q, ...cache.append(layer, k, v, positions.tensor()) };
}
