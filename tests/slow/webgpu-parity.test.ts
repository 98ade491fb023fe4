import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAll } from '../../src/engine/generate.ts';
import type { Llama } from '../../src/engine/llama.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { parityCases } from '../support/shared.ts';

// WebGPU in Node through Dawn; on a machine without a GPU that is SwiftShader (correct, slow).
describe('greedy parity on webgpu', () => {
  const models = new Map<string, Llama>();
  beforeAll(() => onBackend('webgpu'));
  afterAll(() => models.forEach((m) => m.dispose()));

  const greedy = parityCases().filter((c) => c.temperature === 0);
  it.each(greedy.map((c) => [`${c.model} "${c.prompt}" ${c.steps} steps`, c] as const))('%s', async (_, c) => {
    if (!models.has(c.model)) models.set(c.model, loadShared(`models/${c.model}`, `models/${c.tokenizer}`));
    const r = await generateAll(models.get(c.model)!, { prompt: c.prompt, steps: c.steps, temperature: 0, seed: c.seed });
    expect(r.tokens).toEqual(c.expected_tokens);
  });

  // The prompt's later chunks run at a start past 0 with several tokens (RoPE, KV write and
  // attention at an offset), then decode follows from the cache they wrote.
  const longest = greedy.reduce((a, b) => (b.prompt.length > a.prompt.length ? b : a));
  it(`${longest.model} "${longest.prompt}", the prompt read two tokens at a time`, async () => {
    const llama = models.get(longest.model) ?? loadShared(`models/${longest.model}`, `models/${longest.tokenizer}`);
    models.set(longest.model, llama);
    const r = await generateAll(llama, { prompt: longest.prompt, steps: longest.steps, temperature: 0, prefillChunk: 2 });
    expect(r.promptTokens).toBeGreaterThan(4);
    expect(r.tokens).toEqual(longest.expected_tokens);
  });
});
