/**
 * Random weights of a given shape, made tensor by tensor as a loader would hand them over, so a
 * Llama-2-7B-shaped model runs without downloading one. Quantized matrices are drawn directly as
 * packed blocks (random integers and half-precision scales), never as float32 first: a 7B at q4_0
 * is then 3.7 GB of host memory at its peak one matrix at a time. Scales are sized so each
 * weight's standard deviation is about 0.02 (as in Llama's initialisation) and activations stay
 * finite through 32 layers.
 */
import { tensorNames, tensorShape } from '../engine/checkpoint/checkpoint.ts';
import type { LlamaConfig } from '../engine/config.ts';
import { BLOCK, WORDS_PER_BLOCK, type QuantFormat, type QuantizedMatrix } from '../engine/quant/blocks.ts';
import { roundToFloat16 } from '../engine/quant/float16.ts';
import type { HostTensor } from '../engine/weights/host-tensor.ts';

export type SyntheticFormat = 'f32' | QuantFormat;

const WEIGHT_STD = 0.02;
/** Standard deviation of the block integers: uniform bytes (q8_0) and uniform nibbles − 8 (q4_0). */
const INTEGER_STD: Record<QuantFormat, number> = { q8_0: Math.sqrt((256 ** 2 - 1) / 12), q4_0: Math.sqrt((16 ** 2 - 1) / 12) };

/** xorshift32: fast, seedable, good enough for filler weights. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function randomFloat(rows: number, cols: number, next: () => number): Float32Array {
  const out = new Float32Array(rows * cols);
  const a = WEIGHT_STD * Math.sqrt(3); // uniform on [−a, a] has standard deviation 0.02
  for (let i = 0; i < out.length; i++) out[i] = (next() / 2 ** 32 - 0.5) * 2 * a;
  return out;
}

export function randomQuantized(format: QuantFormat, rows: number, cols: number, next: () => number): QuantizedMatrix {
  const blocks = (rows * cols) / BLOCK;
  const words = new Int32Array(blocks * WORDS_PER_BLOCK[format]);
  for (let i = 0; i < words.length; i++) words[i] = next() | 0;
  // 64 half-precision scales between 0.5 and 1.5 times the one that gives std 0.02.
  const typical = WEIGHT_STD / INTEGER_STD[format];
  const table = Array.from({ length: 64 }, (_, i) => roundToFloat16(typical * (0.5 + i / 63)));
  const scales = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) scales[b] = table[next() & 63];
  return { format, rows, cols, scales, words };
}

/** Every tensor of `config`, in checkpoint order, each made only when the consumer asks for it. */
export function* syntheticTensors(config: LlamaConfig, format: SyntheticFormat, seed = 1): Generator<HostTensor> {
  let index = 0;
  for (const name of tensorNames(config)) {
    const shape = tensorShape(name, config);
    const [rows, cols] = shape;
    if (cols === undefined) {
      yield { name, shape, value: new Float32Array(rows).fill(1) }; // norm weights
      continue;
    }
    const next = xorshift(seed * 7919 + ++index);
    // Rows that are not whole 32-blocks come as float32, as in a GGUF file (stories260K's w2);
    // the uploader quantizes them, padded.
    const value = format === 'f32' || cols % BLOCK !== 0 ? randomFloat(rows, cols, next) : randomQuantized(format, rows, cols, next);
    yield { name, shape, value };
  }
}
