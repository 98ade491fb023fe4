import type * as tf from '@tensorflow/tfjs-core';
import { EngineError } from '../../errors.ts';
import type { AttentionAttrs } from '../attention.ts';
import { reduceSnippet, rowProgram, WORKGROUP_INDEX } from './layout.ts';
import { atPosition, POSITION } from './position.ts';
import type { WebGpuBackendLike } from './program.ts';

/** Threads per workgroup, and the positions scored per step. */
const THREADS = 256;
/** Each thread adds up one element of the output: head sizes up to THREADS. */
export const MAX_WEBGPU_HEAD_SIZE = THREADS;
/**
 * Positions whose values a thread loads before adding them up. The sums keep their order; the
 * loads, independent of each other, are in flight together instead of one after another, which
 * bounded a decode step's attention by memory latency.
 */
const UNROLL = 8;

/**
 * One workgroup per (token, query head). The keys are taken THREADS positions at a time, one per
 * thread (its dot product in llama2.c's order, its keys loaded four at a time), with an online
 * softmax (Milakov & Gimelshein 2018): a running maximum and sum, the output accumulators
 * rescaled when the maximum grows. For the values, the threads form THREADS / hs groups of hs,
 * one output element per thread; each group adds up its own contiguous share of the chunk's
 * positions, and the groups' sums are added in order at the end. A decode step's attention is
 * bound by the latency of these walks over positions, which the wide chunk and the shares cut.
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
    let groups = ${THREADS} / hs;
    let group = lid / hs;
    let i = lid % hs;
    var runningMax = -3.0e38;
    var runningSum = 0.0;
    var acc = 0.0;
    let positions = start + uniforms.tokens;
    for (var chunk = 0; chunk < positions; chunk += ${THREADS}) {
      let s = chunk + lid;
      var score = -3.0e38;
      if (s < seen) {
        var dot = 0.0;
        let kAt = kvAt + s * hs;
        var d = 0;
        for (; d + 4 <= hs; d += 4) {
          let k0 = keys[kAt + d]; let k1 = keys[kAt + d + 1]; let k2 = keys[kAt + d + 2]; let k3 = keys[kAt + d + 3];
          dot += q[qAt + d] * k0; dot += q[qAt + d + 1] * k1; dot += q[qAt + d + 2] * k2; dot += q[qAt + d + 3] * k3;
        }
        for (; d < hs; d++) { dot += q[qAt + d] * keys[kAt + d]; }
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
      let share = (n + groups - 1) / groups;
      if (group < groups) {
        var a = acc * rescale;
        let last = min((group + 1) * share, n);
        var p = group * share;
        for (; p + ${UNROLL} <= last; p += ${UNROLL}) {
          let at = kvAt + (chunk + p) * hs + i;
          ${Array.from({ length: UNROLL }, (_, u) => `let v${u} = values[at + ${u} * hs];`).join(' ')}
          ${Array.from({ length: UNROLL }, (_, u) => `a += weights[p + ${u}] * v${u};`).join(' ')}
        }
        for (; p < last; p++) { a += weights[p] * values[kvAt + (chunk + p) * hs + i]; }
        acc = a;
      }
      workgroupBarrier();
    }
    scratch[lid] = acc;
    workgroupBarrier();
    if (workgroup < rows && lid < hs) {
      var total = 0.0;
      for (var g = 0; g < groups; g++) { total += scratch[g * hs + lid]; }
      result[qAt + lid] = total / runningSum;
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
