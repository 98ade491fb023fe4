/**
 * Each fused kernel's WGSL program (webgpu backend; SwiftShader without a GPU) against the cpu
 * kernel on the same random inputs.
 *
 * Tolerances. The cpu kernels compute in float32 in llama2.c's order; the WGSL programs compute
 * in float32 too, but reduce in parallel (RMSNorm's sum of squares as a tree; attention's
 * softmax as an online softmax over chunks of 256 positions, rescaling its sums, its values
 * added in shares per group of threads), may contract a product and a sum into one fma, and
 * WGSL's exp may be several ulps off (the spec allows 3 + 2|x| ulp). A sum of n float32 terms in
 * two orders differs by about √n·u of Σ|terms| (u = 2⁻²⁴ ≈ 6e-8), at most n·u; the sums here
 * have n ≤ 300 terms (√n·u ≈ 1e-6), so results agree to a few 1e-6 of their scale. We allow 2e-5 of each output's scale (max |value|), ten times
 * that bound and far below what changes a token (observed on SwiftShader: 4.3e-7 attention,
 * 1.9e-7 RMSNorm, 1.1e-7 SwiGLU, RoPE exact). RoPE is two products and one sum per element
 * (one fma at most): 1e-6. The KV write copies: exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { attention, ATTENTION } from '../../src/engine/kernels/attention.ts';
import { KV_WRITE, kvWrite, ROPE_KV_WRITE, ropeKvWrite } from '../../src/engine/kernels/kv-write.ts';
import { hasKernel } from '../../src/engine/kernels/registry.ts';
import { RMS_NORM, rmsNorm } from '../../src/engine/kernels/rms-norm.ts';
import { ROPE_QKV, ropeQkv } from '../../src/engine/kernels/rope.ts';
import { SWIGLU, swiGlu } from '../../src/engine/kernels/swiglu.ts';
import { webGpuKernelNames } from '../../src/engine/kernels/webgpu/program.ts';
import { RopePositions, ropeTables } from '../../src/engine/layers/rope.ts';
import { createKVCache, InPlaceKVCache } from '../../src/engine/kv-cache.ts';
import { onBackend } from '../support/engine.ts';
import { prng } from '../support/random.ts';
import { tinyConfig } from '../support/tiny-config.ts';

const TOL = 2e-5;
const ROPE_TOL = 1e-6;

/** Uniform random values in [-scale, scale), reproducible from the seed. */
function random(n: number, seed: number, scale = 1): Float32Array {
  const next = prng(seed);
  return Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
}

/** Runs f on cpu and then on webgpu (each output read back), with the fused kernel registered on both. */
async function onCpuAndWebGpu(kernel: string, f: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Float32Array[]; gpu: Float32Array[] }> {
  const run = async (backend: 'cpu' | 'webgpu') => {
    await onBackend(backend);
    expect(hasKernel(kernel)).toBe(true);
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    const data = await Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
    const shapes = list.map((t) => t.shape);
    tf.dispose(list);
    return { data, shapes };
  };
  const cpu = await run('cpu');
  const gpu = await run('webgpu');
  expect(gpu.shapes).toEqual(cpu.shapes);
  return { cpu: cpu.data, gpu: gpu.data };
}

/** Worst |gpu − cpu| over all outputs, relative to each output's scale (max |cpu value|). */
function worstError(cpu: Float32Array[], gpu: Float32Array[]): number {
  let worst = 0;
  cpu.forEach((expected, o) => {
    const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expected.forEach((v, i) => (worst = Math.max(worst, Math.abs(gpu[o][i] - v) / scale)));
  });
  return worst;
}

const config = tinyConfig;

