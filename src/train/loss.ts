import * as tf from '@tensorflow/tfjs-core';
import { SequenceKVCache } from '../engine/kv-cache.ts';
import type { LlamaModel } from '../engine/model.ts';

/**
 * Mean next-token cross-entropy of one packed window: tokens[0..T) in, tokens[1..T] as targets,
 * through the same forward pass that generation uses.
 */
export function windowLoss(model: LlamaModel, window: number[]): tf.Scalar {
  return tf.tidy(() => {
    const input = window.slice(0, -1);
    const logits = model.forward(input, 0, new SequenceKVCache(model.config.seqLen));
    const targets = tf.oneHot(tf.tensor1d(window.slice(1), 'int32'), model.config.vocabSize);
    return tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
  });
}
