import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendName } from '../../src/engine/backend.ts';
import { generateAll } from '../../src/engine/generate.ts';
import type { Llama } from '../../src/engine/llama.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { parityCases } from '../support/shared.ts';

// Every public case, token for token, through generate() — the function the CLI streams from.
// WebGPU runs the greedy cases in webgpu-parity.test.ts (SwiftShader is slow).
describe.each<BackendName>(['wasm', 'cpu'])('parity with the reference on %s', (backend) => {
  const models = new Map<string, Llama>();
  beforeAll(() => onBackend(backend));
  afterAll(() => models.forEach((m) => m.dispose()));

  it.each(parityCases().map((c) => [`${c.model} t=${c.temperature} p=${c.top_p} seed=${c.seed} "${c.prompt}"`, c] as const))('%s', async (_, c) => {
    if (!models.has(c.model)) models.set(c.model, loadShared(`models/${c.model}`, `models/${c.tokenizer}`));
    const r = await generateAll(models.get(c.model)!, { prompt: c.prompt, steps: c.steps, temperature: c.temperature, topP: c.top_p, seed: c.seed });
    expect(r.tokens).toEqual(c.expected_tokens);
  });
});
