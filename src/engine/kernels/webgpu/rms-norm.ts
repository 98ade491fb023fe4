import type * as tf from '@tensorflow/tfjs-core';
import type { RmsNormAttrs } from '../rms-norm.ts';
import { reduceSnippet, rowProgram, WORKGROUP_INDEX } from './layout.ts';
import type { WebGpuBackendLike } from './program.ts';

const THREADS = 128;

/** One workgroup per row: the sum of squares split over its threads and reduced, then the scaling. */
const code = `
  var<workgroup> partial : array<f32, ${THREADS}>;
  fn main(index : i32) {
    let lid = i32(localIndex);
    let row = ${WORKGROUP_INDEX};
    let dim = uniforms.dim;
    let base = min(row, uniforms.rows - 1) * dim;
    var ss = 0.0;
    for (var j = lid; j < dim; j += ${THREADS}) {
      let v = x[base + j];
      ss += v * v;
    }
    partial[lid] = ss;
    ${reduceSnippet('partial', THREADS, '+')}
    let r = 1.0 / sqrt(partial[0] / f32(dim) + uniforms.eps);
    if (row < uniforms.rows) {
      for (var j = lid; j < dim; j += ${THREADS}) {
        result[base + j] = weight[j] * (r * x[base + j]);
      }
    }
  }`;

/** RMSNorm over the last axis of x (any rank), in one launch. */
export function rmsNormWebGpu(backend: WebGpuBackendLike, { x, weight }: Record<string, tf.TensorInfo>, { eps }: RmsNormAttrs): tf.TensorInfo {
  const dim = weight.shape[0];
  const rows = x.shape.reduce((n, d) => n * d, 1) / dim;
  const program = rowProgram('LlamaRmsNorm', x.shape, ['x', 'weight'], rows, THREADS, 'dim : i32, rows : i32, eps : f32,', code);
  return backend.runWebGPUProgram(program, [x, weight], 'float32', [
    { type: 'int32', data: [dim] },
    { type: 'int32', data: [rows] },
    { type: 'float32', data: [eps] },
  ]);
}
