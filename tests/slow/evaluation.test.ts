import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateStories, splitStories } from '../../src/engine/evaluate.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { sharedPath, STORIES260K, STORIES260K_Q80, VALID_STORIES } from '../support/shared.ts';

const first40 = () => splitStories(readFileSync(sharedPath(VALID_STORIES), 'utf8')).slice(0, 40);

describe('evaluation on the first 40 validation stories (wasm)', () => {
  beforeAll(() => onBackend('wasm'));

  it('stories260K: 1.26894 nats/token, 0.8665 bits/byte, as the reference (stories truncated to the context)', async () => {
    const llama = loadShared(STORIES260K);
    const r = await evaluateStories(llama, first40(), { overflow: 'truncate' });
    const full = await evaluateStories(llama, first40());
    llama.dispose();
    expect(r.tokens).toBe(12_802);
    expect(r.bytes).toBe(27_046);
    expect(Math.abs(r.meanNll - 1.26894)).toBeLessThan(0.0005);
    expect(Math.abs(r.bitsPerByte - 0.8665)).toBeLessThan(0.0005);
    // One story has 623 tokens: by default its tail is predicted too (a second window), so every
    // byte counted is a byte predicted.
    expect(full.tokens).toBe(12_913);
    expect(full.bitsPerByte).toBeGreaterThan(r.bitsPerByte);
  });

  it('the int8 checkpoint is within 0.002 nats/token of the float one', async () => {
    const f = loadShared(STORIES260K);
    const q = loadShared(STORIES260K_Q80);
    const [rf, rq] = [await evaluateStories(f, first40()), await evaluateStories(q, first40())];
    f.dispose();
    q.dispose();
    expect(Math.abs(rq.meanNll - rf.meanNll)).toBeLessThan(0.002);
    expect(rq.meanNll).not.toBe(rf.meanNll); // the weights really differ
  });
});
