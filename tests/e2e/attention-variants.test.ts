// Chapter 4's attention-variants explorer shows the engine's numbers: the decode-traffic table
// equals the cost model in Node for a preset and kv-head count chosen in the page, and the live
// conversion of the embedded model (mean-pooled kv heads, measured in the page's worker on wasm)
// gives the bits per byte, KV-cache sizes and greedy samples that the same code gives in Node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { decodeTraffic } from '../../src/engine/decode-cost.ts';
import { withKvHeads, poolableKvHeads } from '../../src/engine/kv-groups.ts';
import type { KvVariantMeasure } from '../../src/engine/kv-variant.ts';
import { presetById } from '../../src/engine/presets.ts';
import { SAMPLE_PROMPT, SAMPLE_STEPS, splitStoriesText } from '../../components/widgets/attention/stories.ts';
import { chapterPath, embeddedLlama, formatViolations, openSession, ROOT, runAxe, serious, setValue, type Session } from './harness.ts';

/** Fewer than the default 40 stories: the page and Node each evaluate every variant. */
const STORIES = 12;
const PAGE = chapterPath('attention-variants', '?backend=wasm');

let expected: KvVariantMeasure[] = [];
let s: Session;

beforeAll(async () => {
  const { measureKvVariant } = await import('../../src/engine/kv-variant.ts');
  const stories = splitStoriesText(readFileSync(join(ROOT, 'public/data/tinystories-valid-240.txt'), 'utf8')).slice(0, STORIES);
  const llama = await embeddedLlama('wasm');
  try {
    for (const g of poolableKvHeads(llama.config)) {
      const m = await measureKvVariant(llama, g, { stories, prompt: SAMPLE_PROMPT, steps: SAMPLE_STEPS });
      expected.push(m!);
    }
  } finally {
    llama.dispose();
  }
  s = await openSession('webgpu');
}, 600_000);
afterAll(async () => {
  await s?.close();
});

const rowsOf = (root: Locator, testId: string) =>
  root.getByTestId(testId).evaluateAll((rows) => rows.map((r) => ({ ...(r as HTMLElement).dataset })));

