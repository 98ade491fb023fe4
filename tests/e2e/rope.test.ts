// Chapter 3's rotary-embedding explorer: a prompt typed in the page, a layer, head, query and key
// chosen with its selects, positions moved with the keyboard and the sliders, and every number it
// shows (the score at (m, n), the score shifted, their difference, the dials' angles, the range of
// scores in and past the context) equal to the same computation in Node on the engine's q and k.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { distanceView, formatScore, pairsToShow, ropeView, type Selection } from '../../components/widgets/rope/view.ts';
import { norm, wrappedAngle } from '../../src/explorers/rope/geometry.ts';
import type { RopeQk } from '../../src/explorers/rope/qk.ts';
import { chapterPath, embeddedLlama, openSession, setValue, type Session, numberAttr } from './harness.ts';

const PROMPT = 'The little cat saw a big red ball. She ran to get it and';

let qk: RopeQk;
let s: Session;

beforeAll(async () => {
  const { ropeQk } = await import('../../src/worker/tasks/rope-qk.ts');
  const llama = await embeddedLlama('wasm');
  try {
    const ctx = { model: () => llama, signal: new AbortController().signal, progress: () => {}, pause: async () => {} };
    qk = (await ropeQk(ctx, { prompt: PROMPT })).result;
  } finally {
    llama.dispose();
  }
  expect(qk.tokens.length).toBeGreaterThan(8);
  s = await openSession('webgpu');
}, 300_000);
afterAll(async () => {
  await s?.close();
});

/**
 * Tolerance for a score: the page's q and k come from another float32 backend than Node's wasm
 * (WebGPU on SwiftShader, or the browser's wasm), with other summation orders; as the stepper's
 * test argues, each element then agrees within 1e-4·(1 + |x|) after the layers. Over the head that
 * is ‖δq‖ ≤ 1e-4·(√d + ‖q‖) (triangle inequality in ℓ2), and a score, a dot product of rotated
 * vectors (rotations keep lengths) over √d, moves by at most (‖δq‖‖k‖ + ‖q‖‖δk‖ + ‖δq‖‖δk‖)/√d.
 */
function scoreTolerance(q: ArrayLike<number>, k: ArrayLike<number>): number {
  const d = q.length;
  const eq = 1e-4 * (Math.sqrt(d) + norm(q));
  const ek = 1e-4 * (Math.sqrt(d) + norm(k));
  return (eq * norm(k) + norm(q) * ek + eq * ek) / Math.sqrt(d);
}


/** Scores past the context outside [min − margin, max + margin]. */
function countOutside(curve: Float64Array, seqLen: number, min: number, max: number, margin: number): number {
  let n = 0;
  for (let d = seqLen; d < curve.length; d++) if (curve[d] > max + margin || curve[d] < min - margin) n++;
  return n;
}

async function settled(root: Locator, prompt: string): Promise<void> {
  const error = root.getByTestId('rope-error');
  await expect
    .poll(
      async () => {
        if (await error.count()) return `error: ${await error.textContent()}`;
        return `${await root.getAttribute('data-prompt')}|${await root.getAttribute('data-busy')}`;
      },
      { timeout: 120_000, interval: 250, message: 'the explorer shows the prompt' },
    )
    .toBe(`${prompt}|false`);
}

