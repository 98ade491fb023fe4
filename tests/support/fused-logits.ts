import * as tf from '@tensorflow/tfjs-core';
import type { Llama } from '../../src/engine/llama.ts';

/**
 * Logits of a prompt's prefill and of one decode step after it, through the fused block (no
 * probe) and through the probed block (every intermediate, the separate ops): [fused, probed],
 * each [prefill, step].
 */
export async function fusedAndProbedLogits(llama: Llama, text: string): Promise<[Float32Array[], Float32Array[]]> {
  const tokens = llama.tokenizer.encode(text);
  const run = async (probed: boolean) => {
    const probe = probed ? { record: () => {} } : undefined;
    const cache = llama.newCache();
    const prefill = llama.model.forward(tokens, 0, cache, probe);
    const step = llama.model.forward([tokens[3]], tokens.length, cache, probe);
    const out = [(await prefill.data()) as Float32Array, (await step.data()) as Float32Array];
    tf.dispose([prefill, step]);
    cache.dispose();
    return out;
  };
  return [await run(false), await run(true)];
}
