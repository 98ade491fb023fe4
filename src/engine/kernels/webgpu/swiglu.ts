import type * as tf from '@tensorflow/tfjs-core';
import { elementwiseProgram } from './layout.ts';
import type { WebGpuBackendLike } from './program.ts';

/** One invocation per output element: silu(gate) · up, in llama2.c's order. */
const code = `
  fn main(index : i32) {
    if (index < uniforms.count) {
      let hidden = uniforms.hidden;
      let at = (index / hidden) * 2 * hidden + index % hidden;
      let g = gateUp[at];
      result[index] = (g * (1.0 / (1.0 + exp(-g)))) * gateUp[at + hidden];
    }
  }`;

/** [tokens, 2·hidden] rows [gate | up] → [tokens, hidden], in one launch. */
export function swiGluWebGpu(backend: WebGpuBackendLike, { gateUp }: Record<string, tf.TensorInfo>): tf.TensorInfo {
  const [tokens, width] = gateUp.shape;
  const hidden = width / 2;
  const count = tokens * hidden;
  const program = elementwiseProgram('LlamaSwiGlu', [tokens, hidden], ['gateUp'], count, 'count : i32, hidden : i32,', code);
  return backend.runWebGPUProgram(program, [gateUp], 'float32', [
    { type: 'int32', data: [count] },
    { type: 'int32', data: [hidden] },
  ]);
}
