import type * as tf from '@tensorflow/tfjs-core';
import type { KvWriteAttrs } from '../kv-write.ts';
import { elementwiseProgram } from './layout.ts';
import { atPosition, POSITION } from './position.ts';
import type { WebGpuBackendLike } from './program.ts';

/** One invocation per element of rows [tokens, kvHeads, hs], stored at position start + token (see position.ts). */
const code = `
  fn main(index : i32) {
    if (index < uniforms.count) {
      let hs = uniforms.hs;
      let t = index / (uniforms.kvHeads * hs);
      let h = (index / hs) % uniforms.kvHeads;
      result[((h * uniforms.capacity + ${POSITION} + t) * hs) + index % hs] = rows[index];
    }
  }`;

/**
 * Writes k and v into the cache buffers themselves (runWebGPUProgram's `output`), one launch
 * each: nothing else of the cache is read or copied. Returns new handles on the same buffers.
 * (TF.js keeps a CPU copy of whatever it read back and serves later reads from it, so a handle
 * read back would not show later writes; nothing reads the cache buffers themselves back.)
 */
export function kvWriteWebGpu(backend: WebGpuBackendLike, { keys, values, k, v, position }: Record<string, tf.TensorInfo>, { start }: KvWriteAttrs): tf.TensorInfo[] {
  return atPosition(backend, position, start, (at) => [write(backend, keys, k, at), write(backend, values, v, at)]);
}

function write(backend: WebGpuBackendLike, buffer: tf.TensorInfo, rows: tf.TensorInfo, position: tf.TensorInfo): tf.TensorInfo {
  const [kvHeads, capacity, hs] = buffer.shape;
  const count = rows.shape[0] * kvHeads * hs;
  const program = elementwiseProgram('LlamaKvWrite', buffer.shape, ['rows', 'position'], count, 'count : i32, kvHeads : i32, hs : i32, capacity : i32,', code);
  const uniforms = [count, kvHeads, hs, capacity].map((n) => ({ type: 'int32' as const, data: [n] }));
  backend.runWebGPUProgram(program, [rows, position], 'float32', uniforms, buffer);
  backend.incRef(buffer.dataId);
  return { dataId: buffer.dataId, shape: buffer.shape, dtype: buffer.dtype };
}
