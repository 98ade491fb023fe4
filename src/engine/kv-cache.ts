import * as tf from '@tensorflow/tfjs-core';
import { headSize, type LlamaConfig } from './config.ts';

/**
 * Keys and values of every past position, per layer, laid out [kvHeads, positions, headSize] so
 * attention is one batched matmul per layer. An implementation that writes in place into a
 * preallocated GPU buffer can replace this one behind the same interface.
 */
export interface KVCache {
  /** Positions stored (the same for all layers once a forward pass completes). */
  readonly length: number;
  readonly capacity: number;
  /** Appends k, v: [tokens, kvHeads, headSize]; returns everything cached for that layer. */
  append(layer: number, k: tf.Tensor3D, v: tf.Tensor3D): { keys: tf.Tensor3D; values: tf.Tensor3D };
  /** Bytes held on the device. */
  bytes(): number;
  dispose(): void;
}

/** Grows by concatenation: simple and exact; the copy per step is small next to the weights read. */
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
