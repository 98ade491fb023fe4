// Chapter 4's conversion to fewer key/value heads (GQA paper: mean-pool the K and V projection
// heads of each group), on a real GQA checkpoint (stories260K: 8 query heads, 4 kv heads) and the
// embedded model through the engine worker's task.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/engine/checkpoint/llama2c.ts';
import type { Checkpoint } from '../../src/engine/checkpoint/checkpoint.ts';
import { headSize, kvHeadOf } from '../../src/engine/config.ts';
import { decodeTraffic } from '../../src/engine/decode-cost.ts';
import { evaluateStories, splitStories } from '../../src/engine/evaluate.ts';
import { poolableKvHeads, pooledKvHeads, possibleKvHeads, queryGroups, withKvHeads } from '../../src/engine/kv-groups.ts';
import { poolKvHeads } from '../../src/engine/kv-pooling.ts';
import { measureKvVariant, pooledLlama } from '../../src/engine/kv-variant.ts';
import { Llama } from '../../src/engine/llama.ts';
import { weightBytes } from '../../src/engine/params.ts';
import { presetById } from '../../src/engine/presets.ts';
import { createEngineState, handleRequest } from '../../src/worker/handler.ts';
import type { EngineReply, EngineRequest } from '../../src/worker/protocol.ts';
import { onBackend } from '../support/engine.ts';
import { sharedBytes, STORIES260K, TOK512 } from '../support/shared.ts';

const ROOT = join(import.meta.dirname, '../..');
const ck: Checkpoint = parseLlama2c(sharedBytes(STORIES260K), 'stories260K.bin');
const c = ck.config;
const hs = headSize(c);
/** The rows of kv head j of a [kvHeads·hs, dim] matrix. */
const head = (w: Float32Array, j: number) => w.subarray(j * hs * c.dim, (j + 1) * hs * c.dim);

beforeAll(async () => {
  await onBackend('cpu');
});

describe('kv-head groups', () => {
  it('lists the counts a model can be pooled to, and every count its query heads allow', () => {
    expect([c.nHeads, c.nKvHeads]).toEqual([8, 4]); // the checkpoint this file is about
    expect(poolableKvHeads(c)).toEqual([4, 2, 1]);
    expect(possibleKvHeads(c)).toEqual([8, 4, 2, 1]);
    const mha = presetById('llama2-7b')!.config;
    expect(poolableKvHeads(mha)).toEqual([32, 16, 8, 4, 2, 1]);
  });

  it('groups consecutive query heads on each kv head (Llama 2 70B: 64 query heads, 8 kv heads)', () => {
    const groups = queryGroups(presetById('llama2-70b')!.config);
    expect(groups).toHaveLength(8);
    groups.forEach((g, j) => expect(g).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => 8 * j + i)));
    expect(queryGroups(withKvHeads(c, 1))).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
    expect(pooledKvHeads(c, 2)).toEqual([[0, 1], [2, 3]]);
  });

  it('refuses a count that does not divide the kv heads, with the counts that would', () => {
    expect(() => poolKvHeads(ck, 3)).toThrow('cannot pool 4 key/value heads into 3: the count must divide 4 (one of 4, 2, 1)');
    expect(() => poolKvHeads(ck, 8)).toThrow(/cannot pool 4 key\/value heads into 8/);
    expect(() => poolKvHeads(ck, 0)).toThrow(/cannot pool/);
  });
});

