import type * as tf from '@tensorflow/tfjs-core';
import type { RopeQkvAttrs } from '../rope.ts';
import { elementwiseProgram } from './layout.ts';
import { atPosition, POSITION } from './position.ts';
import type { WebGpuBackendLike } from './program.ts';

/**
 * One invocation per output element of q, k or v ([tokens, heads, hs]), read from columns
 * firstColumn..firstColumn+heads·hs of the fused [tokens, width] rows. Rotated: element i of a pair turns with
 * its partner (i ^ 1) by the signed tables' row for the token's position (see layers/rope.ts).
 */
const code = (rotate: boolean) => `
  fn main(index : i32) {
    if (index < uniforms.count) {
      let t = index / uniforms.headsWidth;
      let within = index % uniforms.headsWidth;
      let src = t * uniforms.width + uniforms.firstColumn + within;
      ${
        rotate
          ? `let i = within % uniforms.hs;
      let partner = select(src - 1, src + 1, i % 2 == 0);
      let table = (${POSITION} + t) * uniforms.hs + i;
      result[index] = qkv[src] * cosTable[table] + qkv[partner] * sinTable[table];`
          : 'result[index] = qkv[src];'
      }
    }
  }`;

const UNIFORMS = 'count : i32, headsWidth : i32, width : i32, firstColumn : i32, hs : i32,';

/**
 * q and k rotated, v copied: one launch per output, since a program writes one buffer and
 * TF.js has no view of part of one (a slice is itself a launch).
 */
export function ropeQkvWebGpu(
  backend: WebGpuBackendLike,
  { qkv, cos, sin, position }: Record<string, tf.TensorInfo>,
  { start, nHeads, nKvHeads }: RopeQkvAttrs,
): tf.TensorInfo[] {
  return atPosition(backend, position, start, (at) => ropeAt(backend, qkv, cos, sin, at, nHeads, nKvHeads));
}

function ropeAt(backend: WebGpuBackendLike, qkv: tf.TensorInfo, cos: tf.TensorInfo, sin: tf.TensorInfo, position: tf.TensorInfo, nHeads: number, nKvHeads: number): tf.TensorInfo[] {
  const [tokens, width] = qkv.shape;
  const hs = width / (nHeads + 2 * nKvHeads);
  const part = (from: number, heads: number, rotate: boolean) => {
    const count = tokens * heads * hs;
    const program = rotate
      ? elementwiseProgram('LlamaRopeQkv-rotate', [tokens, heads, hs], ['qkv', 'cosTable', 'sinTable', 'position'], count, UNIFORMS, code(true))
      : elementwiseProgram('LlamaRopeQkv-copy', [tokens, heads, hs], ['qkv'], count, UNIFORMS, code(false));
    return backend.runWebGPUProgram(program, rotate ? [qkv, cos, sin, position] : [qkv], 'float32', [
      { type: 'int32', data: [count] },
      { type: 'int32', data: [heads * hs] },
      { type: 'int32', data: [width] },
      { type: 'int32', data: [from] },
      { type: 'int32', data: [hs] },
    ]);
  };
  return [part(0, nHeads, true), part(nHeads * hs, nKvHeads, true), part((nHeads + nKvHeads) * hs, nKvHeads, false)];
}
