/**
 * The read bandwidth a WGSL kernel reaches on this device through TF.js and WebGPU: a kernel
 * that only streams a buffer (16-byte loads, each thread striding over the whole grid, one XOR
 * per load), timed on the same bytes as the quantized matvec: a reference for what reading alone
 * reaches on this path, beside the card's nominal bandwidth and a stock TF.js copy.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGpuBackendLike, WebGpuProgram } from '../engine/kernels/webgpu/program.ts';

const WORKGROUP = 256;
/** Enough threads to keep every multiprocessor of a large GPU full (H100: 132 × 2048). */
const WORKGROUPS = 2048;

class StreamReadProgram implements WebGpuProgram {
  outputShape = [WORKGROUP * WORKGROUPS];
  shaderKey = 'benchStreamRead';
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number] = [WORKGROUPS, 1, 1];
  variableNames = ['words'];
  variableComponents = [4];
  uniforms = 'vec4s : i32,';
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];

  getUserCode(): string {
    return `
      fn main(index : i32) {
        var acc = vec4<i32>(0);
        for (var i = index; i < uniforms.vec4s; i += ${WORKGROUP * WORKGROUPS}) { acc ^= words[i]; }
        result[index] = f32(acc.x ^ acc.y ^ acc.z ^ acc.w);
      }`;
  }
}

/** Reads every word of an int32 tensor (its length a multiple of 4) once; webgpu only. */
export function streamRead(words: tf.Tensor): tf.Tensor {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const info = backend.runWebGPUProgram(new StreamReadProgram(), [words], 'float32', [{ type: 'int32', data: [words.size / 4] }]);
  return tf.engine().makeTensorFromTensorInfo(info);
}
