import type { Checkpoint } from './checkpoint/checkpoint.ts';
import { loadLlama2c, parseLlama2c } from './checkpoint/llama2c.ts';
import type { LlamaConfig } from './config.ts';
import * as tf from '@tensorflow/tfjs-core';
import { backendMemoryLimits } from './device-limits.ts';
import { EngineError, mismatch } from './errors.ts';
import type { GgufSource } from './gguf/byte-reader.ts';
import { QUANTIZED_MATMUL } from './kernels/quantized-matmul.ts';
import { hasKernel } from './kernels/registry.ts';
import { assertFits, planMemory, type MemoryLimits } from './memory-plan.ts';
import type { ByteSource, LoadProgress } from './io/byte-source.ts';
import { createKVCache, type KVCache } from './kv-cache.ts';
import { LlamaModel } from './model.ts';
import { Tokenizer } from './tokenizer/tokenizer.ts';
import type { QuantFormat } from './quant/blocks.ts';
import { describeWeightFormat, deviceBytes, type WeightFormat } from './weights/llama-weights.ts';
import { uploadWeights, WeightBuilder } from './weights/weight-builder.ts';

export interface LlamaSources {
  model: ByteSource;
  modelName: string;
  modelBytes?: number;
  tokenizer: ByteSource;
  tokenizerName: string;
  tokenizerBytes?: number;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** Hold the matrices quantized (see LlamaOptions). */
  quant?: QuantFormat;
}

export interface LlamaOptions {
  /** Quantize the float32 matrices to this format as they are uploaded, and run them quantized. */
  quant?: QuantFormat;
}

export interface GgufSources {
  /** A stream (download, Node file), bytes, or a Blob/File (read in slices). */
  model: GgufSource;
  modelName: string;
  modelBytes?: number;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** Quantize float matrices of the file as they arrive. */
  quant?: QuantFormat;
  /** What the backend can hold; by default what it reports itself (device-limits.ts). */
  limits?: MemoryLimits;
}

/**
 * GGUF files whose weights are all float and take at most this much are also kept in host
 * memory as a Checkpoint, like a llama2.c file: the explorers that rebuild a model from its
 * weights (kv-head pooling, uptraining) then work on them too.
 */
const HOST_COPY_LIMIT_BYTES = 256 * 2 ** 20;

/** Refuses before any upload on a backend with no quantized kernel (WebGL). */
function requireQuantizedKernels(model: string): void {
  if (!hasKernel(QUANTIZED_MATMUL))
    throw new EngineError('backend-unavailable', `${model}: the ${tf.getBackend()} backend has no kernel for quantized weights (WebGPU, WebAssembly and CPU have one)`);
}

/** A loaded model with its tokenizer on the active backend: what every engine API works on. */
export class Llama {
  private constructor(
    readonly config: LlamaConfig,
    /** The float weights in host memory; null for a model streamed to the backend (a large GGUF). */
    readonly checkpoint: Checkpoint | null,
    readonly tokenizer: Tokenizer,
    readonly model: LlamaModel,
    readonly names: { model: string; tokenizer: string },
  ) {}

  /** The host weights, or a clear refusal naming what needed them. */
  requireCheckpoint(what: string): Checkpoint {
    if (!this.checkpoint)
      throw new EngineError('bad-argument', `${what} needs the model's float weights in memory, and ${this.names.model} was streamed to the backend (${this.weightFormatDescription}): use a llama2.c checkpoint or a small float GGUF`);
    return this.checkpoint;
  }

  /** The format the model's matrices run in. */
  get weightFormat(): WeightFormat {
    return this.model.weights.format;
  }

  /** The same, naming any matrices held float32 in a quantized model. */
  get weightFormatDescription(): string {
    return describeWeightFormat(this.model.weights);
  }

  /** Backend memory the weights occupy (see deviceBytes). */
  get weightBytes(): number {
    return deviceBytes(this.model.weights);
  }

