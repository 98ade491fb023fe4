/**
 * A recorded decode step replayed on webgpu (decode-steps.ts, kernels/webgpu/step-recording.ts)
 * against every step run through model.forward, on SwiftShader without a GPU. A replay runs the
 * same programs on the same buffers, so its logits must equal the plain steps' to the bit; a
 * wrong buffer, a stale position or a missed launch shows as a difference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { DecodeSteps } from '../../src/engine/decode-steps.ts';
import { Llama } from '../../src/engine/llama.ts';
import type { QuantFormat } from '../../src/engine/quant/blocks.ts';
import { onBackend } from '../support/engine.ts';
import { sharedBytes, STORIES260K, TOK512 } from '../support/shared.ts';

const PROMPT = [1, 403, 407, 261, 378];
const STEPS = 6;

/** Greedy logits of STEPS tokens after PROMPT, each step read back before the next. */
async function decode(llama: Llama, replay: boolean) {
  const cache = llama.newCache();
  const prefill = llama.model.forward(PROMPT, 0, cache);
  const next = tf.tidy(() => tf.argMax(tf.slice(prefill, [PROMPT.length - 1, 0], [1, -1]), 1));
  const last = await next.data();
  tf.dispose([prefill, next]);
  const steps = new DecodeSteps(llama.model, cache, replay);
  const logits: Float32Array[] = [];
  let token = last[0];
  for (let i = 0; i < STEPS; i++) {
    const out = steps.forward(token, PROMPT.length + i);
    const row = (await out.data()) as Float32Array;
    out.dispose();
    logits.push(row);
    token = row.indexOf(Math.max(...row));
  }
  const launches = steps.launches;
  const refused = steps.refused;
  steps.dispose();
  cache.dispose();
  return { logits, launches, refused };
}

describe('decode steps recorded and replayed on webgpu', () => {
  const models: Llama[] = [];
  beforeAll(() => onBackend('webgpu'));
  afterAll(() => models.forEach((m) => m.dispose()));

  it.each([['float32', undefined], ['q8_0', 'q8_0'], ['q4_0', 'q4_0']] as const)('stories260K %s: replayed logits equal the plain steps to the bit', async (_, quant) => {
    const llama = Llama.fromBytes(sharedBytes(STORIES260K), STORIES260K, sharedBytes(TOK512), TOK512, quant ? { quant: quant as QuantFormat } : {});
    models.push(llama);
    const plain = await decode(llama, false);
    expect(plain.launches).toBeNull();
    const replayed = await decode(llama, true);
    expect(replayed.refused).toBeNull();
    // 5 layers of at least 7 launches, the final norm and the classifier.
    expect(replayed.launches).toBeGreaterThanOrEqual(5 * 7 + 2);
    expect(replayed.logits).toEqual(plain.logits);
  });

  it('a recording holds its buffers while it lives and releases them when disposed', async () => {
    const llama = Llama.fromBytes(sharedBytes(STORIES260K), STORIES260K, sharedBytes(TOK512), TOK512, { quant: 'q4_0' });
    models.push(llama);
    await decode(llama, false); // every pipeline and pooled buffer made
    const backend = tf.backend() as unknown as { bufferManager: { numBytesUsed: number } };
    const before = { tensors: tf.memory().numTensors, gpuBytes: backend.bufferManager.numBytesUsed };
    await decode(llama, true);
    expect({ tensors: tf.memory().numTensors, gpuBytes: backend.bufferManager.numBytesUsed }).toEqual(before);
  });

  it('refuses a step that does not follow the cache, which stays as it was', async () => {
    const llama = Llama.fromBytes(sharedBytes(STORIES260K), STORIES260K, sharedBytes(TOK512), TOK512);
    models.push(llama);
    const run = async (steps: DecodeSteps) => {
      for (const [i, token] of [5, 6].entries()) steps.forward(token, PROMPT.length + i).dispose(); // recorded, replayed
      expect(() => steps.forward(7, PROMPT.length + 5)).toThrow(/does not follow the 7 positions/);
      const out = steps.forward(7, PROMPT.length + 2);
      const row = await out.data();
      out.dispose();
      return row;
    };
    const rows = [];
    for (const replay of [true, false]) {
      const cache = llama.newCache();
      llama.model.forward(PROMPT, 0, cache).dispose();
      const steps = new DecodeSteps(llama.model, cache, replay);
      rows.push(await run(steps));
      steps.dispose();
      cache.dispose();
    }
    expect(rows[0]).toEqual(rows[1]);
  });
});
