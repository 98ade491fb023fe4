import type * as tf from '@tensorflow/tfjs-core';
import type { KvWriteAttrs, RopeKvWriteAttrs } from '../kv-write.ts';
import { elementwiseProgram } from './layout.ts';
import { atPosition, POSITION } from './position.ts';
import type { WebGpuBackendLike } from './program.ts';
import { ropeColumns, rotatedElement } from './rope.ts';

/**
 * One invocation per element of rows [tokens, kvHeads, hs], read from columns
 * firstColumn..firstColumn+kvHeads·hs of source rows `width` wide (k or v themselves, or the
 * fused qkv rows) and stored at position start + token (see position.ts); keys from the fused
 * rows are rotated by RoPE on the way.
 */
const code = (rotate: boolean) => `
  fn main(index : i32) {
    if (index < uniforms.count) {
      let hs = uniforms.hs;
      let within = index % (uniforms.kvHeads * hs);
      let t = index / (uniforms.kvHeads * hs);
      let src = t * uniforms.width + uniforms.firstColumn + within;
      result[((within / hs * uniforms.capacity + ${POSITION} + t) * hs) + within % hs] = ${rotate ? rotatedElement('rows', 'src', 'within % hs', 't') : 'rows[src]'};
    }
  }`;

const UNIFORMS = 'count : i32, kvHeads : i32, hs : i32, capacity : i32, width : i32, firstColumn : i32,';

/**
 * Writes k and v into the cache buffers themselves (runWebGPUProgram's `output`), one launch
 * each: nothing else of the cache is read or copied. Returns new handles on the same buffers.
 * (TF.js keeps a CPU copy of whatever it read back and serves later reads from it, so a handle
 * read back would not show later writes; nothing reads the cache buffers themselves back.)
 */
export function kvWriteWebGpu(backend: WebGpuBackendLike, { keys, values, k, v, position }: Record<string, tf.TensorInfo>, { start }: KvWriteAttrs): tf.TensorInfo[] {
  return atPosition(backend, position, start, (at) => [write(backend, keys, { rows: k, position: at }, 0), write(backend, values, { rows: v, position: at }, 0)]);
}

/**
 * RoPE and the cache write from the fused qkv rows in three launches (the queries rotated into
 * a new tensor; the keys rotated and the values copied straight into the cache buffers) where
 * ropeQkv and kvWrite take five.
 */
export function ropeKvWriteWebGpu(
  backend: WebGpuBackendLike,
  { keys, values, qkv, cos, sin, position }: Record<string, tf.TensorInfo>,
  { start, nHeads, nKvHeads }: RopeKvWriteAttrs,
): tf.TensorInfo[] {
  const hs = qkv.shape[1] / (nHeads + 2 * nKvHeads);
  return atPosition(backend, position, start, (at) => [
    ropeColumns(backend, { qkv, cos, sin, position: at }, 0, nHeads, true),
    write(backend, keys, { rows: qkv, cosTable: cos, sinTable: sin, position: at }, nHeads * hs),
    write(backend, values, { rows: qkv, position: at }, (nHeads + nKvHeads) * hs),
  ]);
}

/** Writes the rows' columns from `firstColumn` into `buffer`, rotated when the inputs hold the tables. */
function write(backend: WebGpuBackendLike, buffer: tf.TensorInfo, inputs: Record<string, tf.TensorInfo>, firstColumn: number): tf.TensorInfo {
  const [kvHeads, capacity, hs] = buffer.shape;
  const { rows } = inputs;
  const count = rows.shape[0] * kvHeads * hs;
  const rotate = 'cosTable' in inputs;
  const names = rotate ? ['rows', 'cosTable', 'sinTable', 'position'] : ['rows', 'position'];
  const program = elementwiseProgram(rotate ? 'LlamaKvWrite-rotate' : 'LlamaKvWrite', buffer.shape, names, count, UNIFORMS, code(rotate));
  const width = rows.shape.slice(1).reduce((n, d) => n * d, 1);
  const uniforms = [count, kvHeads, hs, capacity, width, firstColumn].map((n) => ({ type: 'int32' as const, data: [n] }));
  backend.runWebGPUProgram(program, names.map((n) => inputs[n]), 'float32', uniforms, buffer);
  backend.incRef(buffer.dataId);
  return { dataId: buffer.dataId, shape: buffer.shape, dtype: buffer.dtype };
}
