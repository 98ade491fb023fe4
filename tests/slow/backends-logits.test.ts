import { describe, expect, it } from 'vitest';
import type { BackendName } from '../../src/engine/backend.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { parityCases, STORIES260K } from '../support/shared.ts';

/** Logits of every position of a 65-token sequence in one prefill on `backend`. */
async function prefillLogits(backend: BackendName, tokens: number[]): Promise<Float32Array> {
  await onBackend(backend);
  const llama = loadShared(STORIES260K);
  const cache = llama.newCache();
  const logits = llama.model.forward(tokens, 0, cache);
  const values = (await logits.data()) as Float32Array;
  logits.dispose();
  cache.dispose();
  llama.dispose();
  return values;
}

describe('logits agree across backends', () => {
  it('wasm, cpu and webgpu give the same logits within float32 reduction-order noise', async () => {
    const tokens = parityCases().find((c) => c.prompt === 'Once upon a time')!.expected_tokens;
    const reference = await prefillLogits('wasm', tokens);
    // Logits here reach |20|. Each backend sums the same float32 products in its own order
    // (SIMD blocks, GPU tiles), so each dot product differs by a few ulps (~1e-6 relative) and five
    // residual blocks compound that; 2e-4 absolute is ~1e-5 of the logit range and far below the
    // gap between a model that is right and one with any real bug (a wrong weight, a swapped
    // RoPE pair, a missing norm all move logits by > 0.1).
    for (const backend of ['cpu', 'webgpu'] as const) {
      const other = await prefillLogits(backend, tokens);
      let max = 0;
      for (let i = 0; i < other.length; i++) max = Math.max(max, Math.abs(other[i] - reference[i]));
      console.log(`max |logit(${backend}) - logit(wasm)| = ${max.toExponential(2)}`);
      expect(max).toBeLessThan(2e-4);
    }
  });
});
