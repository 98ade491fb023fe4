import * as tf from '@tensorflow/tfjs-core';
import type { LlamaConfig } from '../config.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
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
      if (!this.transposed) return tf.gather(this.table, ids);
      const columns = tf.gather(this.table, ids, 1); // [dim, tokens]
      return tokens.length === 1 ? tf.reshape(columns, [1, -1]) : tf.transpose(columns);
    });
  }
  /** Disposes the table unless the classifier owns it. */
  dispose(): void {
    if (!this.transposed) this.table.dispose();
  }
}

export interface LlamaWeights {
  tokenEmbedding: TokenEmbedding;
  blocks: BlockWeights[];
  finalNorm: tf.Tensor1D;
  classifier: Linear;
}

/** Uploads a host checkpoint to the active TF.js backend. */
export function uploadWeights(ck: Checkpoint): LlamaWeights {
  const c: LlamaConfig = ck.config;
  const blocks = ck.layers.map((l) => ({
    attentionNorm: tf.tensor1d(l.rmsAtt),
    qkv: DenseLinear.fromRows([l.wq, l.wk, l.wv], c.dim),
    output: DenseLinear.fromRows([l.wo], c.dim),
    ffnNorm: tf.tensor1d(l.rmsFfn),
    gateUp: DenseLinear.fromRows([l.w1, l.w3], c.dim),
    down: DenseLinear.fromRows([l.w2], c.hiddenDim),
  }));
  const classifier = DenseLinear.fromRows([ck.classifier ?? ck.tokenEmbedding], c.dim);
  const tokenEmbedding = ck.classifier
    ? TokenEmbedding.rows(tf.tensor2d(ck.tokenEmbedding, [c.vocabSize, c.dim]))
    : TokenEmbedding.columnsOf(classifier);
  return { tokenEmbedding, blocks, finalNorm: tf.tensor1d(ck.rmsFinal), classifier };
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
