import * as tf from '@tensorflow/tfjs-core';
import { kvDim, type LlamaConfig } from '../config.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
import { embeddingGrad } from '../kernels/embedding.ts';
import { EngineError } from '../errors.ts';
import { quantizedRows } from '../kernels/quantized-rows.ts';
import type { QuantFormat } from '../quant/blocks.ts';
import { DenseLinear, type Linear } from './linear.ts';
import { QuantizedLinear } from './quantized-linear.ts';
import type { TensorName } from './host-tensor.ts';

/**
 * The tensors one transformer block computes with. q, k and v share one matrix ([wq; wk; wv]) and
 * the SwiGLU gate and up projections another ([w1; w3]): one matmul each instead of three and two,
 * since at decode time the number of kernel launches, not arithmetic, sets the speed.
 */
export interface BlockWeights {
  attentionNorm: tf.Tensor1D;
  qkv: Linear;
  output: Linear;
  ffnNorm: tf.Tensor1D;
  gateUp: Linear;
  down: Linear;
}

/**
 * The token embedding, a row of [vocab, dim] per token. When the classifier shares the matrix it
 * is stored once, transposed for the classifier ([dim, vocab]), and a token's row is its column.
 * A quantized table stays packed on the backend (a QuantizedLinear's words and scales, the
 * classifier's own when it shares them) and a lookup expands only its tokens' rows
 * (kernels/quantized-rows.ts). Lookups take the token ids as a tensor too (`gather`): a decode
 * step on the GPU then embeds the token the GPU chose.
 */
export class TokenEmbedding {
  private constructor(
    private readonly table: tf.Tensor2D | QuantizedLinear,
    private readonly transposed: boolean,
    /** False when the classifier holds (and disposes) the table. */
    private readonly owned: boolean,
  ) {}
  static rows(table: tf.Tensor2D): TokenEmbedding {
    return new TokenEmbedding(table, false, true);
  }
  static columnsOf(classifier: DenseLinear): TokenEmbedding {
    return new TokenEmbedding(classifier.weightT, true, false);
  }
  /** A packed table; `sharedWithClassifier`: the same object is the classifier, which disposes it. */
  static packed(table: QuantizedLinear, sharedWithClassifier: boolean): TokenEmbedding {
    return new TokenEmbedding(table, false, !sharedWithClassifier);
  }
  get vocabSize(): number {
    const t = this.table;
    return t instanceof QuantizedLinear ? t.outFeatures : t.shape[this.transposed ? 1 : 0];
  }
  /** [tokens, dim]. */
  lookup(tokens: number[]): tf.Tensor2D {
    for (const t of tokens) if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize) throw new RangeError(`token ${t} is outside the vocabulary of ${this.vocabSize}`);
    return tf.tidy(() => this.gather(tf.tensor1d(tokens, 'int32')));
  }
  /** The rows of `ids` (int32 [tokens], in range: a GPU kernel cannot refuse one), [tokens, dim]. */
  gather(ids: tf.Tensor1D): tf.Tensor2D {
    const table = this.table;
    if (table instanceof QuantizedLinear)
      return quantizedRows(ids, table.words, table.scales, { format: table.format, rows: table.outFeatures, cols: table.cols, width: table.inFeatures });
    return tf.tidy(() => {
      if (tf.engine().isTapeOn()) return this.transposed ? gatherColumns(table, ids) : gatherRows(table, ids);
      if (!this.transposed) return tf.gather(table, ids);
      const columns = tf.gather(table, ids, 1); // [dim, tokens]
      return ids.size === 1 ? tf.reshape(columns, [1, -1]) : tf.transpose(columns);
    });
  }
  get tensor(): tf.Tensor2D {
    if (this.table instanceof QuantizedLinear) throw new EngineError('bad-argument', 'the token embedding is quantized: it has no float32 tensor');
    return this.table;
  }
  get isTransposed(): boolean {
    return this.transposed;
  }
  /** Backend bytes of the table that the classifier does not hold too. */
  get ownBytes(): number {
    if (!this.owned) return 0;
    return this.table instanceof QuantizedLinear ? this.table.bytes : this.table.size * 4;
  }
  /** Disposes the table unless the classifier owns it. */
  dispose(): void {
    if (this.owned) this.table.dispose();
  }
}

/*
 * Embedding lookups with a gradient of their own (each token's gradient added into its row or
 * column, see kernels/embedding.ts): TF.js's own gradient for gather needs UnsortedSegmentSum,
 * which the wasm backend lacks, and training runs there.
 */
const gatherRows = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [table, ids, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([ids]);
  const vocab = table.shape[0];
  return {
    value: tf.gather(table, ids),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], [savedIds]: tf.Tensor[]) => [
      embeddingGrad(dy as tf.Tensor2D, savedIds as tf.Tensor1D, vocab, false),
      tf.zerosLike(savedIds),
    ],
  };
}) as (table: tf.Tensor2D, ids: tf.Tensor1D) => tf.Tensor2D;

const gatherColumns = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [table, ids, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([ids]);
  const vocab = table.shape[1]!;
  const columns = tf.gather(table, ids, 1); // [dim, tokens]
  return {
    value: ids.size === 1 ? tf.reshape(columns, [1, -1]) : tf.transpose(columns),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], [savedIds]: tf.Tensor[]) => [
      embeddingGrad(dy as tf.Tensor2D, savedIds as tf.Tensor1D, vocab, true),
      tf.zerosLike(savedIds),
    ],
  };
}) as (table: tf.Tensor2D, ids: tf.Tensor1D) => tf.Tensor2D;