describe.each([['wasm'], ['webgpu']] as const)('rotary embedding explorer on %s', (backend) => {
  it("shows the engine's q and k rotated: scores, their shift invariance and the curve past the context, as in Node", async () => {
    const v = await s.open(`${chapterPath('rotary-embeddings')}?backend=${backend}`, { viewport: { width: 1280, height: 900 } });
    try {
      const { page } = v;
      const root = page.getByTestId('rope-explorer');
      await root.scrollIntoViewIfNeeded();
      // Hydrated, model loaded and the default prompt's vectors in (typing before hydration is lost).
      await expect
        .poll(async () => (await root.getAttribute('data-prompt')) !== null && (await root.getAttribute('data-busy')) === 'false', {
          timeout: 240_000,
          message: 'the explorer shows its default prompt',
        })
        .toBe(true);

      // An empty prompt is refused with a message; then the test's prompt.
      await root.getByTestId('rope-prompt').fill('  ');
      await expect.poll(async () => (await root.getByTestId('rope-error').count()) && root.getByTestId('rope-error').textContent()).toMatch(/Type a prompt/);
      await root.getByTestId('rope-prompt').fill(PROMPT);
      await settled(root, PROMPT);

      const last = qk.tokens.length - 1;
      const layer = qk.nLayers - 1;
      const head = qk.nHeads - 1; // the last head reads the last kv head: the grouping is exercised
      const keyToken = 3;
      await root.getByTestId('rope-layer').selectOption({ value: String(layer) });
      await root.getByTestId('rope-head').selectOption({ value: String(head) });
      await root.getByTestId('rope-query-token').selectOption({ value: String(last) });
      await root.getByTestId('rope-key-token').selectOption({ value: String(keyToken) });
      // Positions with the keyboard, as a reader without a mouse would: m two to the left, n one right.
      await root.getByTestId('rope-m').focus();
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowLeft');
      await root.getByTestId('rope-n').focus();
      await page.keyboard.press('ArrowRight');
      // Shift both past the context.
      const shift = qk.seqLen + 37;
      await setValue(root.getByTestId('rope-shift'), String(shift));

      const sel: Selection = { layer, head, queryToken: last, keyToken, m: last - 2, n: keyToken + 1, shift };
      await expect.poll(() => root.getAttribute('data-shift')).toBe(String(shift));
      const shown = {
        layer: await numberAttr(root, 'data-layer'),
        head: await numberAttr(root, 'data-head'),
        queryToken: await numberAttr(root, 'data-query-token'),
        keyToken: await numberAttr(root, 'data-key-token'),
        m: await numberAttr(root, 'data-m'),
        n: await numberAttr(root, 'data-n'),
        shift: await numberAttr(root, 'data-shift'),
      };
      expect(shown).toEqual(sel);
      expect(await root.getByTestId('rope-m-value').textContent()).toBe(String(sel.m));
      expect(await root.getByTestId('rope-past-context').isVisible()).toBe(true);

      const want = ropeView(qk, sel);
      const tol = scoreTolerance(want.q, want.k);
      const score = root.getByTestId('rope-score');
      const shifted = root.getByTestId('rope-score-shifted');
      const got = await numberAttr(score, 'data-value');
      const gotShifted = await numberAttr(shifted, 'data-value');
      expect(Math.abs(got - want.score), `score ${got} vs Node ${want.score}`).toBeLessThanOrEqual(tol);
      expect(Math.abs(gotShifted - want.shiftedScore)).toBeLessThanOrEqual(tol);
      expect(await score.textContent()).toBe(formatScore(got));
      // The page's own shift: same vectors, float64 rotations at positions up to m + s, so the
      // difference is rounding, ≤ 2^-53·(4·(m + s) + 4d) of ‖q‖‖k‖/√d (see the unit test's bound).
      const scale = await numberAttr(root.getByTestId('rope-numbers'), 'data-scale');
      expect(Math.abs(scale - want.scale)).toBeLessThanOrEqual(tol);
      const difference = await numberAttr(root.getByTestId('rope-score-difference'), 'data-value');
      expect(difference).toBe(gotShifted - got);
      expect(Math.abs(difference)).toBeLessThanOrEqual(scale * 2 ** -53 * (4 * (sel.m + shift) + 4 * qk.headDim));
      // …and a different distance is a different score, far beyond that tolerance.
      await root.getByTestId('rope-m').focus();
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => numberAttr(root, 'data-m')).toBe(sel.m + 1);
      const moved = ropeView(qk, { ...sel, m: sel.m + 1 });
      expect(Math.abs((await numberAttr(score, 'data-value')) - moved.score)).toBeLessThanOrEqual(tol);
      expect(Math.abs(moved.score - want.score)).toBeGreaterThan(2 * tol);

      // The dials: one per pair (up to MAX_DIALS), each rotated by its angle at m + s and n + s.
      const dials = root.getByTestId('rope-dial');
      const pairs = pairsToShow(qk.headDim / 2);
      expect(await dials.count()).toBe(pairs.length);
      for (const [i, j] of pairs.entries()) {
        const dial = dials.nth(i);
        expect(await numberAttr(dial, 'data-pair')).toBe(j);
        expect(await numberAttr(dial, 'data-q-angle')).toBeCloseTo(wrappedAngle(sel.m + 1 + shift, want.freqs[j]), 12);
        expect(await numberAttr(dial, 'data-k-angle')).toBeCloseTo(wrappedAngle(sel.n + shift, want.freqs[j]), 12);
      }

      // The distance curve: drawn, and its range in and past the context as in Node.
      const plot = root.getByTestId('rope-plot');
      await plot.scrollIntoViewIfNeeded();
      await expect.poll(() => plot.getAttribute('data-state')).toBe('drawn');
      expect(await plot.locator('svg').count()).toBeGreaterThan(0);
      const dist = distanceView(qk, want);
      const beyond = root.getByTestId('rope-beyond');
      expect(Math.abs((await numberAttr(beyond, 'data-trained-min')) - dist.beyond.trainedMin)).toBeLessThanOrEqual(tol);
      expect(Math.abs((await numberAttr(beyond, 'data-trained-max')) - dist.beyond.trainedMax)).toBeLessThanOrEqual(tol);
      expect(await numberAttr(beyond, 'data-beyond')).toBe(dist.beyond.beyond);
      expect(await numberAttr(beyond, 'data-slow-pairs')).toBe(dist.slowPairs);
      // Each point and each end of the range may move by tol: a point counts for sure when Node's is
      // 2·tol outside, and surely not when it is 2·tol inside.
      const outside = await numberAttr(beyond, 'data-outside');
      const { trainedMin, trainedMax } = dist.beyond;
      expect(outside).toBeGreaterThanOrEqual(countOutside(dist.curve, qk.seqLen, trainedMin, trainedMax, 2 * tol));
      expect(outside).toBeLessThanOrEqual(countOutside(dist.curve, qk.seqLen, trainedMin, trainedMax, -2 * tol));

      expect(await root.getByTestId('rope-status').textContent()).toMatch(new RegExp(` on ${backend}\\b`));
      expect(await root.getByTestId('rope-error').count()).toBe(0);
      expect(v.errors).toEqual([]);
      expect(v.offsite).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
