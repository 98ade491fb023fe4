import type * as tf from '@tensorflow/tfjs-core';
import type { RopeQkvAttrs } from '../rope.ts';
import { elementwiseProgram } from './layout.ts';
import { atPosition, POSITION } from './position.ts';
import type { WebGpuBackendLike } from './program.ts';

/**
 * WGSL: element `src` of `x` rotated with its pair partner (src ^ 1 within the head) by the
 * signed tables' row for token `t`'s position (see layers/rope.ts); `i` is its index within the
 * head. Reads the inputs cosTable and sinTable and the uniform hs.
 */
export const rotatedElement = (x: string, src: string, i: string, t: string): string => {
  const table = `(${POSITION} + ${t}) * uniforms.hs + (${i})`;
  return `${x}[${src}] * cosTable[${table}] + ${x}[select(${src} - 1, ${src} + 1, (${i}) % 2 == 0)] * sinTable[${table}]`;
};

/**
 * One invocation per output element of q, k or v ([tokens, heads, hs]), read from columns
 * firstColumn..firstColumn+heads·hs of the fused [tokens, width] rows, rotated or copied.
 */
const code = (rotate: boolean) => `
  fn main(index : i32) {
    if (index < uniforms.count) {
      let t = index / uniforms.headsWidth;
      let within = index % uniforms.headsWidth;
      let src = t * uniforms.width + uniforms.firstColumn + within;
      result[index] = ${rotate ? rotatedElement('qkv', 'src', 'within % uniforms.hs', 't') : 'qkv[src]'};
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
  return atPosition(backend, position, start, (at) => {
    const hs = qkv.shape[1] / (nHeads + 2 * nKvHeads);
    const part = (from: number, heads: number, rotate: boolean) => ropeColumns(backend, { qkv, cos, sin, position: at }, from, heads, rotate);
    return [part(0, nHeads, true), part(nHeads * hs, nKvHeads, true), part((nHeads + nKvHeads) * hs, nKvHeads, false)];
  });
}

/** Heads `heads` of the fused rows from column `from`, [tokens, heads, hs], rotated (by the position in `position`) or copied. */
export function ropeColumns(backend: WebGpuBackendLike, { qkv, cos, sin, position }: Record<string, tf.TensorInfo>, from: number, heads: number, rotate: boolean): tf.TensorInfo {
  const [tokens, width] = qkv.shape;
  const hs = cos.shape[1];
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
}