describe('mean-pooling the key and value heads', () => {
  it.each([2, 1])('to %d kv heads: each query head reads the mean of its group’s heads, as MHA heads', (g) => {
    const pooled = poolKvHeads(ck, g);
    expect(pooled.config).toEqual({ ...c, nKvHeads: g });
    pooled.layers.forEach((l, layer) => {
      const orig = ck.layers[layer];
      for (const [name, w] of [['wk', orig.wk], ['wv', orig.wv]] as const) {
        expect(l[name]).toHaveLength(g * hs * c.dim);
        // The paper's definition, written independently of pooledKvHeads: expand the original to
        // MHA (query head h's own key head is the kv head it reads), then average over the query
        // heads that now share pooled head j.
        for (let j = 0; j < g; j++) {
          const members = [...Array(c.nHeads).keys()].filter((h) => kvHeadOf(pooled.config, h) === j);
          const want = new Float32Array(hs * c.dim);
          for (let i = 0; i < want.length; i++) {
            let sum = 0;
            for (const h of members) sum += head(w, kvHeadOf(c, h))[i];
            want[i] = sum / members.length;
          }
          // float64 sums of equal-weighted copies, rounded once: the same float32 either way.
          expect(head(l[name], j)).toEqual(want);
        }
      }
      // Nothing else changes (shared, not copied).
      for (const k of ['wq', 'wo', 'w1', 'w2', 'w3', 'rmsAtt', 'rmsFfn'] as const) expect(l[k]).toBe(orig[k]);
    });
    expect(pooled.tokenEmbedding).toBe(ck.tokenEmbedding);
  });

  it('with the model’s own kv-head count copies the weights and reproduces its logits exactly', async () => {
    const same = poolKvHeads(ck, c.nKvHeads);
    same.layers.forEach((l, i) => {
      expect(l.wk).toEqual(ck.layers[i].wk);
      expect(l.wv).toEqual(ck.layers[i].wv);
    });
    const tokenizer = sharedBytes(TOK512);
    const original = Llama.fromBytes(sharedBytes(STORIES260K), 'stories260K.bin', tokenizer, 'tok512.bin');
    const variant = pooledLlama(original, c.nKvHeads);
    const pooledMqa = pooledLlama(original, 1);
    try {
      const tokens = original.tokenizer.encode('Once upon a time, a little dog ran to the park.', { bos: true });
      const logits = async (m: Llama) => {
        const cache = m.newCache();
        const out = m.model.forward(tokens, 0, cache);
        const v = (await out.data()) as Float32Array;
        out.dispose();
        cache.dispose();
        return v;
      };
      const want = await logits(original);
      expect(await logits(variant)).toEqual(want); // bit for bit
      // …and the pooling does change the model when it merges heads (the test above can fail).
      const mqa = await logits(pooledMqa);
      expect(Math.max(...mqa.map((v, i) => Math.abs(v - want[i])))).toBeGreaterThan(1e-3);
    } finally {
      original.dispose();
      variant.dispose();
      pooledMqa.dispose();
    }
  });
});

describe('KV-cache sizes of the variants', () => {
  it.each([4, 2, 1])('%d kv heads: the filled cache holds 2 · layers · kv heads · head size floats per position', async (g) => {
    const original = Llama.fromBytes(sharedBytes(STORIES260K), 'stories260K.bin', sharedBytes(TOK512), 'tok512.bin');
    try {
      const m = await measureKvVariant(original, g, { stories: [], prompt: 'Once upon a time', steps: 12 });
      expect(m).not.toBeNull();
      const perToken = 2 * c.nLayers * g * hs * 4; // float32, as the engine stores them
      expect(m!.kvBytesPerToken).toBe(perToken);
      expect(m!.kvBytesFullContext).toBe(perToken * c.seqLen);
      expect(m!.cacheBytesMeasured).toBe(perToken * m!.cachePositionsAllocated);
      expect(m!.kind).toBe(g === 1 ? 'MQA' : 'GQA');
      expect(m!.parameters).toBe(260_032 - c.nLayers * 2 * (c.nKvHeads - g) * hs * c.dim);
    } finally {
      original.dispose();
    }
  });

  it('decode traffic: the weights are read once per step, each sequence’s cache once per token', () => {
    const gqa = presetById('llama2-70b')!.config;
    const s = { context: 4096, batch: 16, weightFormat: 'float16' as const, kvElementBytes: 2 };
    const t = decodeTraffic(gqa, s);
    // 80 layers · 8 kv heads · 128 · 2 (k and v) · 2 bytes = 320 KiB per token and sequence.
    expect(t.kvCacheMemory).toBe(327_680 * 4096 * 16);
    expect(t.kvPerToken).toBe(327_680 * 4096);
    expect(t.weightsPerToken).toBe(weightBytes(gqa, 'float16') / 16);
    expect(t.totalPerToken).toBe(t.weightsPerToken + t.kvPerToken);
    // MHA would cache 8× as much, MQA an eighth; the K/V projections shrink with them.
    const mha = decodeTraffic(withKvHeads(gqa, 64), s);
    const mqa = decodeTraffic(withKvHeads(gqa, 1), s);
    expect(mha.kvCacheMemory).toBe(8 * t.kvCacheMemory);
    expect(mqa.kvCacheMemory * 8).toBe(t.kvCacheMemory);
    expect(mha.weightsPerStep - t.weightsPerStep).toBe(80 * 2 * (64 - 8) * 128 * 8192 * 2);
    expect(() => decodeTraffic(gqa, { ...s, batch: 0 })).toThrow(RangeError);
  });
});

