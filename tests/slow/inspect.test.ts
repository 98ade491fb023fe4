import { beforeAll, describe, expect, it } from 'vitest';
import { headSize } from '../../src/engine/config.ts';
import { inspectForward, type ForwardTrace } from '../../src/engine/inspect.ts';
import type { Llama } from '../../src/engine/llama.ts';
import { BLOCK_STEPS } from '../../src/engine/probe.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { STORIES260K } from '../support/shared.ts';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('inspection API: every intermediate value of one forward pass', () => {
  let llama: Llama;
  let trace: ForwardTrace;
  const position = 6;
  const get = (step: string, layer: number | null) => trace.steps.find((s) => s.step === step && s.layer === layer)!.values;

  beforeAll(async () => {
    await onBackend('wasm');
    llama = loadShared(STORIES260K);
    trace = inspectForward(llama, llama.tokenizer.encode('Once upon a time there was'), position);
  });

  it('records the embedding, every step of every layer in order, the final norm and the logits', () => {
    const c = llama.config;
    const expected = ['embedding:null', ...Array.from({ length: c.nLayers }, (_, l) => BLOCK_STEPS.map((s) => `${s}:${l}`)).flat(), 'final_norm:null', 'logits:null'];
    expect(trace.steps.map((s) => `${s.step}:${s.layer}`)).toEqual(expected);
    expect(trace.steps.find((s) => s.step === 'attention_probs')!.shape).toEqual([c.nHeads, position + 1]);
    expect(get('logits', null)).toHaveLength(c.vocabSize);
  });

  it('gives the logits that generation computes at that position', () => {
    const cache = llama.newCache();
    const logits = llama.model.forward(trace.tokens.slice(0, position + 1), 0, cache);
    const row = (logits.arraySync() as number[][])[position];
    logits.dispose();
    cache.dispose();
    expect(maxAbsDiff(get('logits', null), row)).toBe(0);
  });

  it('chains the residual stream: each block output is the next block input', () => {
    for (let l = 0; l + 1 < llama.config.nLayers; l++) expect(get('residual_ffn', l)).toEqual(get('block_input', l + 1));
    expect(get('block_input', 0)).toEqual(get('embedding', null));
  });

  it('rotates q by the RoPE angles pos / 10000^(2i/d)', () => {
    const hs = headSize(llama.config);
    const q = get('q', 2);
    const rotated = q.map((_, j) => {
      const i = j % hs >> 1;
      const angle = position / Math.pow(10000, (2 * i) / hs);
      const [a, b] = j % 2 === 0 ? [q[j], q[j + 1]] : [q[j - 1], q[j]];
      return j % 2 === 0 ? a * Math.cos(angle) - b * Math.sin(angle) : a * Math.sin(angle) + b * Math.cos(angle);
    });
    // float32 rounding of values of order 1: 1e-5 is ~100 ulps.
    expect(maxAbsDiff(get('q_rope', 2), rotated)).toBeLessThan(1e-5);
  });

  it('has causal attention probabilities that sum to one per head', () => {
    const probs = get('attention_probs', 4);
    const keys = position + 1;
    for (let h = 0; h < llama.config.nHeads; h++) {
      const row = probs.slice(h * keys, (h + 1) * keys);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('computes SwiGLU and the final RMSNorm as the equations say', () => {
    const gate = get('gate', 1);
    const up = get('up', 1);
    const expected = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
    expect(maxAbsDiff(get('gated', 1), expected)).toBeLessThan(1e-5);

    const x = get('residual_ffn', llama.config.nLayers - 1);
    const w = llama.requireCheckpoint('this test').rmsFinal;
    const rms = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length + 1e-5);
    expect(maxAbsDiff(get('final_norm', null), x.map((v, i) => (w[i] * v) / rms))).toBeLessThan(1e-4);
  });
});
