import * as tf from '@tensorflow/tfjs-core';
import { kvDim, type LlamaConfig } from '../config.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
import { embeddingGrad } from '../kernels/embedding.ts';
import { DenseLinear, type Linear } from './linear.ts';

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
 */
export class TokenEmbedding {
  private constructor(
    private readonly table: tf.Tensor2D,
    private readonly transposed: boolean,
  ) {}
  static rows(table: tf.Tensor2D): TokenEmbedding {
    return new TokenEmbedding(table, false);
  }
  static columnsOf(classifier: DenseLinear): TokenEmbedding {
    return new TokenEmbedding(classifier.weightT, true);
  }
  /** [tokens, dim]. */
  lookup(tokens: number[]): tf.Tensor2D {
    return tf.tidy(() => {
      const ids = tf.tensor1d(tokens, 'int32');
      if (tf.engine().isTapeOn()) return this.transposed ? gatherColumns(this.table, ids) : gatherRows(this.table, ids);
      if (!this.transposed) return tf.gather(this.table, ids);
      const columns = tf.gather(this.table, ids, 1); // [dim, tokens]
      return tokens.length === 1 ? tf.reshape(columns, [1, -1]) : tf.transpose(columns);
    });
  }
  get tensor(): tf.Tensor2D {
    return this.table;
  }
  get isTransposed(): boolean {
    return this.transposed;
  }
  /** Disposes the table unless the classifier owns it. */
  dispose(): void {
    if (!this.transposed) this.table.dispose();
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

export interface LlamaWeights {
  tokenEmbedding: TokenEmbedding;
  blocks: BlockWeights[];
  finalNorm: tf.Tensor1D;
  classifier: Linear;
}

export interface UploadOptions {
  /** Hold every weight as a tf.Variable, for training through the same forward pass. */
  trainable?: boolean;
}

/** Uploads a host checkpoint to the active TF.js backend. */
export function uploadWeights(ck: Checkpoint, opts: UploadOptions = {}): LlamaWeights {
  const c: LlamaConfig = ck.config;
  const hold = <T extends tf.Tensor>(t: T): T => {
    if (!opts.trainable) return t;
    const v = tf.variable(t) as unknown as T;
    t.dispose();
    return v;
  };
  const vector = (v: Float32Array) => hold(tf.tensor1d(v));
  const linear = (rows: Float32Array[], inFeatures: number) => {
    const dense = DenseLinear.fromRows(rows, inFeatures);
    return opts.trainable ? new DenseLinear(hold(dense.weightT)) : dense;
  };
  const blocks = ck.layers.map((l) => ({
    attentionNorm: vector(l.rmsAtt),
    qkv: linear([l.wq, l.wk, l.wv], c.dim),
    output: linear([l.wo], c.dim),
    ffnNorm: vector(l.rmsFfn),
    gateUp: linear([l.w1, l.w3], c.dim),
    down: linear([l.w2], c.hiddenDim),
  }));
  const classifier = linear([ck.classifier ?? ck.tokenEmbedding], c.dim);
  const tokenEmbedding = ck.classifier
    ? TokenEmbedding.rows(hold(tf.tensor2d(ck.tokenEmbedding, [c.vocabSize, c.dim])))
    : TokenEmbedding.columnsOf(classifier);
  return { tokenEmbedding, blocks, finalNorm: vector(ck.rmsFinal), classifier };
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
