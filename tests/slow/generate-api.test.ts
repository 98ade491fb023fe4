import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { chatTokens, type ChatSpec } from '../../src/engine/chat-format.ts';
import { parseLlama2c } from '../../src/engine/checkpoint/llama2c.ts';
import { generate, generateAll, type GeneratedToken } from '../../src/engine/generate.ts';
import { Llama } from '../../src/engine/llama.ts';
import { planMemory, uniformTensors } from '../../src/engine/memory-plan.ts';
import { PREFILL_CHUNK } from '../../src/engine/generation-defaults.ts';
import { Tokenizer } from '../../src/engine/tokenizer/tokenizer.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { sharedBytes, STORIES260K, TOK512 } from '../support/shared.ts';

/**
 * stories260K rewired to always predict EOS: the blocks add nothing (wo, w2 zero), every token's
 * embedding has +1 in dimension 0, and the classifier is zero but for EOS's row, 1 in dimension 0.
 * So the final state has a positive dimension 0, EOS's logit is positive and every other is 0.
 */
function eosModel(): Llama {
  const ck = parseLlama2c(sharedBytes(STORIES260K), 'stories260K.bin');
  const { dim, vocabSize } = ck.config;
  for (const layer of ck.layers) {
    layer.wo.fill(0);
    layer.w2.fill(0);
  }
  for (let t = 0; t < vocabSize; t++) ck.tokenEmbedding[t * dim] = 1;
  ck.rmsFinal.fill(1);
  // A classifier of its own that scores only EOS (id 2).
  ck.config = { ...ck.config, sharedClassifier: false };
  ck.classifier = new Float32Array(vocabSize * dim);
  ck.classifier[2 * dim] = 1;
  return Llama.fromCheckpoint(ck, Tokenizer.fromBytes(sharedBytes(TOK512), 'tok512.bin', vocabSize), { model: 'eos', tokenizer: 'tok512.bin' });
}

