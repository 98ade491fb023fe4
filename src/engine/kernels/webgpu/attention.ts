import type * as tf from '@tensorflow/tfjs-core';
import { EngineError } from '../../errors.ts';
import type { AttentionAttrs } from '../attention.ts';
import { reduceSnippet, rowProgram, WORKGROUP_INDEX } from './layout.ts';
import { atPosition, POSITION } from './position.ts';
import type { WebGpuBackendLike } from './program.ts';

/** Threads per workgroup, and the positions scored per step. */
const THREADS = 64;
/** Output elements per thread: head sizes up to THREADS · PER_THREAD. */
const PER_THREAD = 4;
export const MAX_WEBGPU_HEAD_SIZE = THREADS * PER_THREAD;
/**
 * Positions whose values a thread loads before adding them up. The sums keep their order (the
 * result is unchanged); the loads, independent of each other, are in flight together instead
 * of one after another, which bounded a decode step's attention by memory latency.
 */
const UNROLL = 8;

/**
 * One workgroup per (token, query head). The keys are taken THREADS positions at a time, one per
 * thread (its dot product in llama2.c's order, its keys loaded four at a time), with an online softmax (Milakov & Gimelshein
 * 2018): a running maximum and sum, the output accumulators rescaled when the maximum grows.
 * Positions a query may not see (causal mask) weigh zero. Every workgroup walks the positions
 * of the last query, a bound the same for all (barriers need uniform control flow).
 */
const code = `
  var<workgroup> weights : array<f32, ${THREADS}>;
  var<workgroup> scratch : array<f32, ${THREADS}>;
  fn main(index : i32) {
    let lid = i32(localIndex);
    let hs = uniforms.hs;
    let heads = uniforms.heads;
    let rows = uniforms.tokens * heads;
    let workgroup = ${WORKGROUP_INDEX};
    let row = min(workgroup, rows - 1);
    let t = row / heads;
    let start = ${POSITION};
    let seen = start + t + 1;
    let kvAt = (row % heads) / (heads / uniforms.kvHeads) * uniforms.capacity * hs;
    let qAt = row * hs;
    let scale = sqrt(f32(hs));
    var runningMax = -3.0e38;
    var runningSum = 0.0;
    var acc : array<f32, ${PER_THREAD}>;
    let positions = start + uniforms.tokens;
    for (var chunk = 0; chunk < positions; chunk += ${THREADS}) {
      let s = chunk + lid;
      var score = -3.0e38;
      if (s < seen) {
        var dot = 0.0;
        let kAt = kvAt + s * hs;
        var i = 0;
        for (; i + 4 <= hs; i += 4) {
          let k0 = keys[kAt + i]; let k1 = keys[kAt + i + 1]; let k2 = keys[kAt + i + 2]; let k3 = keys[kAt + i + 3];
          dot += q[qAt + i] * k0; dot += q[qAt + i + 1] * k1; dot += q[qAt + i + 2] * k2; dot += q[qAt + i + 3] * k3;
        }
        for (; i < hs; i++) { dot += q[qAt + i] * keys[kAt + i]; }
        score = dot / scale;
      }
      scratch[lid] = score;
      ${reduceSnippet('scratch', THREADS, 'max')}
      let newMax = max(runningMax, scratch[0]);
      workgroupBarrier();
      var w = 0.0;
      if (s < seen) { w = exp(score - newMax); }
      weights[lid] = w;
      scratch[lid] = w;
      ${reduceSnippet('scratch', THREADS, '+')}
      let rescale = exp(runningMax - newMax);
      runningSum = runningSum * rescale + scratch[0];
      runningMax = newMax;
      let n = min(${THREADS}, seen - chunk);
      for (var j = 0; j < ${PER_THREAD}; j++) {
        let i = lid + j * ${THREADS};
        if (i < hs) {
          var a = acc[j] * rescale;
          var p = 0;
          for (; p + ${UNROLL} <= n; p += ${UNROLL}) {
            let at = kvAt + (chunk + p) * hs + i;
            ${Array.from({ length: UNROLL }, (_, u) => `let v${u} = values[at + ${u} * hs];`).join(' ')}
            ${Array.from({ length: UNROLL }, (_, u) => `a += weights[p + ${u}] * v${u};`).join(' ')}
          }
          for (; p < n; p++) { a += weights[p] * values[kvAt + (chunk + p) * hs + i]; }
          acc[j] = a;
        }
      }
      workgroupBarrier();
    }
    if (workgroup < rows) {
      for (var j = 0; j < ${PER_THREAD}; j++) {
        let i = lid + j * ${THREADS};
        if (i < hs) { result[qAt + i] = acc[j] / runningSum; }
      }
    }
  }`;

/**
 * Causal GQA attention of q [tokens, heads, hs] at positions start.. over a cache
 * [kvHeads, capacity, hs], in one launch, for decode and prefill alike. Training (exact: false)
 * runs the same program; the gradient recomputes the probabilities in stock ops on this backend.
 */
export function attentionWebGpu(backend: WebGpuBackendLike, { q, keys, values, position }: Record<string, tf.TensorInfo>, { start }: AttentionAttrs): tf.TensorInfo {
  return atPosition(backend, position, start, (at) => attend(backend, q, keys, values, at));
}

function attend(backend: WebGpuBackendLike, q: tf.TensorInfo, keys: tf.TensorInfo, values: tf.TensorInfo, position: tf.TensorInfo): tf.TensorInfo {
  const [tokens, heads, hs] = q.shape;
  const [kvHeads, capacity] = keys.shape;
  if (hs > MAX_WEBGPU_HEAD_SIZE)
    throw new EngineError('backend-unavailable', `WebGPU attention handles heads of up to ${MAX_WEBGPU_HEAD_SIZE} values, not ${hs}`);
  const program = rowProgram(
    'LlamaAttention',
    [tokens, heads * hs],
    ['q', 'keys', 'values', 'position'],
    tokens * heads,
    THREADS,
    'tokens : i32, heads : i32, kvHeads : i32, hs : i32, capacity : i32,',
    code,
  );
  return backend.runWebGPUProgram(
    program,
    [q, keys, values, position],
    'float32',
    [tokens, heads, kvHeads, hs, capacity].map((n) => ({ type: 'int32' as const, data: [n] })),
  );
}
