import * as tf from '@tensorflow/tfjs-core';
import { checkpointTensors, tensorNames, tensorShape, type Checkpoint } from '../checkpoint/checkpoint.ts';
import type { LlamaConfig } from '../config.ts';
import { EngineError } from '../errors.ts';
import { BLOCK, quantizePadded, WORDS_PER_BLOCK, type QuantFormat, type QuantizedMatrix } from '../quant/blocks.ts';
import type { HostTensor, TensorName } from './host-tensor.ts';
import { fusedGroupOf } from './fused-matrices.ts';
import { DenseLinear, type Linear } from './linear.ts';
import { TokenEmbedding, type BlockWeights, type LlamaWeights, type WeightFormat } from './llama-weights.ts';
import { QuantizedLinear } from './quantized-linear.ts';

export interface WeightOptions {
  /** Quantize float32 matrices as they arrive (rows padded with zeros to whole blocks of 32). */
  quant?: QuantFormat;
  /** Hold every weight as a tf.Variable, for training through the same forward pass. */
  trainable?: boolean;
  /** Where the tensors come from (a file name), for messages. */
  source?: string;
}

type Matrix = Float32Array | QuantizedMatrix;
const isQuantized = (m: Matrix): m is QuantizedMatrix => !(m instanceof Float32Array);

/** Every tensor a model of this shape needs, with its shape, in llama2.c's order. */
export function expectedTensors(c: LlamaConfig): Map<TensorName, number[]> {
  return new Map(tensorNames(c).map((n) => [n, tensorShape(n, c)]));
}

/**
 * Assembles LlamaWeights from tensors handed over one at a time, in any order (a loader streams a
 * file tensor by tensor), putting each on the active backend as soon as it can: at once, or for
 * a fused matrix once all its parts have arrived. Host arrays are then dropped, so the model is
 * never held whole in host memory. Matrices that arrive quantized stay quantized; with
 * `quant`, float32 matrices are quantized on arrival. Vectors (norms) stay float32.
 *
 * After a failed `add` or `finish`, call `dispose` to free what was already uploaded.
 */
export class WeightBuilder {
  /** Every tensor's shape, and those of the tensors still to come. */
  private readonly shapes: Map<TensorName, number[]>;
  private readonly expected: Map<TensorName, number[]>;
  /** Parts of fused matrices waiting for the rest of their group. */
  private readonly waiting = new Map<TensorName, Matrix>();
  private readonly formats = new Map<TensorName, WeightFormat>();
  private readonly blocks: Partial<BlockWeights>[];
  private tokenEmbedding: TokenEmbedding | null = null;
  private classifier: Linear | null = null;
  private finalNorm: tf.Tensor1D | null = null;
  private readonly source: string;

  constructor(
    private readonly config: LlamaConfig,
    private readonly opts: WeightOptions = {},
  ) {
    this.source = opts.source ?? 'weights';
    if (opts.trainable && opts.quant) throw this.bad(`quantized weights (${opts.quant}) cannot be trained: training needs float32`);
    this.shapes = expectedTensors(config);
    this.expected = new Map(this.shapes);
    this.blocks = Array.from({ length: config.nLayers }, () => ({}));
  }

  add(t: HostTensor): void {
    const shape = this.expected.get(t.name);
    if (!shape) {
      if (this.shapes.has(t.name)) throw this.bad(`tensor ${t.name} arrived twice`);
      if (t.name === 'classifier') throw this.bad('tensor classifier: this model shares the classifier with the token embedding');
      throw this.bad(`tensor ${t.name} is not part of a model of ${this.config.nLayers} layers`);
    }
    if (t.shape.join() !== shape.join()) throw this.bad(`tensor ${t.name}: shape expected [${shape}], got [${t.shape}]`);
    this.checkValue(t);
    this.expected.delete(t.name);
    if (shape.length === 1) return this.addVector(t.name, t.value as Float32Array);
    this.addMatrix(t.name, this.prepare(t.name, t.value));
  }

  /** The assembled weights; fails naming every tensor that never arrived. */
  finish(): LlamaWeights {
    if (this.expected.size > 0) {
      const missing = [...this.expected.keys()];
      const listed = missing.length > 12 ? `${missing.slice(0, 12).join(', ')} and ${missing.length - 12} more` : missing.join(', ');
      throw new EngineError('weights-incomplete', `${this.source}: ${missing.length} tensors missing: ${listed}`);
    }
    const counts = new Map<WeightFormat, number>();
    for (const f of this.formats.values()) if (f !== 'f32') counts.set(f, (counts.get(f) ?? 0) + 1);
    const format = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'f32';
    const float32Matrices = format === 'f32' ? [] : [...this.formats].filter(([, f]) => f === 'f32').map(([name]) => name);
    return {
      tokenEmbedding: this.tokenEmbedding!,
      blocks: this.blocks as BlockWeights[],
      finalNorm: this.finalNorm!,
      classifier: this.classifier!,
      format,
      float32Matrices,
    };
  }