describe('attention-variants explorer', () => {
  it('draws the heads of a preset and its decode cost, as the cost model computes it', async () => {
    const v = await s.open(chapterPath('attention-variants'), { viewport: { width: 1280, height: 900 } });
    try {
      const { page } = v;
      const root = page.getByTestId('attn');
      await root.scrollIntoViewIfNeeded();
      await expect.poll(() => root.getByTestId('attn-measure').isEnabled(), { timeout: 120_000, message: 'the widget hydrates' }).toBe(true);
      await setValue(root.getByTestId('attn-model'), 'llama2-70b');
      await setValue(root.getByTestId('attn-kv-heads'), '16');
      await setValue(root.getByTestId('attn-context'), '8192');
      await setValue(root.getByTestId('attn-batch'), '4');
      await setValue(root.getByTestId('attn-kv-format'), 'int8');

      const diagram = root.getByTestId('attn-diagram');
      expect(await diagram.getAttribute('data-query-heads')).toBe('64');
      expect(await diagram.getAttribute('data-kv-heads')).toBe('16');
      expect(await diagram.locator('svg line').count()).toBe(64);
      expect(await root.getByTestId('attn-diagram-caption').textContent()).toMatch(/^GQA: 64 query heads in 16 groups of 4; query heads 0–3 read head 0/);

      // Pure JavaScript on both sides: the page's bytes equal Node's exactly.
      const config = presetById('llama2-70b')!.config;
      const setting = { context: 8192, batch: 4, weightFormat: 'float16' as const, kvElementBytes: 1 };
      await expect.poll(async () => (await rowsOf(root, 'attn-cost-row')).map((r) => Number(r.kvHeads))).toEqual([64, 16, 8, 1]);
      for (const g of [64, 16, 8, 1]) {
        const want = decodeTraffic(withKvHeads(config, g), setting);
        const cells = await root.locator(`[data-testid="attn-cost-row"][data-kv-heads="${g}"] td`).evaluateAll((tds) => tds.map((td) => Number((td as HTMLElement).dataset.bytes)));
        expect(cells).toEqual([want.weightsPerToken, want.kvPerToken, want.totalPerToken, want.kvCacheMemory]);
      }
      await expect.poll(() => root.getByTestId('attn-cost-chart').locator('svg[role="img"]').count(), { timeout: 30_000 }).toBe(1);
      await setValue(root.getByTestId('attn-axis'), 'batch');
      await expect.poll(() => root.getByTestId('attn-cost-chart').locator('svg[role="img"]').getAttribute('aria-label')).toMatch(/against batch size/);

      // A batch of zero is refused with a message, and the table waits for a valid one.
      await setValue(root.getByTestId('attn-batch'), '0');
      expect(await root.getByTestId('attn-cost-error').textContent()).toContain('The batch size must be from 1 to 4096, not 0.');
      expect(await root.getByTestId('attn-cost').count()).toBe(0);
      expect(v.errors).toEqual([]);
      expect(v.offsite).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('converts the loaded model to every kv-head count and measures it as the engine does in Node (wasm)', async () => {
    const v = await s.open(PAGE, { viewport: { width: 1280, height: 900 } });
    try {
      const { page } = v;
      const root = page.getByTestId('attn');
      await root.scrollIntoViewIfNeeded();
      await expect.poll(() => root.getByTestId('attn-model-status').textContent(), { timeout: 240_000, message: 'the model loads' }).toMatch(/ on wasm: \d+ query heads/);
      await setValue(root.getByTestId('attn-stories'), String(STORIES));
      await root.getByTestId('attn-measure').click();
      // Progress is shown while it works (a progress bar and which variant and story).
      await root.getByTestId('attn-progress').locator('progress').waitFor({ timeout: 60_000 });
      expect(await root.getByTestId('attn-progress').textContent()).toMatch(new RegExp(`Variant \\d of ${expected.length} \\(\\d+ kv heads?\\)`));
      await expect
        .poll(() => root.getByTestId('attn-progress').getAttribute('data-state'), { timeout: 420_000, interval: 250, message: 'the measurement ends' })
        .toMatch(/^(done|error)$/);
      expect(await root.getByTestId('attn-error').count(), 'no error').toBe(0);

      const rows = await rowsOf(root, 'attn-result-row');
      expect(rows.map((r) => Number(r.kvHeads))).toEqual(expected.map((m) => m.kvHeads));
      for (const [i, want] of expected.entries()) {
        const got = rows[i];
        // Sizes are integers computed from the shape, and the cache's bytes are read back from
        // the page's own filled cache: exact.
        expect(Number(got.kvBytesPerToken)).toBe(want.kvBytesPerToken);
        expect(Number(got.kvBytesFullContext)).toBe(want.kvBytesFullContext);
        expect(Number(got.cacheBytes)).toBe(want.kvBytesPerToken * Number(got.cachePositions));
        // Bits per byte: both sides run wasm in float32, but Chromium's build may use other SIMD
        // and thread splits than Node's, so logits may differ by rounding; the engine's
        // cross-backend test bounds final logits within 2e-4. A log-softmax moves by at most twice
        // the largest logit change, so each token's NLL by ≤ 4e-4 nats, and the bits per byte by
        // ≤ 4e-4 · tokens / bytes / ln 2 (≈1.5e-4 here): far below the ~0.1 between variants.
        const tolerance = (4e-4 * want.tokens) / want.bytes / Math.LN2;
        expect(Math.abs(Number(got.bitsPerByte) - want.bitsPerByte), `bits per byte with ${want.kvHeads} kv heads`).toBeLessThanOrEqual(tolerance);
      }
      // The variants differ (the comparison above can tell them apart).
      expect(Math.abs(expected[0].bitsPerByte - expected[expected.length - 1].bitsPerByte)).toBeGreaterThan(0.01);
      // Greedy samples: the playground's e2e test finds wasm in Chromium and in Node pick the same tokens.
      const samples = await root.getByTestId('attn-samples').locator('dd').allTextContents();
      expect(samples).toEqual(expected.map((m) => m.sample));
      await expect.poll(() => root.getByTestId('attn-quality-chart').locator('svg[role="img"]').count(), { timeout: 30_000 }).toBe(1);
      // The results (tables, chart, samples) are accessible too; the page-wide audit runs before any.
      const violations = serious(await runAxe(page));
      expect(violations, formatViolations('after measuring', violations)).toEqual([]);

      // Uptraining the MQA variant 10 steps (two chunks of the task): it gets better than pooled,
      // not as good as the model as trained (the slow test pins the same on wasm in Node).
      await setValue(root.getByTestId('attn-uptrain-variant'), '1');
      await setValue(root.getByTestId('attn-uptrain-steps'), '10');
      await root.getByTestId('attn-uptrain-run').click();
      await root.getByTestId('attn-uptrain-progress').locator('progress').waitFor({ timeout: 60_000 });
      expect(await root.getByTestId('attn-measure').isDisabled()).toBe(true);
      await expect.poll(() => root.getByTestId('attn-uptrain').getAttribute('data-state'), { timeout: 300_000, interval: 250 }).toMatch(/^(done|error)$/);
      expect(await root.getByTestId('attn-uptrain-error').count()).toBe(0);
      const [up] = await rowsOf(root, 'attn-uptrained-row');
      const mqa = expected[expected.length - 1];
      expect(up).toMatchObject({ kvHeads: '1', steps: '10' });
      expect(Number(up.pooledBitsPerByte)).toBe(Number(rows[rows.length - 1].bitsPerByte));
      expect(Number(up.bitsPerByte)).toBeLessThan(mqa.bitsPerByte - 0.02);
      expect(Number(up.bitsPerByte)).toBeGreaterThan(expected[0].bitsPerByte);

      // Measuring again and stopping during the first variant: the run ends as stopped.
      await root.getByTestId('attn-measure').click();
      await expect.poll(() => root.getByTestId('attn-progress').textContent(), { timeout: 60_000 }).toMatch(/story [2-9] of/);
      await root.getByTestId('attn-stop').click();
      await expect.poll(() => root.getByTestId('attn-progress').getAttribute('data-state'), { timeout: 60_000 }).toBe('stopped');
      expect((await rowsOf(root, 'attn-result-row')).length).toBeLessThan(expected.length);
      expect(await root.getByTestId('attn-measure').isEnabled()).toBe(true);
      expect(v.errors).toEqual([]);
      expect(v.offsite).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
