/**
 * The parts of TF.js's webgpu backend that custom WGSL kernels use, as structural types (the
 * engine never imports a backend module: a page downloads only the backend it runs on).
 * A program is WGSL for `main` plus its layout; the backend binds inputs in `variableNames`
 * order as storage buffers (`x`, `words`, ...), the output as `result`, and the uniforms
 * declared in `uniforms` as fields of `uniforms` (see tfjs-backend-webgpu's webgpu_program.ts).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface WebGpuProgram {
  outputShape: number[];
  /** Identifies the compiled pipeline: everything the WGSL text depends on. */
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  /** Per input, the vector width of its WGSL array (4: array<vec4<f32>> or array<vec4<i32>>); default 1. */
  variableComponents?: number[];
  /** WGSL field list, e.g. 'rows : i32, cols : i32,'. */
  uniforms?: string;
  workgroupSize: [number, number, number];
  /** Declares `size` (the output's element count) among the uniforms. */
  size?: boolean;
  getUserCode(): string;
}

export type ProgramUniform = { type: 'int32' | 'float32' | 'uint32'; data: number[] }[];

export interface WebGpuBackendLike {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    programUniforms?: ProgramUniform,
    output?: tf.TensorInfo,
  ): tf.TensorInfo;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array | Int32Array): tf.TensorInfo;
  /** Another reference to a buffer (as Reshape takes): for an output written in place. */
  incRef(dataId: object): void;
  disposeData(dataId: object): void;
}

/** Names of the kernels with a WGSL implementation (for tests and benchmarks). */
export const webGpuKernelNames: string[] = [];

/** Registers a WGSL kernel for the webgpu backend (whether or not that backend is loaded yet). */
export function registerWebGpuKernel<A>(
  kernelName: string,
  fn: (backend: WebGpuBackendLike, inputs: Record<string, tf.TensorInfo>, attrs: A) => tf.TensorInfo | tf.TensorInfo[],
): void {
  webGpuKernelNames.push(kernelName);
  tf.registerKernel({
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) =>
      fn(backend as unknown as WebGpuBackendLike, inputs as Record<string, tf.TensorInfo>, attrs as A),
  });
}
