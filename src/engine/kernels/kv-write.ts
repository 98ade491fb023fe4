import * as tf from '@tensorflow/tfjs-core';
import type { RopePositions } from '../layers/rope.ts';
import { hasKernel, registerHostKernel, runKernelOutputs } from './registry.ts';
import { copyColumns, rotateHeads } from './rope.ts';
import { registerWebGpuKernel } from './webgpu/program.ts';
import { kvWriteWebGpu, ropeKvWriteWebGpu } from './webgpu/kv-write.ts';

/**
 * Writes a step's keys and values into preallocated cache buffers, in place: rows
 * start..start+tokens-1 of every kv head. The outputs are new handles on the same buffers (as a
 * reshape returns), so the caller keeps using them in place of the inputs.
 *
 * In place means no composite fallback exists: a cache uses this where `hasKvWrite()` and grows
 * by concatenation elsewhere. Every handle on a buffer sees later writes, including one a
 * gradient tape saved, so a training step runs its forward pass on a fresh cache.
 */
export const KV_WRITE = 'LlamaKvWrite';

export interface KvWriteAttrs {
  /** The first row written (also in the optional int32 input `position`: webgpu/position.ts). */
  start: number;
}

export const hasKvWrite = (): boolean => hasKernel(KV_WRITE);

/**
 * keys, values: [kvHeads, capacity, hs] buffers; k, v: [tokens, kvHeads, hs] at positions start...
 * Returns the buffers with those rows written. `position`, where given, holds `start` on the device.
 */
export function kvWrite(
  keys: tf.Tensor3D,
  values: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  start: number,
  position?: tf.Tensor1D,
): [tf.Tensor3D, tf.Tensor3D] {
  const [kvHeads, capacity] = keys.shape;
  const tokens = k.shape[0];
  if (k.shape[1] !== kvHeads || start + tokens > capacity)
    throw new RangeError(`cannot write ${k.shape} at ${start} into ${keys.shape}`);
  const inputs: Record<string, tf.Tensor> = { keys, values, k, v };
  if (position) inputs.position = position;
  return runKernelOutputs(KV_WRITE, inputs, { start } satisfies KvWriteAttrs) as [tf.Tensor3D, tf.Tensor3D];
}

/** Copies rows ([tokens, kvHeads, hs]) into a [kvHeads, capacity, hs] buffer at position `start`. */
function writeRows(rows: Float32Array, buffer: Float32Array, kvHeads: number, capacity: number, hs: number, start: number): void {
  const tokens = rows.length / (kvHeads * hs);
  for (let t = 0; t < tokens; t++)
    for (let h = 0; h < kvHeads; h++) {
      const from = (t * kvHeads + h) * hs;
      buffer.set(rows.subarray(from, from + hs), (h * capacity + start + t) * hs);
    }
}

registerWebGpuKernel(KV_WRITE, kvWriteWebGpu);

registerHostKernel<KvWriteAttrs>(KV_WRITE, (host, { keys, values, k, v }, { start }) => {
  const [kvHeads, capacity, hs] = keys.shape;
  writeRows(host.view(k), host.view(keys), kvHeads, capacity, hs, start);
  writeRows(host.view(v), host.view(values), kvHeads, capacity, hs, start);
  return [host.alias(keys), host.alias(values)];
}, ['position']);

/**
 * The buffers' gradient is the incoming one with the written rows zeroed (they were overwritten);
 * k and v get those rows, back in [tokens, kvHeads, hs] order.
 */
tf.registerGradient({
  kernelName: KV_WRITE,
  inputsToSave: ['k'],
  gradFunc: (dys, saved, attrs) => {
    const [dKeys, dValues] = dys as tf.Tensor3D[];
    const [k] = saved as tf.Tensor3D[];
    const { start } = attrs as unknown as KvWriteAttrs;
    const [tokens] = k.shape;
    const [kvHeads, capacity, hs] = dKeys.shape;
    const written = tf.tensor3d(
      new Float32Array(capacity).map((_, p) => (p >= start && p < start + tokens ? 0 : 1)),
      [1, capacity, 1],
    );
    const rows = (d: tf.Tensor3D) => tf.transpose(tf.slice(d, [0, start, 0], [kvHeads, tokens, hs]), [1, 0, 2]);
    return {
      keys: () => tf.mul(dKeys, written),
      values: () => tf.mul(dValues, written),
      k: () => rows(dKeys),
      v: () => rows(dValues),
    };
  },
});

/**
 * RoPE on the fused projection rows [Wq; Wk; Wv] h and the keys and values written into the cache
 * buffers, in one kernel: ropeQkv then kvWrite, without k and v as tensors of their own (on
 * webgpu three launches instead of five). Inference only: it has no gradient.
 */
export const ROPE_KV_WRITE = 'LlamaRopeKvWrite';

export interface RopeKvWriteAttrs {
  /** The first row written (also in the optional int32 input `position`). */
  start: number;
  nHeads: number;
  nKvHeads: number;
}

export const hasRopeKvWrite = (): boolean => hasKernel(ROPE_KV_WRITE);

/**
 * qkv [tokens, (nHeads + 2·nKvHeads)·hs] at `positions` → the rotated queries [tokens, nHeads, hs]
 * and the cache buffers ([kvHeads, capacity, hs]) with the rotated keys and the values written.
 */
export function ropeKvWrite(keys: tf.Tensor3D, values: tf.Tensor3D, qkv: tf.Tensor2D, positions: RopePositions, nHeads: number, nKvHeads: number): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  const [kvHeads, capacity, hs] = keys.shape;
  const tokens = qkv.shape[0];
  if (kvHeads !== nKvHeads || qkv.shape[1] !== (nHeads + 2 * nKvHeads) * hs || positions.start + tokens > capacity)
    throw new RangeError(`cannot write qkv [${qkv.shape}] of ${nHeads}/${nKvHeads} heads at ${positions.start} into ${keys.shape}`);
  const { cos, sin } = positions.tables;
  const inputs = { keys, values, qkv, cos, sin, position: positions.tensor() };
  return runKernelOutputs(ROPE_KV_WRITE, inputs, { start: positions.start, nHeads, nKvHeads } satisfies RopeKvWriteAttrs) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
}

registerWebGpuKernel(ROPE_KV_WRITE, ropeKvWriteWebGpu);

// The same functions as ropeQkv's and kvWrite's host kernels, so the result is theirs to the bit.
registerHostKernel<RopeKvWriteAttrs>(ROPE_KV_WRITE, (host, { keys, values, qkv, cos, sin }, { start, nHeads, nKvHeads }) => {
  const [tokens, width] = qkv.shape;
  const [kvHeads, capacity, hs] = keys.shape;
  const q = host.allocate([tokens, nHeads, hs]);
  const x = host.view(qkv);
  const [c, s] = [host.view(cos), host.view(sin)];
  const k = new Float32Array(tokens * kvHeads * hs);
  const v = new Float32Array(tokens * kvHeads * hs);
  rotateHeads(x, width, 0, nHeads, hs, c, s, start, host.view(q));
  rotateHeads(x, width, nHeads * hs, nKvHeads, hs, c, s, start, k);
  copyColumns(x, width, (nHeads + nKvHeads) * hs, nKvHeads * hs, v);
  writeRows(k, host.view(keys), kvHeads, capacity, hs, start);
  writeRows(v, host.view(values), kvHeads, capacity, hs, start);
  return [q, host.alias(keys), host.alias(values)];
}, ['position']);