  /** Tokenizer first: it is small, so a wrong one is reported before a large download finishes. */
  static async load(src: LlamaSources): Promise<Llama> {
    const tokenizer = await Tokenizer.load(src.tokenizer, {
      name: src.tokenizerName,
      totalBytes: src.tokenizerBytes,
      onProgress: src.onProgress,
      signal: src.signal,
    });
    const checkpoint = await loadLlama2c(src.model, {
      name: src.modelName,
      totalBytes: src.modelBytes,
      onProgress: src.onProgress,
      signal: src.signal,
    });
    return Llama.fromCheckpoint(checkpoint, tokenizer, { model: src.modelName, tokenizer: src.tokenizerName }, { quant: src.quant });
  }

  /** Both files already in memory (tests, a file the reader dropped). */
  static fromBytes(model: Uint8Array, modelName: string, tokenizer: Uint8Array, tokenizerName: string, opts: LlamaOptions = {}): Llama {
    return Llama.fromCheckpoint(
      parseLlama2c(model, modelName),
      Tokenizer.fromBytes(tokenizer, tokenizerName),
      { model: modelName, tokenizer: tokenizerName },
      opts,
    );
  }

  static fromCheckpoint(
    checkpoint: Checkpoint,
    tokenizer: Tokenizer,
    names: { model: string; tokenizer: string },
    opts: LlamaOptions = {},
  ): Llama {
    if (tokenizer.vocabSize !== checkpoint.config.vocabSize)
      throw mismatch(
        'tokenizer-mismatch',
        names.tokenizer,
        `vocabulary size for model ${names.model}`,
        checkpoint.config.vocabSize,
        tokenizer.vocabSize,
      );
    if (opts.quant) requireQuantizedKernels(names.model);
    const model = new LlamaModel(checkpoint.config, uploadWeights(checkpoint, { quant: opts.quant, source: names.model }));
    return new Llama(checkpoint.config, checkpoint, tokenizer, model, names);
  }

  /**
   * A GGUF file, its tokenizer inside. The header is read first and the memory the model will
   * take is checked against the backend's limits before any weight is read; then the tensors are
   * handed to the backend one by one as their bytes arrive, so the file is never held whole.
   */
  static async loadGguf(src: GgufSources): Promise<Llama> {
    // Imported when needed: the GGUF parser adds about 220 kB that llama2.c pages never use.
    const { readGgufModel, checkpointFromGguf } = await import('./gguf/read-gguf.ts');
    const { ggufPlannedTensors } = await import('./gguf/memory.ts');
    const name = src.modelName;
    const gguf = await readGgufModel(src.model, { name, totalBytes: src.modelBytes, onProgress: src.onProgress, signal: src.signal });
    const names = { model: name, tokenizer: `${name} (its own tokenizer)` };
    try {
      const planned = ggufPlannedTensors(gguf.entries, src.quant);
      assertFits(planMemory(gguf.config, planned), src.limits ?? backendMemoryLimits(), name);
      if (planned.some((t) => t.format === 'q8_0' || t.format === 'q4_0')) requireQuantizedKernels(name);
      const float = gguf.entries.every((e) => e.type === 'F32' || e.type === 'F16');
      if (float && gguf.deviceBytes <= HOST_COPY_LIMIT_BYTES) return Llama.fromCheckpoint(await checkpointFromGguf(gguf), gguf.tokenizer, names, { quant: src.quant });
      const builder = new WeightBuilder(gguf.config, { quant: src.quant, source: name });
      try {
        for await (const t of gguf.tensors) builder.add(t);
        return new Llama(gguf.config, null, gguf.tokenizer, new LlamaModel(gguf.config, builder.finish()), names);
      } catch (e) {
        builder.dispose();
        throw e;
      }
    } finally {
      gguf.close(); // stops reading the file if loading ended early (a refusal, an abort)
    }
  }

  newCache(): KVCache {
    return createKVCache(this.config);
  }

  dispose(): void {
    this.model.dispose();
  }
}
