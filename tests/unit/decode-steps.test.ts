import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeSteps } from '../../src/engine/decode-steps.ts';
import type { Llama } from '../../src/engine/llama.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { STORIES260K } from '../support/shared.ts';

// Off webgpu nothing is recorded: a step is model.forward (the replay itself: tests/slow/step-replay-webgpu.test.ts).
describe('decode steps on cpu', () => {
  let llama: Llama;
  beforeAll(async () => {
    await onBackend('cpu');
    llama = loadShared(STORIES260K);
  });
  afterAll(() => llama.dispose());

  it('runs each step as model.forward and records nothing', async () => {
    const [a, b] = [llama.newCache(), llama.newCache()];
    for (const c of [a, b]) llama.model.forward([1, 403], 0, c).dispose();
    const steps = new DecodeSteps(llama.model, a);
    const got = steps.forward(407, 2);
    const want = llama.model.forward([407], 2, b);
    expect(await got.data()).toEqual(await want.data());
    expect(steps.launches).toBeNull();
    expect(steps.refused).toBeNull();
    got.dispose();
    want.dispose();
    steps.dispose();
    a.dispose();
    b.dispose();
  });

  it('refuses a position that does not follow the cache', () => {
    const cache = llama.newCache();
    llama.model.forward([1, 403], 0, cache).dispose();
    const steps = new DecodeSteps(llama.model, cache);
    expect(() => steps.forward(407, 4)).toThrow(/position 4 does not follow the 2 positions/);
    expect(cache.length).toBe(2);
    cache.dispose();
  });
});
