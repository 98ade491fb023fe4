// Chapter 9's widgets in headless Chromium on the wasm backend: the margin explorer's slider and
// variant choice show the ranking loss computed in Node, and the reward-model trainer, driven
// through its controls (margins, steps, Train, Stop, Resume), shows the held-out accuracies and
// reward gaps that the same run computes in Node with the embedded model.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marginVariants } from '../../components/widgets/reward/paper-margins.ts';
import { splitStories } from '../../src/engine/evaluate.ts';
import { buildPairs } from '../../src/train/reward/pairs.ts';
import { rankingLoss, rankingLossSlope } from '../../src/train/reward/ranking-loss.ts';
import type { Evaluation } from '../../src/train/reward/reward-run.ts';
import { RATINGS } from '../../src/train/reward/ratings.ts';
import { DEFAULT_HEAD_OPTIONS } from '../../src/train/reward/scalar-head.ts';
import { chapterPath, formatViolations, horizontalOverflow, ROOT, runAxe, screenshot, serious, useTheme, embeddedLlama, openSession, type Session, numberAttr } from './harness.ts';

const SLUG = 'reward-modelling';
/** Two of the page's 25-step chunks: a few seconds of head training after the encoding. */
const STEPS = 50;
const small = marginVariants().find((v) => v.id === 'small')!;

/**
 * Tolerance for the trained numbers. The page's backbone runs on wasm in Chromium, Node's on wasm
 * in Node: the same kernels, but threads and SIMD may split sums differently, so each hidden-state
 * value can differ by a few float32 ulps (~1e−6 relative; tests/slow/backends-logits.test.ts finds
 * whole-model logits within 2e−4 across backends). The head is trained in float64 on those
 * features, a smooth map, so after 50 Adam steps gaps of order 1–10 move by ~1e−5. We allow 1e−3
 * absolute + 1e−3 relative on gaps and losses (~100× that), and let a pair's ranking differ only
 * where Node's gap is within 1e−3 of a tie.
 */
const TOL = 1e-3;
const close = (got: number, want: number) => Math.abs(got - want) <= TOL + TOL * Math.abs(want);

let node: Evaluation;
let s: Session;

beforeAll(async () => {
  const { RewardRun } = await import('../../src/train/reward/reward-run.ts');
  const llama = await embeddedLlama('wasm');
  try {
    const stories = splitStories(readFileSync(join(ROOT, 'public/data/tinystories-valid-240.txt'), 'utf8'));
    const run = new RewardRun(llama, buildPairs(stories), small.margins, DEFAULT_HEAD_OPTIONS);
    await run.encode(Infinity);
    run.trainSteps(STEPS);
    node = run.evaluate();
  } finally {
    llama.dispose();
  }
  s = await openSession('no-gpu');
}, 600_000);
afterAll(async () => {
  await s?.close();
});


