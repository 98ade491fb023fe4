// The chapter 4 widget's pure helpers: which variants it compares, the series it charts, the
// diagram's words, input parsing, and its page-side story split against the engine's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTraffic } from '../../src/engine/decode-cost.ts';
import { splitStories } from '../../src/engine/evaluate.ts';
import { withKvHeads } from '../../src/engine/kv-groups.ts';
import { presetById } from '../../src/engine/presets.ts';
import { groupSummary } from '../../components/widgets/attention/diagram-text.ts';
import { splitStoriesText } from '../../components/widgets/attention/stories.ts';
import { BATCHES, CONTEXTS, costSeries, parseCount, powersOfTwo, variantsToCompare } from '../../components/widgets/attention/variants.ts';

const ROOT = join(import.meta.dirname, '../..');
const l70 = presetById('llama2-70b')!.config;
const l7 = presetById('llama2-7b')!.config;
const setting = { context: 4096, batch: 8, weightFormat: 'float16' as const, kvElementBytes: 2 };

describe('attention-variants widget helpers', () => {
  it('compares MHA, the released arrangement, the picked one and MQA, each once', () => {
    expect(variantsToCompare(l70, 8).map((v) => v.label)).toEqual(['MHA (64 kv heads)', 'GQA (8 kv heads)', 'MQA (1 kv head)']);
    expect(variantsToCompare(l70, 16).map((v) => v.kvHeads)).toEqual([64, 16, 8, 1]);
    expect(variantsToCompare(l7, 32).map((v) => v.label)).toEqual(['MHA (32 kv heads)', 'MQA (1 kv head)']);
    expect(variantsToCompare(l7, 4).map((v) => v.config.nKvHeads)).toEqual([32, 4, 1]);
  });

  it('charts one line per variant over the doubling contexts or batches, from the cost model', () => {
    expect(powersOfTwo(128, 1000)).toEqual([128, 256, 512, 1000]);
    const variants = variantsToCompare(l70, 8);
    const byContext = costSeries(variants, setting, 'context', 'totalPerToken');
    expect(byContext).toHaveLength(variants.length * CONTEXTS.length);
    const p = byContext.find((q) => q.variant === 'MQA (1 kv head)' && q.x === 32768)!;
    expect(p.y).toBe(decodeTraffic(withKvHeads(l70, 1), { ...setting, context: 32768 }).totalPerToken);
    const byBatch = costSeries(variants, setting, 'batch', 'kvCacheMemory');
    expect(byBatch.filter((q) => q.variant === 'GQA (8 kv heads)').map((q) => q.x)).toEqual(BATCHES);
    // Cache memory is linear in the batch; the bytes per token fall with it towards the cache read.
    const gqa = byBatch.filter((q) => q.variant === 'GQA (8 kv heads)');
    expect(gqa[3].y).toBe(8 * gqa[0].y);
  });

  it('says which query heads share which kv head', () => {
    expect(groupSummary(l70)).toBe('GQA: 64 query heads in 8 groups of 8; query heads 0–7 read head 0, 8–15 head 1, …, 56–63 head 7.');
    expect(groupSummary({ ...l70, nHeads: 8, nKvHeads: 2 })).toBe('GQA: 8 query heads in 2 groups of 4; query heads 0–3 read head 0, 4–7 read head 1.');
    expect(groupSummary(l7)).toBe('MHA: each of the 32 query heads has its own key/value head.');
    expect(groupSummary(withKvHeads(l7, 1))).toBe('MQA: all 32 query heads share one key/value head.');
  });

  it('parses counts and explains what is wrong with the others', () => {
    expect(parseCount(' 40 ', 'The number of stories', 1, 240)).toEqual({ value: 40 });
    expect(parseCount('0', 'The number of stories', 1, 240)).toEqual({ error: 'The number of stories must be from 1 to 240, not 0.' });
    expect(parseCount('2.5', 'The batch size', 1, 4096)).toEqual({ error: 'The batch size must be a whole number from 1 to 4096.' });
    expect(parseCount('', 'The batch size', 1, 4096)).toHaveProperty('error');
  });

  it('splits the validation slice as the engine does (the page cannot import evaluate.ts)', () => {
    const text = readFileSync(join(ROOT, 'public/data/tinystories-valid-240.txt'), 'utf8');
    const stories = splitStoriesText(text);
    expect(stories).toEqual(splitStories(text));
    expect(stories).toHaveLength(240);
  });
});
