/**
 * The quantized matrix-vector product (one decoded token) on Llama-2-7B's matrix shapes, beside
 * float32 tf.matMul of the same shape in the same process: milliseconds per call and effective
 * bandwidth (bytes of weights, scales and x read once, over the time).
 *
 * Time per call, two ways:
 *  - wall clock: `repeat` calls queued back to back, then one readback, divided by `repeat` (on
 *    webgpu this includes TF.js's per-call JavaScript cost where that exceeds the GPU's time);
 *  - GPU timestamps (webgpu where the adapter has 'timestamp-query'): tf.time's kernelMs, the
 *    sum of each dispatch's compute-pass time, divided by the number of calls.
 * Bandwidth is computed from GPU time where there is one, otherwise from wall time. Consecutive
 * calls read different copies of the matrix (256 MiB between two reads of one), so the figures
 * are of memory and not of a GPU's L2 cache, which holds the smaller 7B matrices whole.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../engine/backend.ts';
import { BLOCK, type QuantFormat } from '../engine/quant/blocks.ts';
import { quantizedMatMul } from '../engine/kernels/quantized-matmul.ts';
import { checkMatVecTiling, resetMatVecTiling, setMatVecTiling, type MatVecTiling } from '../engine/kernels/webgpu/quantized-matmul.ts';
import { EngineError } from '../engine/errors.ts';
import { randomQuantized, xorshift } from './synthetic-weights.ts';
import { formatTable } from '../cli/table.ts';
import { streamRead } from './stream-read.ts';

export interface MatVecShape {
  /** The 7B weights with this shape (the engine fuses wq;wk;wv and w1;w3). */
  name: string;
  rows: number;
  cols: number;
}

/** Llama-2-7B (dim 4096, hidden 11008, vocab 32000) as the engine multiplies it. */
const SHAPES_7B: MatVecShape[] = [
  { name: 'wo', rows: 4096, cols: 4096 },
  { name: 'wq;wk;wv', rows: 12288, cols: 4096 },
  { name: 'w1;w3', rows: 22016, cols: 4096 },
  { name: 'w2', rows: 4096, cols: 11008 },
  { name: 'classifier', rows: 32000, cols: 4096 },
];

/** `small`: the same shapes an eighth the size each way (for SwiftShader or a quick look). */
export const MATVEC_SHAPES: Record<'7b' | 'small', MatVecShape[]> = {
  '7b': SHAPES_7B,
  small: SHAPES_7B.map((s) => ({ ...s, rows: s.rows / 8, cols: s.cols / 8 })),
};

export interface Timing {
  msPerCall: number;
  gbPerSecond: number;
}

export interface MatVecFigures extends MatVecShape {
  /** Decode tiling on webgpu, as threadsPerRow×rowsPerThread×groups. */
  tiling?: string;
  quantizedBytes: number;
  float32Bytes: number;
  quantizedWall: Timing;
  quantizedGpu?: Timing;
  float32Wall: Timing;
  float32Gpu?: Timing;
  /** A kernel that only reads the packed words (webgpu with timestamps): what reading alone reaches. */
  streamGpu?: Timing;
}

/** Parses "32x4x4" (threadsPerRow × rowsPerThread × groups), with "s" after it for x staged in workgroup memory. */
export function parseTiling(text: string): MatVecTiling {
  const m = /^(\d+)x(\d+)x(\d+)(s?)$/.exec(text);
  if (!m) throw new EngineError('bad-argument', `--tiling: expected threadsPerRow x rowsPerThread x groups such as 32x4x4 (32x4x4s: x staged), got "${text}"`);
  return checkMatVecTiling({ threadsPerRow: Number(m[1]), rowsPerThread: Number(m[2]), groups: Number(m[3]), stagedX: m[4] === 's' });
}

export const formatTiling = (t: MatVecTiling) => `${t.threadsPerRow}x${t.rowsPerThread}x${t.groups}${t.stagedX ? 's' : ''}`;

/** True on webgpu when the device records GPU timestamps (tf.time's kernelMs is then real). */
export function hasGpuTimestamps(): boolean {
  // A private field of the webgpu backend, read structurally: the engine imports no backend.
  return tf.getBackend() === 'webgpu' && (tf.backend() as unknown as { supportTimestampQuery?: boolean }).supportTimestampQuery === true;
}

/** Wall time of `repeat` queued calls, then one readback. */
async function wallMs(call: () => tf.Tensor, repeat: number): Promise<number> {
  let last: tf.Tensor | undefined;
  const t0 = performance.now();
  for (let i = 0; i < repeat; i++) {
    last?.dispose();
    last = call();
  }
  await last!.data();
  const ms = performance.now() - t0;
  last!.dispose();
  return ms / repeat;
}

/** GPU time of one call, from timestamps over `repeat` calls. */
async function gpuMs(call: () => tf.Tensor, repeat: number): Promise<number> {
  const info = await tf.time(() => {
    for (let i = 0; i < repeat; i++) call().dispose();
  });
  if (typeof info.kernelMs !== 'number') throw new EngineError('backend-unavailable', `GPU timestamps: ${info.kernelMs.error}`);
  return info.kernelMs / repeat;
}

/** Bytes read between two reads of one copy of a matrix: more than any GPU's L2 cache (H100: 50 MB). */
const CYCLE_BYTES = 256 * 2 ** 20;

/** Copies of a matrix of `bytes` to cycle through (at most 32). */
const copiesFor = (bytes: number) => Math.min(32, Math.ceil(CYCLE_BYTES / bytes));

/** GB/s with three significant figures, whole numbers from 100 up. */
const gbps = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));

const timing = (ms: number, bytes: number): Timing => ({ msPerCall: ms, gbPerSecond: bytes / (ms * 1e6) });

