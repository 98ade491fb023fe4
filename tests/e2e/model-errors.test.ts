// A broken model file chosen by the reader: the model panel says what is wrong in the engine's
// words, and the page keeps working (the model already loaded, or the embedded one, generates).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  embeddedBytes,
  greedyInNode,
  modelError,
  openSession,
  playgroundGreedy,
  playgroundIds,
  waitForModel,
  type GreedyRun,
  type Session,
  MODEL_PAGE_WASM,
  SHORT_GREEDY,
} from './harness.ts';

const { prompt: PROMPT, tokens: NEW_TOKENS } = SHORT_GREEDY;
const PAGE = MODEL_PAGE_WASM;

let expected: GreedyRun;
let s: Session;
beforeAll(async () => {
  expected = await greedyInNode(PROMPT, NEW_TOKENS);
  s = await openSession('no-gpu');
}, 300_000);
afterAll(async () => {
  await s?.close();
});

/** The embedded checkpoint cut short: its header promises more weights than the file holds. */
const truncated = () => {
  const full = embeddedBytes('model.bin');
  return Buffer.from(full.subarray(0, Math.floor(full.byteLength / 2)));
};

/** Picks "my own files" in the model panel, gives it `model` and the real tokenizer, loads. */
async function loadFiles(page: Page, model: Buffer): Promise<void> {
  const panel = page.getByTestId('model-panel').first();
  await panel.scrollIntoViewIfNeeded();
  await expect.poll(() => panel.getByTestId('model-load').isEnabled(), { timeout: 120_000, message: 'the panel hydrates' }).toBe(true);
  await panel.getByTestId('model-choice').selectOption('files');
  await panel.getByTestId('model-file').setInputFiles({ name: 'model.bin', mimeType: 'application/octet-stream', buffer: model });
  await panel.getByTestId('tokenizer-file').setInputFiles({ name: 'tokenizer.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(embeddedBytes('tokenizer.bin')) });
  await panel.getByTestId('model-load').click();
}

/** Waits for the panel's error message and returns it. */
async function errorShown(page: Page): Promise<string> {
  await expect.poll(() => modelError(page), { timeout: 120_000, message: 'the panel shows an error' }).not.toBe('');
  return modelError(page);
}

describe('a corrupt local model file', () => {
  it('before any model loaded: the error says the file is truncated, then the embedded model still generates', async () => {
    const v = await s.open(PAGE, { viewport: { width: 1280, height: 900 } });
    try {
      const { page } = v;
      await loadFiles(page, truncated());
      const message = await errorShown(page);
      expect(message).toMatch(/truncated/i);
      expect(message).toMatch(/model\.bin/); // names the file
      expect(await waitForModel(page, ['error', 'idle'])).not.toBe('ready');

      // The playground still works: its first run loads the embedded model.
      const playground = page.getByTestId('playground').first();
      await playgroundGreedy(playground, PROMPT, expected.steps);
      expect(await playgroundIds(playground)).toEqual(expected.tokens);
      expect(await waitForModel(page, ['ready'])).toBe('ready');
      expect(await page.getByTestId('model-name').first().textContent()).not.toMatch(/^none/);
      expect(v.errors.filter((e) => !/truncated/i.test(e))).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('with a model loaded: the error shows, the loaded model stays and generates the same tokens', async () => {
    const v = await s.open(PAGE, { viewport: { width: 1280, height: 900 } });
    try {
      const { page } = v;
      const playground = page.getByTestId('playground').first();
      await playgroundGreedy(playground, PROMPT, expected.steps);
      expect(await playgroundIds(playground)).toEqual(expected.tokens);
      expect(await waitForModel(page, ['ready'])).toBe('ready');
      const name = await page.getByTestId('model-name').first().textContent();

      await loadFiles(page, truncated());
      const message = await errorShown(page);
      expect(message).toMatch(/truncated/i);
      expect(message).toMatch(/still in use/i); // says the previous model is kept
      expect(await waitForModel(page, ['ready', 'error'])).toBe('ready');
      expect(await page.getByTestId('model-name').first().textContent()).toBe(name);

      await playgroundGreedy(playground, PROMPT, expected.steps);
      expect(await playgroundIds(playground)).toEqual(expected.tokens);
      expect(v.errors.filter((e) => !/truncated/i.test(e))).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
