/**
 * A recorded decode step replayed on webgpu (decode-steps.ts, kernels/webgpu/step-recording.ts)
 * against every step run through model.forward, on SwiftShader without a GPU. A replay runs the
 * same programs on the same buffers, so its logits must equal the plain steps' to the bit; a
 * wrong buffer, a stale position or a missed launch shows as a difference. The same holds for
 * steps run ahead on the GPU's argmax, used or forgotten.
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

type Mode = 'plain' | 'replayed' | 'run ahead';

/** The greedy choice, except (for a run ahead to be forgotten) at step DETOUR. */
const DETOUR = 3;
const greedy = (row: Float32Array) => row.indexOf(Math.max(...row));
const detour = (row: Float32Array, i: number) => (i === DETOUR ? (greedy(row) + 1) % row.length : greedy(row));

/**
 * Logits of STEPS tokens after PROMPT, each step read back before the next ('run ahead': read
 * with the next step submitted on the GPU's argmax first), the tokens picked by `pick`.
 */
async function decode(llama: Llama, mode: Mode, pick: (row: Float32Array, step: number) => number = greedy) {
  const cache = llama.newCache();
  const prefill = llama.model.forward(PROMPT, 0, cache);
  const next = tf.tidy(() => tf.argMax(tf.slice(prefill, [PROMPT.length - 1, 0], [1, -1]), 1));
  const last = await next.data();
  tf.dispose([prefill, next]);
  const steps = new DecodeSteps(llama.model, cache, mode !== 'plain');
  const logits: Float32Array[] = [];
  let token = last[0];
  for (let i = 0; i < STEPS; i++) {
    let row: Float32Array;
    if (mode === 'run ahead') row = await steps.read(token, PROMPT.length + i, i + 1 < STEPS);
    else {
      const out = steps.forward(token, PROMPT.length + i);
      row = (await out.data()) as Float32Array;
      out.dispose();
    }
    logits.push(row);
    token = pick(row, i);
  }
  const { launches, refused } = steps;
  const runAhead = { ...steps.runAhead };
  steps.dispose();
  cache.dispose();
  return { logits, launches, refused, runAhead };
}

describe('decode steps recorded and replayed on webgpu', () => {
  const models: Llama[] = [];
  beforeAll(() => onBackend('webgpu'));
  afterAll(() => models.forEach((m) => m.dispose()));

  it.each([['float32', undefined], ['q8_0', 'q8_0'], ['q4_0', 'q4_0']] as const)('stories260K %s: replayed logits equal the plain steps to the bit', async (_, quant) => {
    const llama = Llama.fromBytes(sharedBytes(STORIES260K), STORIES260K, sharedBytes(TOK512), TOK512, quant ? { quant: quant as QuantFormat } : {});
    models.push(llama);
    const plain = await decode(llama, 'plain');
    expect(plain.launches).toBeNull();
    const replayed = await decode(llama, 'replayed');
    expect(replayed.refused).toBeNull();
    // The embedding, 5 layers of at least 7 launches, the final norm, the classifier, the argmax.
    expect(replayed.launches).toBeGreaterThanOrEqual(1 + 5 * 7 + 3);
    expect(replayed.logits).toEqual(plain.logits);
    // Run ahead: the first step records; every later one but the second was submitted on the
    // GPU's argmax before the step before it was read.
    const ahead = await decode(llama, 'run ahead');
    expect(ahead.runAhead).toEqual({ used: STEPS - 2, forgotten: 0 });
    expect(ahead.logits).toEqual(plain.logits);
  });

  it('a step run ahead on a token the sampler did not choose is forgotten and run again on the chosen one', async () => {
    const llama = Llama.fromBytes(sharedBytes(STORIES260K), STORIES260K, sharedBytes(TOK512), TOK512, { quant: 'q8_0' });
    models.push(llama);
    const plain = await decode(llama, 'plain', detour);
    const ahead = await decode(llama, 'run ahead', detour);
    // The step after the detour ran ahead on the greedy token: forgotten, the cache rewound, rerun.
    expect(ahead.runAhead).toEqual({ used: STEPS - 3, forgotten: 1 });
    expect(ahead.logits).toEqual(plain.logits);
  });

  it('disposed with a step still run ahead, it leaves the cache holding only the steps read', async () => {
    const llama = Llama.fromBytes(sharedBytes(STORIES260K), STORIES260K, sharedBytes(TOK512), TOK512);
    models.push(llama);
    const cache = llama.newCache();
    llama.model.forward(PROMPT, 0, cache).dispose();
    const steps = new DecodeSteps(llama.model, cache, true);
    for (const [i, token] of [5, 6, 7].entries()) await steps.read(token, PROMPT.length + i, true);
    expect(cache.length).toBe(PROMPT.length + 4); // the third read ran the fourth step ahead
    steps.dispose();
    expect(cache.length).toBe(PROMPT.length + 3);
    cache.dispose();
  });

  it('reads each step back before submitting the step run ahead of it, so its logits do not wait for that one', async () => {
    const llama = Llama.fromBytes(sharedBytes(STORIES260K), STORIES260K, sharedBytes(TOK512), TOK512);
    models.push(llama);
    await decode(llama, 'plain'); // every pipeline made
    // A readback (TF.js copies to a readable buffer and submits at once), and a replay's submit
    // (its input copies and its commands: two command buffers).
    type Backend = { getBufferData(b: object): Promise<unknown>; queue: { submit(bs: object[]): void } };
    const backend = tf.backend() as unknown as Backend;
    const { queue } = backend;
    const log: string[] = [];
    const own = { getBufferData: backend.getBufferData, submit: queue.submit };
    backend.getBufferData = (b) => (log.push('read'), own.getBufferData.call(backend, b));
    queue.submit = (bs) => (bs.length === 2 && log.push('step'), own.submit.call(queue, bs));
    try {
      await decode(llama, 'run ahead');
    } finally {
      delete (backend as Partial<Backend>).getBufferData;
      delete (queue as Partial<Backend['queue']>).submit;
    }
    const steady = Array.from({ length: STEPS - 3 }, () => ['read', 'read', 'step']).flat();
    // The prompt's argmax; the recorded step; the first replay, its logits and choice, the step
    // run ahead; then each used step's readbacks before the next one runs ahead; the last step.
    expect(log).toEqual(['read', 'read', 'step', 'read', 'read', 'step', ...steady, 'read', 'read']);
  });

  it('a recording holds its buffers while it lives and releases them when disposed', async () => {
    const llama = Llama.fromBytes(sharedBytes(STORIES260K), STORIES260K, sharedBytes(TOK512), TOK512, { quant: 'q4_0' });
    models.push(llama);
    await decode(llama, 'plain'); // every pipeline and pooled buffer made
    const backend = tf.backend() as unknown as { bufferManager: { numBytesUsed: number } };
    const held = () => ({ tensors: tf.memory().numTensors, gpuBytes: backend.bufferManager.numBytesUsed });
    const before = held();
    await decode(llama, 'replayed');
    expect(held()).toEqual(before);
    await decode(llama, 'run ahead', detour); // a step run ahead and forgotten
    expect(held()).toEqual(before);
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
