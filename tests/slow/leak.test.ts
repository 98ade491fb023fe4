import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/engine/generate.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { STORIES260K } from '../support/shared.ts';

describe('no tensor leaks', () => {
  it('holds the tensor count steady over 200 generated tokens and frees the cache at the end', async () => {
    await onBackend('wasm');
    const llama = loadShared(STORIES260K);
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const it = generate(llama, { prompt: 'Once upon a time', steps: 204, temperature: 1, topP: 0.9, seed: 3 });
    for (let r = await it.next(); !r.done; r = await it.next()) if (!r.value.fromPrompt) counts.push(tf.memory().numTensors);
    expect(counts.length).toBeGreaterThanOrEqual(150); // a story may end (BOS) early, but not this seed this soon
    expect(new Set(counts.slice(1)).size).toBe(1); // the first step creates the cache
    expect(tf.memory().numTensors).toBe(before);
    llama.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});
