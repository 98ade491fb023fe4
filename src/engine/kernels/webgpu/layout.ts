/**
 * Layouts shared by the fused kernels' WGSL programs. The backend generates `_start`, which calls
 * `main(index)` (a flat dispatch layout) with the invocation's global index; programs that give
 * each workgroup one row read the workgroup's flat index instead, which stays right when the
 * backend folds a dispatch wider than the device allows into two or three dimensions.
 */
import type { WebGpuProgram } from './program.ts';

/** WGSL: the flat index of this invocation's workgroup, as an i32. */
export const WORKGROUP_INDEX = 'i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x)';

/** Threads per workgroup of the elementwise programs. */
const ELEMENTWISE_THREADS = 64;

/**
 * One invocation per element of `count` (main's `index`; guard it with `index < count`).
 * The WGSL text is `code`; `key` names everything it depends on.
 */
export function elementwiseProgram(key: string, outputShape: number[], variableNames: string[], count: number, uniforms: string, code: string): WebGpuProgram {
  return {
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(count / ELEMENTWISE_THREADS), 1, 1],
    variableNames,
    uniforms,
    workgroupSize: [ELEMENTWISE_THREADS, 1, 1],
    getUserCode: () => code,
  };
}

/** One workgroup of `threads` per row, `rows` of them (main reads WORKGROUP_INDEX and localIndex). */
export function rowProgram(key: string, outputShape: number[], variableNames: string[], rows: number, threads: number, uniforms: string, code: string): WebGpuProgram {
  return {
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [rows, 1, 1],
    variableNames,
    uniforms,
    workgroupSize: [threads, 1, 1],
    getUserCode: () => code,
  };
}

/**
 * WGSL: a tree reduction of `scratch` (a workgroup array of `threads`, a power of two, filled by
 * every thread) with `op` ('max' or '+'); every thread then reads the result from scratch[0].
 * Called from uniform control flow only (it holds barriers).
 */
export function reduceSnippet(scratch: string, threads: number, op: 'max' | '+'): string {
  const combine = op === 'max' ? `max(${scratch}[lid], ${scratch}[lid + stride])` : `${scratch}[lid] + ${scratch}[lid + stride]`;
  return `
    workgroupBarrier();
    for (var stride = ${threads / 2}; stride > 0; stride = stride / 2) {
      if (lid < stride) { ${scratch}[lid] = ${combine}; }
      workgroupBarrier();
    }`;
}
