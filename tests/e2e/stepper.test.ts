// The forward-pass stepper of chapter 2 shows the engine's own numbers: for a prompt and position
// typed in the page, the values at each operation equal inspectForward's in Node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import type { ForwardTrace } from '../../src/engine/inspect.ts';
import { navigate, type NavAction } from '../../components/widgets/stepper/navigation.ts';
import { chapterPath, embeddedLlama, openSession, type Session } from './harness.ts';

const PROMPT = 'The little cat saw a big red ball';
const POSITION = 4;

/**
 * Tolerance: the page computes in float32 on another backend (WebGPU on SwiftShader, or wasm in
 * the browser) than Node's wasm, with other summation orders (GPU tiles, SIMD blocks). Each dot
 * product then differs by a few ulps (~1e-6 relative) and the five residual blocks compound it;
 * the engine's own cross-backend test (tests/slow/backends-logits.test.ts) finds final logits
 * within 2e-4. So: |page − node| ≤ 1e-4 + 1e-4·|node|, i.e. 1e-4 absolute for values of order one
 * and 1e-4 relative for large logits: ~100× the rounding we expect, ~1000× below the smallest
 * real difference between neighbouring operations' values.
 */
const close = (got: number, want: number): boolean => Math.abs(got - want) <= 1e-4 + 1e-4 * Math.abs(want);

let trace: ForwardTrace;
let s: Session;

beforeAll(async () => {
  const { inspectForward } = await import('../../src/engine/inspect.ts');
  const llama = await embeddedLlama('wasm');
  try {
    const tokens = llama.tokenizer.encode(PROMPT, { bos: true });
    expect(tokens.length).toBeGreaterThan(POSITION + 1); // a position inside the prompt, not its last
    trace = inspectForward(llama, tokens, POSITION);
  } finally {
    llama.dispose();
  }
  s = await openSession('webgpu');
}, 300_000);
afterAll(async () => {
  await s?.close();
});

/** Operations to visit: the embedding, two in a middle layer, the last layer's output, the logits. */
function targets(): number[] {
  const layers = new Set(trace.steps.map((st) => st.layer).filter((l) => l !== null)).size;
  const mid = Math.floor(layers / 2);
  const at = (step: string, layer: number | null) => {
    const i = trace.steps.findIndex((st) => st.step === step && st.layer === layer);
    expect(i, `${step} in layer ${layer}`).toBeGreaterThanOrEqual(0);
    return i;
  };
  return [at('embedding', null), at('q_rope', mid), at('attention_probs', mid), at('residual_ffn', layers - 1), at('logits', null)];
}

/**
 * The clicks (Next, Layer ⇥) that reach `to` from `from`, fewest first: the stepper's own buttons,
 * planned with its navigation rules; where they land is checked against the engine's trace.
 */
function plan(from: number, to: number): NavAction[] {
  const refs = trace.steps.map((st) => ({ step: st.step, layer: st.layer }));
  const back = new Map<number, [number, NavAction]>([[from, [from, 'next']]]);
  const queue = [from];
  while (queue.length) {
    const i = queue.shift()!;
    if (i === to) break;
    for (const a of ['next-layer', 'next', 'prev'] as NavAction[]) {
      const j = navigate(refs, i, a);
      if (!back.has(j)) {
        back.set(j, [i, a]);
        queue.push(j);
      }
    }
  }
  const path: NavAction[] = [];
  for (let i = to; i !== from; i = back.get(i)![0]) path.unshift(back.get(i)![1]);
  return path;
}

const BUTTON: Partial<Record<NavAction, string>> = { next: 'stepper-next', prev: 'stepper-prev', 'next-layer': 'stepper-next-layer' };

const counter = (root: Locator) => root.getByTestId('stepper-counter').getAttribute('data-index').then(Number);

/** Waits until the stepper shows a trace for `prompt` at `position`, and is not busy. */
async function settled(root: Locator, position: number): Promise<void> {
  const error = root.getByTestId('stepper-error');
  await expect
    .poll(
      async () => {
        if (await error.count()) return `error: ${await error.textContent()}`;
        return `${await root.getAttribute('data-prompt')}|${await root.getAttribute('data-position')}|${await root.getAttribute('data-busy')}`;
      },
      { timeout: 120_000, interval: 250, message: 'the stepper shows the prompt at the position' },
    )
    .toBe(`${PROMPT}|${position}|false`);
}

async function check(page: Page, root: Locator, index: number): Promise<void> {
  const want = trace.steps[index];
  const values = root.getByTestId('stepper-values');
  await expect.poll(() => values.getAttribute('data-step')).toBe(want.step);
  expect(await values.getAttribute('data-layer')).toBe(want.layer === null ? '' : String(want.layer));
  expect(JSON.parse((await values.getAttribute('data-shape'))!)).toEqual(want.shape);
  expect(Number(await values.getAttribute('data-length'))).toBe(want.values.length);
  const got = JSON.parse((await values.getAttribute('data-values'))!) as number[];
  const expected = Array.from(want.values.subarray(0, 16));
  expect(got).toHaveLength(Math.min(16, want.values.length));
  const off = got.map((g, i) => ({ i, g, w: expected[i] })).filter(({ g, w }) => !close(g, w));
  expect(off, `${want.step} (layer ${want.layer}) on ${await page.getByTestId('stepper-status').textContent()}`).toEqual([]);
}

describe.each([['wasm'], ['webgpu']] as const)('forward stepper on %s', (backend) => {
  it('shows the values inspectForward computes, at a chosen position, through the layers to the logits', async () => {
    const v = await s.open(`${chapterPath('architecture')}?backend=${backend}`, { viewport: { width: 1280, height: 900 } });
    try {
      const { page } = v;
      const root = page.getByTestId('stepper');
      await root.scrollIntoViewIfNeeded();
      // Hydrated, model loaded and the default prompt's pass shown (typing into the server-rendered
      // input before hydration would be reset to the default prompt).
      await expect
        .poll(async () => (await root.getAttribute('data-position')) !== null && (await root.getAttribute('data-busy')) === 'false', {
          timeout: 240_000,
          message: 'the stepper shows its first forward pass',
        })
        .toBe(true);
      await root.getByTestId('stepper-prompt').fill(PROMPT);
      // The last token is the default position; pick another one from the token strip.
      const lastPosition = trace.tokens.length - 1;
      await settled(root, lastPosition);
      expect(await root.getByTestId('stepper-token').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-token-id'))))).toEqual(trace.tokens);
      await root.locator(`[data-testid="stepper-token"][data-position="${POSITION}"]`).click();
      await settled(root, POSITION);

      // Start from the first operation, then walk to each target with the buttons.
      await root.focus();
      await page.keyboard.press('Home');
      await expect.poll(() => counter(root)).toBe(0);
      expect(Number(await root.getByTestId('stepper-counter').getAttribute('data-count'))).toBe(trace.steps.length);
      let at = 0;
      for (const target of targets()) {
        for (const action of plan(at, target)) {
          const before = await counter(root);
          await root.getByTestId(BUTTON[action]!).click();
          await expect.poll(() => counter(root)).not.toBe(before);
        }
        expect(await counter(root)).toBe(target);
        await check(page, root, target);
        at = target;
      }
      expect(await page.getByTestId('stepper-values').getAttribute('data-step')).toBe('logits');
      expect(await root.getByTestId('stepper-status').textContent()).toMatch(new RegExp(` on ${backend}\\b`));
      expect(await root.getByTestId('stepper-error').count()).toBe(0);
      expect(v.errors).toEqual([]);
      expect(v.offsite).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
