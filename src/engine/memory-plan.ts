/**
 * Will this model fit? Decided from the shape and each tensor's storage format before a single
 * weight is read, so a 4 GB download is refused at once rather than failing three minutes in.
 *
 * Device bytes follow what the engine actually allocates: float matrices (f32, and f16 widened)
 * as float32; quantized matrices as packed int32 words plus one float32 scale per 32-block
 * (q8_0: 36 bytes per block, q4_0: 20), a quantized token embedding included (only its looked-up
 * rows are expanded). The key/value cache is preallocated for the whole context in float32.
 */
import { tensorNames, tensorShape } from './checkpoint/checkpoint.ts';
import { headSize, kvDim, type LlamaConfig } from './config.ts';
import { EngineError } from './errors.ts';
import { PREFILL_CHUNK } from './generation-defaults.ts';
import { stackName } from './weights/fused-matrices.ts';

export type StorageFormat = 'f32' | 'f16' | 'q8_0' | 'q4_0';

/** Device bytes per element once uploaded. */
const DEVICE_BYTES_PER_ELEMENT: Record<StorageFormat, number> = { f32: 4, f16: 4, q8_0: 36 / 32, q4_0: 20 / 32 };

export interface PlannedTensor {
  name: string;
  elements: number;
  format: StorageFormat;
}

export interface MemoryLimits {
  /** What the limits are, for messages ("WebGPU adapter", "WebAssembly heap"). */
  label: string;
  /** Memory the backend can hold in total; undefined when the device does not say. */
  totalBytes?: number;
  /** The largest single buffer (WebGPU's maxBufferSize / maxStorageBufferBindingSize). */
  maxBufferBytes?: number;
}

export interface MemoryPlan {
  /** Weights on the backend (device memory, or the heap of a host backend). */
  weightBytes: number;
  kvCacheBytes: number;
  /** Working tensors of one forward pass over `prefillTokens` tokens, the peak estimated. */
  activationBytes: number;
  /** weightBytes + kvCacheBytes + activationBytes: what the backend must hold. */
  backendBytes: number;
  largestBuffer: { name: string; bytes: number };
}

/** Bytes of `elements` values held as `format` on the backend. */
export const deviceBytesOf = (format: StorageFormat, elements: number): number => Math.ceil(elements * DEVICE_BYTES_PER_ELEMENT[format]);
const deviceBytes = (t: PlannedTensor) => deviceBytesOf(t.format, t.elements);

/** Elements of a [rows, cols] matrix once quantized: rows padded with zeros to whole 32-blocks. */
export const paddedElements = (rows: number, cols: number): number => rows * Math.ceil(cols / 32) * 32;

/**
 * Sizes for a model held as `tensors` (names as in HostTensor) at context `config.seqLen`.
 * Matrices that the engine stacks (wq;wk;wv and w1;w3) count as one buffer for the largest-buffer
 * check. The working tensors are those of a forward pass over `prefillTokens` positions: a
 * generation's prompt goes through in chunks of at most PREFILL_CHUNK.
 */
export function planMemory(config: LlamaConfig, tensors: PlannedTensor[], prefillTokens = Math.min(PREFILL_CHUNK, config.seqLen)): MemoryPlan {
  let weightBytes = 0;
  const stacked = new Map<string, number>();
  for (const t of tensors) {
    const bytes = deviceBytes(t);
    weightBytes += bytes;
    const stack = stackName(t.name);
    stacked.set(stack, (stacked.get(stack) ?? 0) + bytes);
  }
  const largest = [...stacked].reduce((a, b) => (b[1] > a[1] ? b : a), ['', 0] as [string, number]);
  // Float32 keys and values for every layer and position.
  const kvCacheBytes = 2 * config.nLayers * config.seqLen * kvDim(config) * 4;
  const cache = { name: 'key/value cache of one layer', bytes: config.seqLen * kvDim(config) * 4 };
  // One block's peak: the residual, the fused qkv and gate/up rows, attention scores per head,
  // and the logits of every prefill position, float32; and the RoPE cos/sin tables.
  const T = prefillTokens;
  const activationBytes =
    4 * T * (2 * config.dim + config.dim + 2 * kvDim(config) + 2 * config.hiddenDim + config.vocabSize) +
    4 * config.nHeads * T * Math.max(T, 1) +
    4 * T * config.nHeads * headSize(config) +
    2 * 4 * config.seqLen * headSize(config);
  const largestBuffer = largest[1] >= cache.bytes ? { name: largest[0], bytes: largest[1] } : cache;
  return {
    weightBytes,
    kvCacheBytes,
    activationBytes,
    backendBytes: weightBytes + kvCacheBytes + activationBytes,
    largestBuffer,
  };
}

export const formatBytes = (n: number): string =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 2 ** 10).toFixed(1)} KiB`;

/** Throws 'out-of-memory' with the figures when the plan exceeds the limits; returns the plan. */
export function assertFits(plan: MemoryPlan, limits: MemoryLimits, model: string): MemoryPlan {
  if (limits.maxBufferBytes !== undefined && plan.largestBuffer.bytes > limits.maxBufferBytes)
    throw new EngineError(
      'out-of-memory',
      `${model}: ${plan.largestBuffer.name} needs one buffer of ${formatBytes(plan.largestBuffer.bytes)}, more than the ${limits.label} allows (${formatBytes(limits.maxBufferBytes)})`,
    );
  if (limits.totalBytes !== undefined && plan.backendBytes > limits.totalBytes)
    throw new EngineError(
      'out-of-memory',
      `${model}: needs ${formatBytes(plan.backendBytes)} (weights ${formatBytes(plan.weightBytes)}, key/value cache ${formatBytes(plan.kvCacheBytes)}, working tensors ${formatBytes(plan.activationBytes)}); the ${limits.label} holds ${formatBytes(limits.totalBytes)}. A smaller quantization or a shorter context would need less.`,
    );
  return plan;
}

/** Every tensor of a llama2.c-style model with one format for matrices (norms stay f32). */
export function uniformTensors(config: LlamaConfig, matrices: StorageFormat): PlannedTensor[] {
  return tensorNames(config).map((name) => {
    const [rows, cols] = tensorShape(name, config);
    if (cols === undefined) return { name, elements: rows, format: 'f32' };
    return { name, elements: matrices === 'f32' ? rows * cols : paddedElements(rows, cols), format: matrices };
  });
}
