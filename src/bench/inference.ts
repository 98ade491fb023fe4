import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../engine/backend.ts';
import { generateAll } from '../engine/generate.ts';
import { useNodeBackend } from '../node/backend.ts';
import { loadLlamaFiles } from '../node/load-files.ts';
import { median } from '../node/machine.ts';

export interface InferenceFigures {
  backend: BackendName;
  decodeTokensPerSecond: number;
  prefillTokensPerSecond: number;
  kernelsPerDecodedToken: number;
}

/** Decode (greedy, from BOS) and prefill speed, medians of `repeats` runs after a warm-up. */
export async function benchInference(backend: BackendName, model: string, tokenizer: string, steps: number, repeats: number): Promise<InferenceFigures> {
  await useNodeBackend(backend);
  const llama = await loadLlamaFiles(model, tokenizer);
  const decode = async () => (await generateAll(llama, { prompt: '', steps, temperature: 0, seed: 1 })).tokensPerSecond;
  await decode();
  const decodeRuns: number[] = [];
  for (let i = 0; i < repeats; i++) decodeRuns.push(await decode());

  // Prefill: one batched forward over `steps` prompt tokens (a generated story, so real text).
  const story = (await generateAll(llama, { prompt: '', steps, temperature: 0, seed: 1 })).tokens;
  // Read back asynchronously: WebGPU in Node cannot read synchronously.
  const prefill = async () => {
    const cache = llama.newCache();
    const t0 = performance.now();
    const logits = llama.model.forward(story, 0, cache);
    await logits.data();
    const ms = performance.now() - t0;
    logits.dispose();
    cache.dispose();
    return (story.length * 1000) / ms;
  };
  await prefill();
  const prefillRuns: number[] = [];
  for (let i = 0; i < repeats; i++) prefillRuns.push(await prefill());

  // Kernel launches of one decode step at position 1.
  const cache = llama.newCache();
  llama.model.forward([1], 0, cache).dispose();
  const profile = await tf.profile(() => llama.model.forward([story[1]], 1, cache).dispose());
  cache.dispose();
  llama.dispose();
  return {
    backend,
    decodeTokensPerSecond: median(decodeRuns),
    prefillTokensPerSecond: median(prefillRuns),
    kernelsPerDecodedToken: profile.kernels.length,
  };
}
