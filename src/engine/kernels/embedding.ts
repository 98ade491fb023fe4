import * as tf from '@tensorflow/tfjs-core';
import { hasKernel, registerHostKernel, runKernel } from './registry.ts';

/**
 * The gradient of an embedding lookup: each token's output gradient added into its row of the
 * table (or its column, for a table stored transposed as the shared classifier, [dim, vocab]).
 * One pass over the tokens instead of a matmul by their one-hot rows, which costs vocab·dim·tokens
 * and on wasm leaves XNNPACK when written with a transposed operand.
 */
export const EMBEDDING_GRAD = 'LlamaEmbeddingGrad';

export interface EmbeddingGradAttrs {
  vocab: number;
  /** The table is [dim, vocab] (a token's embedding is its column), not [vocab, dim]. */
  transposed: boolean;
}

/** The same as a matmul by the one-hot ids (no transposed operand): the fallback and the reference. */
export function embeddingGradComposite(dy: tf.Tensor2D, ids: tf.Tensor1D, vocab: number, transposed: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(ids, vocab) as tf.Tensor2D; // [tokens, vocab]
    return transposed ? tf.matMul(tf.transpose(dy), oneHot) : tf.matMul(tf.transpose(oneHot), dy);
  });
}

/** dy: [tokens, dim], ids: [tokens] (int32) → the table's gradient, [vocab, dim] or [dim, vocab]. */
export function embeddingGrad(dy: tf.Tensor2D, ids: tf.Tensor1D, vocab: number, transposed: boolean): tf.Tensor2D {
  if (!hasKernel(EMBEDDING_GRAD)) return embeddingGradComposite(dy, ids, vocab, transposed);
  return runKernel<tf.Tensor2D>(EMBEDDING_GRAD, { dy, ids }, { vocab, transposed } satisfies EmbeddingGradAttrs);
}

/** Adds row t of dy ([tokens, dim]) into row (or column) ids[t] of out, which it first zeroes. */
export function scatterRows(dy: Float32Array, ids: Int32Array, out: Float32Array, vocab: number, transposed: boolean): void {
  const dim = dy.length / ids.length;
  out.fill(0);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t];
    if (id < 0 || id >= vocab) throw new RangeError(`token ${id} is outside the vocabulary of ${vocab}`);
    if (transposed) for (let j = 0, o = id; j < dim; j++, o += vocab) out[o] += dy[t * dim + j];
    else for (let j = 0, o = id * dim; j < dim; j++, o++) out[o] += dy[t * dim + j];
  }
}

registerHostKernel<EmbeddingGradAttrs>(
  EMBEDDING_GRAD,
  (host, { dy, ids }, { vocab, transposed }) => {
    const dim = dy.shape[1];
    const out = host.allocate(transposed ? [dim, vocab] : [vocab, dim]);
    scatterRows(host.view(dy), host.viewInt32(ids), host.view(out), vocab, transposed);
    return out;
  },
  ['ids'],
);