describe('the kv-variant task in the engine worker', () => {
  it('measures the embedded model pooled to each count, reports progress, stops, and rejects a bad count', async () => {
    const state = createEngineState({ download: async () => { throw new Error('no downloads here'); }, caches: null });
    const replies: EngineReply[] = [];
    let next = 1;
    const send = async (body: Record<string, unknown>) => {
      const id = next++;
      await handleRequest(state, { ...body, id } as EngineRequest, (r) => replies.push(r));
      const reply = replies.find((r) => (r.type === 'done' || r.type === 'error') && r.id === id)!;
      return { id, reply };
    };
    const model = readFileSync(join(ROOT, 'public/models/default/model.bin'));
    const tok = readFileSync(join(ROOT, 'public/models/default/tokenizer.bin'));
    await send({ type: 'init', backend: 'cpu' });
    const load = await send({ type: 'load', spec: { kind: 'files', model: Object.assign(new Blob([model]), { name: 'model.bin' }), tokenizer: Object.assign(new Blob([tok]), { name: 'tokenizer.bin' }) } });
    expect(load.reply.type).toBe('done');

    const stories = splitStories(readFileSync(join(ROOT, 'public/data/tinystories-valid-240.txt'), 'utf8')).slice(0, 3);
    const embedded = Llama.fromBytes(new Uint8Array(model), 'model.bin', new Uint8Array(tok), 'tokenizer.bin');
    const own = embedded.config.nKvHeads;
    try {
      const args = { stories, prompt: 'Once upon a time', steps: 16 };
      const { id, reply } = await send({ type: 'task', name: 'kv-variant', args: { ...args, kvHeads: own } });
      expect(reply.type).toBe('done');
      const result = (reply as Extract<EngineReply, { type: 'done' }>).result as Awaited<ReturnType<typeof measureKvVariant>>;
      // The model's own count is the model itself: the same bits per byte as evaluating it directly
      // (per-story NLL sums recombined in float64: equal to ~1e-15).
      const direct = await evaluateStories(embedded, stories);
      expect(result!.bitsPerByte).toBeCloseTo(direct.bitsPerByte, 12);
      expect(result!.tokens).toBe(direct.tokens);
      expect(result!.kvBytesPerToken).toBe(2 * embedded.config.nLayers * own * headSize(embedded.config) * 4);
      const progress = replies.flatMap((r) => (r.type === 'progress' && r.id === id ? [r.data] : []));
      expect(progress.at(-1)).toEqual({ kvHeads: own, storiesDone: 3, stories: 3 });
      expect(progress).toHaveLength(4);

      // MQA: pooled to one kv head, a smaller cache and a worse (but finite) loss.
      const mqa = await send({ type: 'task', name: 'kv-variant', args: { ...args, kvHeads: 1 } });
      const m = (mqa.reply as Extract<EngineReply, { type: 'done' }>).result as NonNullable<typeof result>;
      expect(m.kvBytesPerToken * own).toBe(result!.kvBytesPerToken);
      expect(m.bitsPerByte).toBeGreaterThan(result!.bitsPerByte);

      // A stop between stories answers null.
      const pending = handleRequest(state, { type: 'task', id: 99, name: 'kv-variant', args: { ...args, kvHeads: 1 } } as EngineRequest, (r) => {
        replies.push(r);
        if (r.type === 'progress' && r.id === 99 && (r.data as { storiesDone: number }).storiesDone === 1)
          void handleRequest(state, { type: 'stop', id: 99 } as EngineRequest, () => {});
      });
      await pending;
      expect(replies.find((r) => r.type === 'done' && r.id === 99)).toMatchObject({ result: null });

      const bad = await send({ type: 'task', name: 'kv-variant', args: { ...args, kvHeads: 3 } });
      expect(bad.reply).toMatchObject({ type: 'error', message: expect.stringMatching(/cannot pool \d+ key\/value heads into 3/) });

    } finally {
      embedded.dispose();
    }
  });
});
