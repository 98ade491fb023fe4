import type * as tf from '@tensorflow/tfjs-core';
import type { KvWriteAttrs } from '../kv-write.ts';
import { elementwiseProgram } from './layout.ts';
import type { WebGpuBackendLike } from './program.ts';

/** One invocation per element of rows [tokens, kvHeads, hs], stored at position start + token. */
const code = `
  fn main(index : i32) {
    if (index < uniforms.count) {
      let hs = uniforms.hs;
      let t = index / (uniforms.kvHeads * hs);
      let h = (index / hs) % uniforms.kvHeads;
      result[((h * uniforms.capacity + uniforms.start + t) * hs) + index % hs] = rows[index];
    }
  }`;

/**
 * Writes k and v into the cache buffers themselves (runWebGPUProgram's `output`), one launch
 * each: nothing else of the cache is read or copied. Returns new handles on the same buffers.
 * (TF.js keeps a CPU copy of whatever it read back and serves later reads from it, so a handle
 * read back would not show later writes; nothing reads the cache buffers themselves back.)
 */
export function kvWriteWebGpu(backend: WebGpuBackendLike, { keys, values, k, v }: Record<string, tf.TensorInfo>, { start }: KvWriteAttrs): tf.TensorInfo[] {
  const [kvHeads, capacity, hs] = keys.shape;
  const count = k.shape[0] * kvHeads * hs;
  const write = (buffer: tf.TensorInfo, rows: tf.TensorInfo) => {
    const program = elementwiseProgram('LlamaKvWrite', buffer.shape, ['rows'], count, 'count : i32, kvHeads : i32, hs : i32, capacity : i32, start : i32,', code);
    const uniforms = [count, kvHeads, hs, capacity, start].map((n) => ({ type: 'int32' as const, data: [n] }));
    backend.runWebGPUProgram(program, [rows], 'float32', uniforms, buffer);
    backend.incRef(buffer.dataId);
    return { dataId: buffer.dataId, shape: buffer.shape, dtype: buffer.dtype };
  };
  return [write(keys, k), write(values, v)];
}