describe('generation API', () => {
  let llama: Llama;
  beforeAll(async () => {
    await onBackend('wasm');
    llama = loadShared(STORIES260K);
  });

  it('streams text that adds up to the final text, never half a character', async () => {
    // 'é' and '’' are not pieces of tok512: they arrive as 2 and 3 byte tokens.
    const pieces: string[] = [];
    const r = await generateAll(llama, { prompt: 'Zoë’s café', steps: 60, temperature: 0.9, seed: 12 }, (t) => pieces.push(t.text));
    expect(pieces.join('')).toBe(r.text);
    expect(r.text.startsWith('Zoë’s café')).toBe(true);
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
    expect(pieces.filter((p) => p === '').length).toBeGreaterThan(0); // bytes held back mid-character
  });

  it('reports log-probabilities and the top alternatives of each sampled token', async () => {
    const tokens: GeneratedToken[] = [];
    await generateAll(llama, { prompt: 'Once upon a time', steps: 30, temperature: 0, alternatives: 4 }, (t) => tokens.push(t));
    const sampled = tokens.filter((t) => !t.fromPrompt);
    expect(sampled.length).toBeGreaterThan(10);
    for (const t of sampled) {
      expect(t.top).toHaveLength(4);
      expect(t.top[0].id).toBe(t.id); // greedy picks the most likely token
      expect(t.top[0].logprob).toBeCloseTo(t.logprob!, 6);
      expect(t.top.map((a) => a.logprob)).toEqual([...t.top.map((a) => a.logprob)].sort((a, b) => b - a));
      expect(t.top.reduce((s, a) => s + Math.exp(a.logprob), 0)).toBeLessThanOrEqual(1 + 1e-6);
    }
    // prompt tokens carry the probability the model gave them; BOS has none
    expect(tokens[0].logprob).toBeNull();
    expect(tokens.filter((t) => t.fromPrompt).slice(1).every((t) => t.logprob! < 0)).toBe(true);
  });

  it('stops when the signal aborts, and reports speed', async () => {
    const controller = new AbortController();
    let generated = 0;
    const it = generate(llama, { prompt: '', steps: 200, temperature: 1, seed: 4, signal: controller.signal });
    let r = await it.next();
    for (; !r.done; r = await it.next()) if (!r.value.fromPrompt && ++generated === 5) controller.abort();
    expect(r.value.stopReason).toBe('aborted');
    expect(r.value.tokens).toHaveLength(6); // BOS + 5
    expect(r.value.tokensPerSecond).toBeGreaterThan(0);
  });

  it('ends early when the model emits BOS, as the reference does', async () => {
    const r = await generateAll(llama, { prompt: 'Once upon a time', steps: 512, temperature: 0 });
    // the greedy story ends before the context is full
    expect(r.stopReason).toBe('bos');
    expect(r.tokens.length).toBeLessThan(513);
  });

  it('takes a Llama 2-Chat dialogue as the prompt: BOS and EOS between turns, text without them', async () => {
    const chat: ChatSpec = { system: 'Tell stories.', turns: [{ user: 'Hi', assistant: 'Hello.' }, { user: 'A story, please.' }] };
    const streamed: GeneratedToken[] = [];
    const r = await generateAll(llama, { prompt: chat, steps: 120, temperature: 0 }, (t) => streamed.push(t));
    const prompt = chatTokens(llama.tokenizer, chat);
    expect(r.promptTokens).toBe(prompt.length);
    expect(r.tokens.slice(0, prompt.length)).toEqual(prompt);
    expect(prompt.filter((id) => id === llama.tokenizer.eosId)).toHaveLength(1);
    expect(streamed.map((t) => t.text).join('')).toBe(r.text);
    expect(r.text.startsWith('[INST] <<SYS>>\nTell stories.\n<</SYS>>\n\nHi [/INST] Hello. [INST] A story, please. [/INST]')).toBe(true);
    expect(r.tokens.length).toBeGreaterThan(prompt.length);
  });

  it('stops at EOS after a chat prompt; after plain text, as run.c, only at BOS', async () => {
    const always = eosModel();
    try {
      const chat = await generateAll(always, { prompt: { turns: [{ user: 'Hi' }] }, steps: 40, temperature: 0 });
      expect(chat.stopReason).toBe('eos');
      expect(chat.tokens).toHaveLength(chat.promptTokens);
      const plain = await generateAll(always, { prompt: 'Hi', steps: 10, temperature: 0 });
      expect(plain.stopReason).toBe('steps');
      expect(plain.tokens.slice(plain.promptTokens)).toEqual(Array(10 - plain.promptTokens + 1).fill(2));
    } finally {
      always.dispose();
    }
  });

  describe('a prompt longer than a prefill chunk', () => {
    // 408 tokens of tok512 with BOS: one chunk by default (PREFILL_CHUNK 512), 13 chunks of 32.
    const story = 'Once upon a time there was a little girl named Lily. She liked to play in the park with her dog. '.repeat(14);
    const CHUNK = 32;
    const run = async (prefillChunk?: number) => {
      const tokens: GeneratedToken[] = [];
      const result = await generateAll(llama, { prompt: story, steps: 480, temperature: 0, prefillChunk }, (t) => tokens.push(t));
      return { tokens, result };
    };

    it('goes through in chunks with the same tokens and prompt log-probabilities as in one', async () => {
      const whole = await run();
      const chunked = await run(CHUNK);
      expect(whole.result.promptTokens).toBeGreaterThan(12 * CHUNK);
      expect(whole.result.promptTokens).toBeLessThan(PREFILL_CHUNK);
      expect(chunked.result.tokens).toEqual(whole.result.tokens);
      // Positions of a later chunk attend to the cache's keys instead of their batch's: the same
      // values. The products run with other batch sizes, where XNNPACK may sum in another order
      // (float32 noise, ~1e-6 of a logit of order 10); 1e-4 is far below what changes a token.
      const logprobs = (r: typeof whole) => r.tokens.filter((t) => t.fromPrompt).map((t) => t.logprob);
      expect(logprobs(chunked)[0]).toBeNull(); // BOS
      logprobs(whole).slice(1).forEach((lp, i) => expect(logprobs(chunked)[i + 1]).toBeCloseTo(lp!, 4));
    });

    it('holds the logits of one chunk at a time', async () => {
      const peak = async (prefillChunk?: number) => (await tf.profile(async () => void (await run(prefillChunk)))).peakBytes;
      const [whole, chunked] = [await peak(), await peak(CHUNK)];
      const { promptTokens } = (await run()).result;
      // One chunk keeps [promptTokens, vocab] float32 logits at once; chunks of 32 never more
      // than [32, vocab]. Everything else (the cache, the weights) is the same in both.
      expect(whole - chunked).toBeGreaterThanOrEqual((promptTokens - CHUNK) * llama.config.vocabSize * 4);
    });

    it("stays within the memory plan's working tensors for a whole chunk", async () => {
      // A prompt of nearly a whole chunk (the context is 512): the peak over weights and cache is
      // what the plan counts as working tensors for a chunk of PREFILL_CHUNK positions.
      const prompt = story.repeat(2);
      const promptTokens = Math.min(llama.tokenizer.encode(prompt, { bos: true }).length, llama.config.seqLen - 1);
      expect(promptTokens).toBeGreaterThan(500);
      const before = tf.memory().numBytes; // the weights
      const { peakBytes } = await tf.profile(async () => void (await generateAll(llama, { prompt, steps: promptTokens, temperature: 0 })));
      const plan = planMemory(llama.config, uniformTensors(llama.config, 'f32'));
      expect(peakBytes - before - plan.kvCacheBytes).toBeGreaterThan(0);
      expect(peakBytes - before - plan.kvCacheBytes).toBeLessThanOrEqual(plan.activationBytes);
    });

    it('stops between chunks when the signal aborts, with the prompt tokens read so far', async () => {
      const controller = new AbortController();
      const it = generate(llama, { prompt: story, steps: 480, temperature: 0, prefillChunk: CHUNK, signal: controller.signal });
      let r = await it.next();
      // The first chunk, positions 0..31, scores prompt tokens 1..32.
      for (; !r.done; r = await it.next()) if (r.value.position === CHUNK) controller.abort();
      expect(r.value.stopReason).toBe('aborted');
      expect(r.value.tokens).toHaveLength(CHUNK + 1); // BOS and the 32 it scored
    });
  });
});
