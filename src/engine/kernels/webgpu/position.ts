/**
 * The programs that depend on where a step is (RoPE, the KV write, attention) read its first
 * position from a one-element int32 input, `position`, not from a uniform: a recorded decode
 * step (step-recording.ts) then runs at the next position after one write to that buffer.
 * The forward pass passes its position tensor (RopePositions.tensor); other callers give only
 * `start`, and a buffer is made for the one launch.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { WebGpuBackendLike } from './program.ts';

/** WGSL: the position of the step's first token. */
export const POSITION = 'position[0]';

export function atPosition<R>(backend: WebGpuBackendLike, position: tf.TensorInfo | undefined, start: number, run: (position: tf.TensorInfo) => R): R {
  if (position) return run(position);
  const made = backend.makeTensorInfo([1], 'int32', new Int32Array([start]));
  try {
    return run(made);
  } finally {
    backend.disposeData(made.dataId);
  }
}