  /** Frees everything uploaded so far (after a failure; finish's weights are disposed with the model). */
  dispose(): void {
    this.tokenEmbedding?.dispose();
    this.classifier?.dispose();
    this.finalNorm?.dispose();
    for (const b of this.blocks) for (const part of Object.values(b)) part.dispose();
    this.waiting.clear();
  }

  private bad(message: string): EngineError {
    return new EngineError('bad-argument', `${this.source}: ${message}`);
  }

  private checkValue({ name, shape, value }: HostTensor): void {
    const size = shape.reduce((n, d) => n * d, 1);
    if (!isQuantized(value)) {
      if (value.length !== size) throw this.bad(`tensor ${name}: ${size} values expected, got ${value.length}`);
      return;
    }
    if (this.opts.trainable) throw this.bad(`tensor ${name} is ${value.format}: quantized weights cannot be trained`);
    if (shape.length !== 2) throw this.bad(`tensor ${name} is ${value.format}: only matrices may be quantized`);
    const blocks = size / BLOCK;
    if (value.rows !== shape[0] || value.cols !== shape[1] || value.scales.length !== blocks || value.words.length !== blocks * WORDS_PER_BLOCK[value.format])
      throw this.bad(`tensor ${name}: its ${value.format} blocks do not hold a [${shape}] matrix`);
  }

  /** Quantizes on arrival where asked and possible, and records the format the matrix is held in. */
  private prepare(name: TensorName, value: Matrix): Matrix {
    const quant = this.opts.quant;
    const cols = this.shapes.get(name)![1];
    const held = !isQuantized(value) && quant ? quantizePadded(quant, value, value.length / cols, cols) : value;
    this.formats.set(name, isQuantized(held) ? held.format : 'f32');
    return held;
  }

  private hold<T extends tf.Tensor>(t: T): T {
    if (!this.opts.trainable) return t;
    const v = tf.variable(t) as unknown as T;
    t.dispose();
    return v;
  }

  private addVector(name: TensorName, value: Float32Array): void {
    const v = this.hold(tf.tensor1d(value));
    if (name === 'rms_final') this.finalNorm = v;
    else {
      const [layer, part] = parseLayerName(name);
      this.blocks[layer][part === 'rms_att' ? 'attentionNorm' : 'ffnNorm'] = v;
    }
  }

  private addMatrix(name: TensorName, value: Matrix): void {
    if (name === 'token_embedding') return this.addEmbedding(value);
    if (name === 'classifier') {
      this.classifier = this.linear([value], [name]);
      return;
    }
    const [layer, part] = parseLayerName(name);
    const block = this.blocks[layer];
    if (part === 'wo') block.output = this.linear([value], [name]);
    else if (part === 'w2') block.down = this.linear([value], [name]);
    else {
      this.waiting.set(name, value);
      const group = fusedGroupOf(part)!;
      const names = group.parts.map((p) => `layers.${layer}.${p}` as TensorName);
      if (!names.every((n) => this.waiting.has(n))) return;
      block[group.field] = this.linear(
        names.map((n) => this.waiting.get(n)!),
        names,
      );
      for (const n of names) this.waiting.delete(n);
    }
  }

  private addEmbedding(value: Matrix): void {
    const c = this.config;
    if (isQuantized(value)) {
      const table = QuantizedLinear.fromMatrices([value], c.dim);
      this.tokenEmbedding = TokenEmbedding.packed(table, c.sharedClassifier);
      if (c.sharedClassifier) this.classifier = table;
    } else if (c.sharedClassifier) {
      const classifier = this.linear([value], ['token_embedding']) as DenseLinear;
      this.classifier = classifier;
      this.tokenEmbedding = TokenEmbedding.columnsOf(classifier);
    } else this.tokenEmbedding = TokenEmbedding.rows(this.hold(tf.tensor2d(value, [c.vocabSize, c.dim])));
  }

  /** One Linear for matrices stacked along `out`; they must share a format. */
  private linear(parts: Matrix[], names: TensorName[]): Linear {
    const inFeatures = this.shapes.get(names[0])![1];
    if (parts.every(isQuantized)) {
      if (parts.every((p) => p.format === parts[0].format)) return QuantizedLinear.fromMatrices(parts, inFeatures);
    } else if (!parts.some(isQuantized)) {
      const dense = DenseLinear.fromRows(parts as Float32Array[], inFeatures);
      return this.opts.trainable ? new DenseLinear(this.hold(dense.weightT)) : dense;
    }
    const formats = names.map((n) => `${n} ${this.formats.get(n)}`).join(', ');
    throw this.bad(`${formats}: matrices fused into one product need one format`);
  }
}

function parseLayerName(name: TensorName): [number, string] {
  const [, layer, part] = name.split('.');
  return [Number(layer), part];
}

/** Uploads a host checkpoint to the active TF.js backend, through the same path as streamed tensors. */
export function uploadWeights(ck: Checkpoint, opts: WeightOptions = {}): LlamaWeights {
  const builder = new WeightBuilder(ck.config, opts);
  try {
    for (const t of checkpointTensors(ck)) builder.add({ name: t.name, shape: t.shape, value: t.data });
    return builder.finish();
  } catch (e) {
    builder.dispose();
    throw e;
  }
}