/**
 * Times one shape: the quantized kernel under each tiling (webgpu) and float32 tf.matMul with the
 * engine's dense layout, x [1, cols] · Wᵀ [cols, rows].
 */
export async function benchShape(format: QuantFormat, shape: MatVecShape, repeat: number, tilings: MatVecTiling[]): Promise<MatVecFigures[]> {
  const { rows, cols } = shape;
  const m = randomQuantized(format, rows, cols, xorshift(rows + cols));
  const quantizedBytes = (m.words.length + m.scales.length + cols) * 4;
  const float32Bytes = (rows * cols + cols) * 4;
  // Calls cycle through copies of the matrix, so each reads its weights from memory and not from
  // a cache the previous call filled (a matrix smaller than the L2 would otherwise seem faster).
  const packed = Array.from({ length: copiesFor(quantizedBytes) }, () => ({ words: tf.tensor1d(m.words, 'int32'), scales: tf.tensor1d(m.scales) }));
  const wts = Array.from({ length: copiesFor(float32Bytes) }, (_, i) => tf.randomUniform([cols, rows], -0.03, 0.03, 'float32', 2 + i) as tf.Tensor2D);
  const x = tf.randomUniform([1, cols], -1, 1, 'float32', 1) as tf.Tensor2D;
  const gpu = hasGpuTimestamps();
  const attrs = { format, rows, cols };
  let calls = 0;
  const quantized = () => {
    const { words, scales } = packed[calls++ % packed.length];
    return quantizedMatMul(x, words, scales, attrs);
  };
  const dense = () => tf.matMul(x, wts[calls++ % wts.length]);
  const measure = async (product: () => tf.Tensor, bytes: number) => {
    await wallMs(product, Math.max(packed.length, wts.length)); // compiles the pipeline, uploads every copy
    return { wall: timing(await wallMs(product, repeat), bytes), gpu: gpu ? timing(await gpuMs(product, repeat), bytes) : undefined };
  };
  const stream = () => streamRead(packed[calls++ % packed.length].words);
  try {
    const f32 = await measure(dense, float32Bytes);
    const streamGpu = gpu ? (await measure(stream, m.words.length * 4)).gpu : undefined;
    const figures: MatVecFigures[] = [];
    try {
      for (const tiling of tf.getBackend() === 'webgpu' ? tilings : [undefined]) {
        if (tiling) setMatVecTiling(tiling);
        const q = await measure(quantized, quantizedBytes);
        figures.push({
          ...shape,
          tiling: tiling && formatTiling(tiling),
          quantizedBytes,
          float32Bytes,
          quantizedWall: q.wall,
          quantizedGpu: q.gpu,
          float32Wall: f32.wall,
          float32Gpu: f32.gpu,
          streamGpu,
        });
      }
    } finally {
      resetMatVecTiling();
    }
    return figures;
  } finally {
    tf.dispose([x, ...wts, ...packed.flatMap((p) => [p.words, p.scales])]);
  }
}

export interface MatVecBench {
  backend: BackendName;
  format: QuantFormat;
  repeat: number;
  timing: 'gpu timestamps' | 'wall clock';
  figures: MatVecFigures[];
}

export async function benchQuantizedMatVec(backend: BackendName, format: QuantFormat, shapes: MatVecShape[], repeat: number, tilings: MatVecTiling[]): Promise<MatVecBench> {
  for (const s of shapes) if (s.cols % BLOCK !== 0) throw new EngineError('bad-argument', `${s.name}: ${s.cols} columns is not a multiple of ${BLOCK}`);
  const figures: MatVecFigures[] = [];
  for (const shape of shapes) figures.push(...(await benchShape(format, shape, repeat, tilings)));
  return { backend, format, repeat, timing: hasGpuTimestamps() ? 'gpu timestamps' : 'wall clock', figures };
}

/** The figures as a table: quantized and float32 side by side, GPU time where there is one. */
export function matVecTable({ backend, format, timing, figures }: MatVecBench): string {
  const gpu = timing === 'gpu timestamps';
  const ms = gpu ? 'GPU ms' : 'ms';
  const header = ['matrix', ...(backend === 'webgpu' ? ['tiling'] : []), `${format} MB`, `${format} ${ms}`, `${format} GB/s`];
  header.push(...(gpu ? [`${format} wall ms`] : []), `f32 ${ms}`, 'f32 GB/s', 'f32 / q time', ...(gpu ? ['read-only GB/s'] : []));
  const rows = figures.map((f) => {
    const q = f.quantizedGpu ?? f.quantizedWall;
    const d = f.float32Gpu ?? f.float32Wall;
    return [
      `${f.name} ${f.rows}x${f.cols}`,
      ...(f.tiling ? [f.tiling] : []),
      (f.quantizedBytes / 1e6).toFixed(1),
      q.msPerCall.toFixed(3),
      gbps(q.gbPerSecond),
      ...(gpu ? [f.quantizedWall.msPerCall.toFixed(3)] : []),
      d.msPerCall.toFixed(3),
      gbps(d.gbPerSecond),
      (d.msPerCall / q.msPerCall).toFixed(2),
      ...(gpu ? [f.streamGpu ? gbps(f.streamGpu.gbPerSecond) : '-'] : []),
    ];
  });
  return formatTable(header, rows);
}

/** The tiling with the least total time over all shapes (GPU time where there is one). */
export function fastestTiling({ figures }: MatVecBench): string | undefined {
  const total = new Map<string, number>();
  for (const f of figures) if (f.tiling) total.set(f.tiling, (total.get(f.tiling) ?? 0) + (f.quantizedGpu ?? f.quantizedWall).msPerCall);
  return [...total].sort((a, b) => a[1] - b[1])[0]?.[0];
}