describe('chapter 9 widgets (wasm)', () => {
  it('the margin explorer shows the ranking loss and slope of every rating at the slider’s Δ', async () => {
    const v = await s.open(`${chapterPath(SLUG)}?backend=wasm`, { viewport: { width: 1280, height: 900 } });
    try {
      const root = v.page.getByTestId('reward-margins');
      await root.scrollIntoViewIfNeeded();
      await expect.poll(() => root.getByTestId('rm-chart').getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
      const slider = root.getByTestId('rm-delta');
      await slider.focus();
      for (let i = 0; i < 15; i++) await v.page.keyboard.press('ArrowRight'); // 0 → 1.5 in steps of 0.1
      await expect.poll(() => root.getByTestId('rm-delta-value').textContent()).toBe('1.5');
      const delta = Number(await slider.inputValue());
      expect(delta).toBeCloseTo(1.5, 12);
      for (const variant of marginVariants()) {
        for (const r of RATINGS) {
          const row = root.locator(`[data-testid="rm-row"][data-rating="${r}"]`);
          const loss = row.locator(`[data-testid="rm-loss"][data-variant="${variant.id}"]`);
          const slope = row.locator(`[data-testid="rm-slope"][data-variant="${variant.id}"]`);
          // The same function in both places: equal to the last bit.
          expect(await numberAttr(loss)).toBe(rankingLoss(delta, variant.margins[r]));
          expect(await numberAttr(slope)).toBe(rankingLossSlope(delta, variant.margins[r]));
          expect(await loss.textContent()).toBe(rankingLoss(delta, variant.margins[r]).toFixed(3));
        }
      }
      // One variant only: the other's columns go.
      await root.getByTestId('rm-show-large').check();
      await expect.poll(() => root.locator('[data-testid="rm-loss"][data-variant="small"]').count()).toBe(0);
      expect(await root.locator('[data-testid="rm-loss"][data-variant="large"]').count()).toBe(RATINGS.length);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('trains the reward model with stop and resume, and shows the accuracies Node computes', async () => {
    const v = await s.open(`${chapterPath(SLUG)}?backend=wasm`, { viewport: { width: 1280, height: 900 } });
    try {
      const root = v.page.getByTestId('reward-trainer');
      await root.scrollIntoViewIfNeeded();
      const train = root.getByTestId('rt-train');
      await expect.poll(() => root.getAttribute('data-hydrated'), { timeout: 60_000 }).toBe('true');
      await root.getByTestId('rt-margins-small').check();
      await root.getByTestId('rt-steps').fill(String(STEPS));
      await train.click();
      // Stop while the backbone reads the texts, then resume where it stopped.
      const progress = root.getByTestId('rt-progress');
      await expect.poll(async () => /has read [1-9]\d* of/.test((await progress.textContent()) ?? ''), { timeout: 120_000 }).toBe(true);
      await root.getByTestId('rt-stop').click();
      await expect.poll(() => root.getAttribute('data-phase'), { timeout: 60_000 }).toBe('stopped');
      expect(await train.textContent()).toBe('Resume');
      const readAtStop = Number(/has read (\d+) of/.exec((await progress.textContent()) ?? '')![1]);
      await train.click();
      await expect.poll(() => root.getAttribute('data-phase'), { timeout: 480_000, interval: 500 }).toBe('done');
      expect(readAtStop).toBeGreaterThan(0);

      const table = root.getByTestId('rt-accuracy');
      expect(Number(await table.getAttribute('data-step'))).toBe(STEPS);
      expect(close(await numberAttr(table, 'data-loss'), node.loss)).toBe(true);
      for (const want of node.perRating) {
        const acc = root.locator(`[data-testid="rt-acc"][data-rating="${want.rating}"]`);
        const mean = root.locator(`[data-testid="rt-mean"][data-rating="${want.rating}"]`);
        const nearTies = node.deltas.filter((d) => d.rating === want.rating && Math.abs(d.delta) <= TOL).length;
        expect(Number(await acc.getAttribute('data-pairs'))).toBe(want.pairs);
        expect(Math.abs((await numberAttr(acc)) - want.accuracy)).toBeLessThanOrEqual(nearTies / want.pairs);
        expect(await acc.textContent()).toBe((100 * (await numberAttr(acc))).toFixed(1));
        expect(close(await numberAttr(mean), want.meanDelta), `${want.rating}: page ${await numberAttr(mean)}, node ${want.meanDelta}`).toBe(true);
      }
      await expect.poll(() => root.getByTestId('rt-histogram').locator('svg').count(), { timeout: 30_000 }).toBeGreaterThan(0);
      expect(await root.getByTestId('rt-error').count()).toBe(0);

      // The trained state (results table, histogram, examples) is not on the page a11y.test.ts
      // audits: check it here, in both themes, and at phone width.
      await root.locator('details.rw-examples summary').click();
      for (const theme of ['light', 'dark'] as const) {
        await useTheme(v.page, theme);
        const bad = serious(await runAxe(v.page));
        expect(bad, formatViolations(`trained reward model, ${theme}`, bad)).toEqual([]);
      }
      await v.page.setViewportSize({ width: 375, height: 800 });
      await expect.poll(() => horizontalOverflow(v.page)).toBe(0);
      await root.scrollIntoViewIfNeeded();
      await screenshot(v.page, 'reward-trainer-phone');
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
