import * as tf from '@tensorflow/tfjs-core';
import { kvDim, type LlamaConfig } from '../config.ts';
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

export interface LlamaWeights {
  tokenEmbedding: tf.Tensor2D;
  blocks: BlockWeights[];
  finalNorm: tf.Tensor1D;
  classifier: Linear;
}

/** Uploads a host checkpoint to the active TF.js backend. */
export function uploadWeights(ck: Checkpoint): LlamaWeights {
  const c: LlamaConfig = ck.config;
  const tokenEmbedding = tf.tensor2d(ck.tokenEmbedding, [c.vocabSize, c.dim]);
  const blocks = ck.layers.map((l) => ({
    attentionNorm: tf.tensor1d(l.rmsAtt),
    qkv: DenseLinear.fromRows([l.wq, l.wk, l.wv], c.dim),
    output: DenseLinear.fromRows([l.wo], c.dim),
    ffnNorm: tf.tensor1d(l.rmsFfn),
    gateUp: DenseLinear.fromRows([l.w1, l.w3], c.dim),
    down: DenseLinear.fromRows([l.w2], c.hiddenDim),
  }));
  const classifier = ck.classifier
    ? DenseLinear.fromRows([ck.classifier], c.dim)
    : new DenseLinear(tokenEmbedding);
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
  // A shared classifier wraps the embedding tensor, disposed above.
  if (w.classifier instanceof DenseLinear && w.classifier.weight !== w.tokenEmbedding) w.classifier.dispose();
}

/** Widths to split the fused projections back into q, k, v and gate, up. */
export const qkvSplit = (c: LlamaConfig): [number, number, number] => [c.dim, kvDim(c), kvDim(c)];
export const gateUpSplit = (c: LlamaConfig): [number, number] => [c.hiddenDim, c.hiddenDim];
