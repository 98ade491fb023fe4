import * as tf from '@tensorflow/tfjs-core';
import { hasKernel, registerHostKernel, runKernelOutputs } from './registry.ts';
import { registerWebGpuKernel } from './webgpu/program.ts';
import { kvWriteWebGpu } from './webgpu/kv-write.ts';

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
