/**
 * The backbone half of the reward model: the loaded Llama 2 model without its classifier. A text
 * (BOS first, cut to the context) goes through every layer and the final RMSNorm, and the hidden
 * state of its last token, the one that has read the whole text, is the feature the head scores.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SequenceKVCache } from '../../engine/kv-cache.ts';
import type { Llama } from '../../engine/llama.ts';

export async function lastTokenFeature(llama: Llama, text: string): Promise<Float32Array> {
  const tokens = llama.tokenizer.encode(text, { bos: true }).slice(0, llama.config.seqLen);
  const last = tf.tidy(() => {
    const h = llama.model.hidden(tokens, 0, new SequenceKVCache(llama.config.seqLen));
    return tf.slice(h, [tokens.length - 1, 0], [1, -1]);
  });
  try {
    return Float32Array.from(await last.data());
  } finally {
    last.dispose();
  }
}