/** The number format of a model's matrices: float32, or one of the block-quantized formats. */
export type WeightFormat = 'f32' | QuantFormat;

export interface LlamaWeights {
  tokenEmbedding: TokenEmbedding;
  blocks: BlockWeights[];
  finalNorm: tf.Tensor1D;
  classifier: Linear;
  /** The format most matrices are held in. */
  format: WeightFormat;
  /** Matrices held float32 in a model otherwise quantized (a file that stores some as floats). */
  float32Matrices: TensorName[];
}

/** "q8_0", or "q8_0 (2 matrices float32: …)" where the source mixes formats. */
export function describeWeightFormat(w: LlamaWeights): string {
  const kept = w.float32Matrices;
  if (kept.length === 0) return w.format;
  return `${w.format} (${kept.length} matrices float32: ${kept.join(', ')})`;
}

/** Backend memory the weights occupy. */
export function deviceBytes(w: LlamaWeights): number {
  const vectors = [w.finalNorm, ...w.blocks.flatMap((b) => [b.attentionNorm, b.ffnNorm])].reduce((n, t) => n + t.size * 4, 0);
  const linears = [w.classifier, ...w.blocks.flatMap((b) => [b.qkv, b.output, b.gateUp, b.down])].reduce((n, l) => n + l.bytes, 0);
  return vectors + linears + w.tokenEmbedding.ownBytes;
}

/** Training reads and writes float32 weights. */
function requireFloat32(w: LlamaWeights, what: string): void {
  if (w.format !== 'f32')
    throw new EngineError('bad-argument', `${what} needs float32 weights, and this model holds ${w.format} ones: load it without quantization`);
}

/** [in, out] on the device back to checkpoint rows [out, in], split at the stacked boundaries. */
async function downloadRows(linear: Linear, sizes: number[]): Promise<Float32Array[]> {
  const t = (linear as DenseLinear).weightT;
  const [inF, outF] = t.shape;
  const data = (await t.data()) as Float32Array;
  const rows = new Float32Array(inF * outF);
  for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) rows[o * inF + i] = data[i * outF + o];
  let at = 0;
  return sizes.map((n) => rows.slice(at * inF, (at += n) * inF));
}

/**
 * The weights back in host memory, in checkpoint layout (to save what training produced). Reads
 * are asynchronous: WebGPU cannot read back synchronously in Node or a worker.
 */
export async function downloadCheckpoint(w: LlamaWeights, c: LlamaConfig): Promise<Checkpoint> {
  requireFloat32(w, 'saving a checkpoint');
  const vec = async (t: tf.Tensor) => Float32Array.from(await t.data());
  const layers = [];
  for (const b of w.blocks) {
    const [wq, wk, wv] = await downloadRows(b.qkv, [c.dim, kvDim(c), kvDim(c)]);
    const [w1, w3] = await downloadRows(b.gateUp, [c.hiddenDim, c.hiddenDim]);
    const [wo] = await downloadRows(b.output, [c.dim]);
    const [w2] = await downloadRows(b.down, [c.dim]);
    layers.push({ rmsAtt: await vec(b.attentionNorm), wq, wk, wv, wo, rmsFfn: await vec(b.ffnNorm), w1, w2, w3 });
  }
  const [classifier] = await downloadRows(w.classifier, [c.vocabSize]);
  const tokenEmbedding = w.tokenEmbedding.isTransposed ? classifier : await vec(w.tokenEmbedding.tensor);
  return {
    config: c,
    format: 'llama2c-v0',
    tokenEmbedding,
    layers,
    rmsFinal: await vec(w.finalNorm),
    classifier: w.tokenEmbedding.isTransposed ? null : classifier,
  };
}

/** Every distinct weight tensor with a stable name; matrices are marked for weight decay. */
export function namedWeights(w: LlamaWeights): { name: string; tensor: tf.Tensor; matrix: boolean }[] {
  requireFloat32(w, 'training');
  const dense = (l: Linear) => (l as DenseLinear).weightT;
  const out = w.blocks.flatMap((b, i) => [
    { name: `layers.${i}.attention_norm`, tensor: b.attentionNorm, matrix: false },
    { name: `layers.${i}.wqkv`, tensor: dense(b.qkv), matrix: true },
    { name: `layers.${i}.wo`, tensor: dense(b.output), matrix: true },
    { name: `layers.${i}.ffn_norm`, tensor: b.ffnNorm, matrix: false },
    { name: `layers.${i}.w13`, tensor: dense(b.gateUp), matrix: true },
    { name: `layers.${i}.w2`, tensor: dense(b.down), matrix: true },
  ]);
  out.push({ name: 'final_norm', tensor: w.finalNorm, matrix: false });
  out.push({ name: 'classifier', tensor: dense(w.classifier), matrix: true });
  if (!w.tokenEmbedding.isTransposed) out.unshift({ name: 'token_embedding', tensor: w.tokenEmbedding.tensor, matrix: true });
  return out;
}

export function disposeWeights(w: LlamaWeights): void {
  w.tokenEmbedding.dispose();
  for (const b of w.blocks) {
    b.attentionNorm.dispose();
    b.ffnNorm.dispose();
    for (const lin of [b.qkv, b.output, b.gateUp, b.down]) lin.dispose();
  }
  w.finalNorm.dispose();
  w.classifier.dispose();
}