describe('fused kernels in WGSL (webgpu) against the cpu kernels', () => {
  beforeAll(() => onBackend('webgpu'));
  afterAll(() => onBackend('cpu'));

  it('registers every fused forward kernel for webgpu', () => {
    expect(webGpuKernelNames).toEqual(expect.arrayContaining([RMS_NORM, SWIGLU, ROPE_QKV, ATTENTION, KV_WRITE, ROPE_KV_WRITE]));
  });

  it('RMSNorm: rows wider than a workgroup, rank 2 and 3', async () => {
    const dim = 200; // > 128 threads: each thread sums several elements
    const w = random(dim, 1, 1.5);
    for (const shape of [[3, dim], [2, 1, dim]]) {
      const x = random(shape.reduce((n, d) => n * d, 1), 2, 3);
      const { cpu, gpu } = await onCpuAndWebGpu(RMS_NORM, () => rmsNorm(tf.tensor(x, shape), tf.tensor1d(w), 1e-5));
      expect(worstError(cpu, gpu)).toBeLessThanOrEqual(TOL);
    }
  });

  it('SwiGLU', async () => {
    const hidden = 172;
    const gateUp = random(3 * 2 * hidden, 3, 4);
    const { cpu, gpu } = await onCpuAndWebGpu(SWIGLU, () => swiGlu(tf.tensor2d(gateUp, [3, 2 * hidden])));
    expect(worstError(cpu, gpu)).toBeLessThanOrEqual(TOL);
  });

  it('RoPE on the fused qkv rows: q, k rotated, v copied, with and without GQA', async () => {
    for (const [nHeads, nKvHeads] of [
      [8, 4],
      [8, 8],
    ]) {
      const c = config({ nHeads, nKvHeads });
      const hs = c.dim / nHeads;
      const qkv = random(3 * (nHeads + 2 * nKvHeads) * hs, 4);
      const { cpu, gpu } = await onCpuAndWebGpu(ROPE_QKV, () => {
        const { q, k, v } = ropeQkv(tf.tensor2d(qkv, [3, (nHeads + 2 * nKvHeads) * hs]), new RopePositions(ropeTables(c), 7, 3), nHeads, nKvHeads);
        return [q, k, v];
      });
      expect(worstError(cpu.slice(0, 2), gpu.slice(0, 2))).toBeLessThanOrEqual(ROPE_TOL);
      expect(gpu[2]).toEqual(cpu[2]);
    }
  });

  // GQA 4/2; caches longer than the 256 positions scored per step, rows past the last position
  // filled with values that must not count. Head size 96: two groups of threads share each chunk's
  // values and 64 threads idle; 16: sixteen groups, most with a handful of positions or none.
  for (const [label, hs, tokens, start] of [
    ['decode, one token after 269', 96, 1, 269],
    ['decode, one token after 269, head size 16', 16, 1, 269],
    ['decode at position 0', 96, 1, 0],
    ['prefill from 0 (causal)', 96, 7, 0],
    ['prefill after 254 positions, across a chunk boundary', 96, 5, 254],
  ] as const) {
    it(`attention: ${label}`, async () => {
      const [heads, kvHeads, capacity] = [4, 2, 300];
      const q = random(tokens * heads * hs, 5, 2);
      const keys = random(kvHeads * capacity * hs, 6);
      const values = random(kvHeads * capacity * hs, 7);
      for (let h = 0; h < kvHeads; h++) keys.fill(50, (h * capacity + start + tokens) * hs, (h + 1) * capacity * hs);
      const { cpu, gpu } = await onCpuAndWebGpu(ATTENTION, () =>
        attention(tf.tensor3d(q, [tokens, heads, hs]), tf.tensor3d(keys, [kvHeads, capacity, hs]), tf.tensor3d(values, [kvHeads, capacity, hs]), start),
      );
      expect(worstError(cpu, gpu)).toBeLessThanOrEqual(TOL);
    });
  }

  it('KV write: the new rows land in place, in the buffers passed in', async () => {
    const [kvHeads, capacity, hs, tokens, start] = [2, 9, 8, 3, 4];
    const buffers = [random(kvHeads * capacity * hs, 8), random(kvHeads * capacity * hs, 9)];
    const rows = [random(tokens * kvHeads * hs, 10), random(tokens * kvHeads * hs, 11)];
    const { cpu, gpu } = await onCpuAndWebGpu(KV_WRITE, () => {
      const [keys, values] = buffers.map((b) => tf.tensor3d(b.slice(), [kvHeads, capacity, hs])); // cpu would write into b itself
      kvWrite(keys, values, tf.tensor3d(rows[0], [tokens, kvHeads, hs]), tf.tensor3d(rows[1], [tokens, kvHeads, hs]), start);
      return [keys, values]; // the inputs' own handles: written in place, not copied
    });
    expect(gpu).toEqual(cpu);
    expect(cpu[0]).not.toEqual(buffers[0]);
    expect(createKVCache(config({}))).toBeInstanceOf(InPlaceKVCache);
  });

  it('RoPE into the cache: the queries and the written keys as the cpu kernel (within RoPE\'s bound), the values exactly', async () => {
    const [nHeads, nKvHeads, capacity, tokens, start] = [8, 2, 11, 3, 6];
    const c = config({ nHeads, nKvHeads, seqLen: capacity });
    const hs = c.dim / nHeads;
    const qkv = random(tokens * (nHeads + 2 * nKvHeads) * hs, 14);
    const buffers = [random(nKvHeads * capacity * hs, 15), random(nKvHeads * capacity * hs, 16)];
    const { cpu, gpu } = await onCpuAndWebGpu(ROPE_KV_WRITE, () => {
      const [keys, values] = buffers.map((b) => tf.tensor3d(b.slice(), [nKvHeads, capacity, hs]));
      const [q] = ropeKvWrite(keys, values, tf.tensor2d(qkv, [tokens, (nHeads + 2 * nKvHeads) * hs]), new RopePositions(ropeTables(c), start, tokens), nHeads, nKvHeads);
      return [q, keys, values]; // the buffers' own handles: written in place
    });
    expect(worstError(cpu.slice(0, 2), gpu.slice(0, 2))).toBeLessThanOrEqual(ROPE_TOL);
    expect(gpu[2]).toEqual(cpu[2]);
    // Rows outside the written positions keep their values.
    expect(gpu[1].subarray(0, start * hs)).toEqual(buffers[0].subarray(0, start * hs));
    expect(cpu[1]).not.toEqual(buffers[0]);
  });

  it('an in-place cache makes its zeroed buffers on the device: only the new rows come from the host', async () => {
    await onBackend('webgpu');
    const c = config({ seqLen: 2048 });
    const hs = c.dim / c.nHeads;
    const bufferBytes = c.nKvHeads * c.seqLen * hs * 4;
    const rows = [random(c.nKvHeads * hs, 12), random(c.nKvHeads * hs, 13)].map((r) => tf.tensor3d(r, [1, c.nKvHeads, hs]));
    const cache = new InPlaceKVCache(c);
    const { bytes, result } = hostBytesToDevice(() => cache.append(0, rows[0], rows[1]));
    // Built from host zeros, the two buffers alone would be 2 × 256 KiB; the new rows and the
    // kernel's uniforms are a few hundred bytes.
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(bufferBytes / 16);
    const keys = (await result.keys.data()) as Float32Array;
    const expected = new Float32Array(keys.length);
    for (let h = 0; h < c.nKvHeads; h++) expected.set(random(c.nKvHeads * hs, 12).subarray(h * hs, (h + 1) * hs), h * c.seqLen * hs);
    expect(keys).toEqual(expected);
    tf.dispose(rows);
    cache.dispose();
  });
});

/**
 * Bytes `f` sends from the host to the webgpu device: the queue's writeBuffer calls (uniforms)
 * and the buffers mapped at creation (TF.js's uploads of tensor values).
 */
function hostBytesToDevice<T>(f: () => T): { bytes: number; result: T } {
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  const { createBuffer } = device;
  const { writeBuffer } = device.queue;
  let bytes = 0;
  device.createBuffer = (d: GPUBufferDescriptor) => {
    if (d.mappedAtCreation) bytes += d.size;
    return createBuffer.call(device, d);
  };
  device.queue.writeBuffer = (buffer: GPUBuffer, offset: number, data: BufferSource | SharedArrayBuffer, dataOffset?: number, size?: number) => {
    bytes += size ?? data.byteLength;
    return writeBuffer.call(device.queue, buffer, offset, data as BufferSource, dataOffset, size);
  };
  try {
    const result = f();
    return { bytes, result };
  } finally {
    device.createBuffer = createBuffer;
    device.queue.writeBuffer = writeBuffer;
  }
}
