import type { Checkpoint } from './checkpoint/checkpoint.ts';
import { loadLlama2c, parseLlama2c } from './checkpoint/llama2c.ts';
import type { LlamaConfig } from './config.ts';
import { mismatch } from './errors.ts';
import type { ByteSource, LoadProgress } from './io/byte-source.ts';
import { createKVCache, type KVCache } from './kv-cache.ts';
import { LlamaModel } from './model.ts';
import { Tokenizer } from './tokenizer/tokenizer.ts';
import type { QuantFormat } from './quant/blocks.ts';
import { describeWeightFormat, deviceBytes, type WeightFormat } from './weights/llama-weights.ts';
import { uploadWeights } from './weights/weight-builder.ts';

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

/** A loaded model with its tokenizer on the active backend: what every engine API works on. */
export class Llama {
  private constructor(
    readonly checkpoint: Checkpoint,
    readonly tokenizer: Tokenizer,
    readonly model: LlamaModel,
    readonly names: { model: string; tokenizer: string },
  ) {}

  get config(): LlamaConfig {
    return this.checkpoint.config;
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
    const model = new LlamaModel(checkpoint.config, uploadWeights(checkpoint, { quant: opts.quant, source: names.model }));
    return new Llama(checkpoint, tokenizer, model, names);
  }

  newCache(): KVCache {
    return createKVCache(this.config);
  }

  dispose(): void {
    this.model.dispose();
  }
}
