// A GGUF file chosen in the model panel at phone width: the panel sees it is GGUF (no tokenizer
// file asked for), loads it with the keyboard, names its weight format, and the playground then
// generates exactly the greedy tokens the engine gives for the same file in Node.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  embeddedBytes,
  formatViolations,
  greedyOf,
  horizontalOverflow,
  openSession,
  playgroundGreedy,
  playgroundIds,
  runAxe,
  serious,
  waitForModel,
  type GreedyRun,
  type Session,
  MODEL_PAGE_WASM,
  SHORT_GREEDY,
} from './harness.ts';

const { prompt: PROMPT, tokens: NEW_TOKENS } = SHORT_GREEDY;
const FILE = 'embedded.q8_0.gguf';
const PAGE = MODEL_PAGE_WASM;

let dir: string;
let expected: GreedyRun & { weightFormat: string };
let s: Session;

beforeAll(async () => {
  const { parseLlama2c } = await import('../../src/engine/checkpoint/llama2c.ts');
  const { Tokenizer } = await import('../../src/engine/tokenizer/tokenizer.ts');
  const { writeGguf } = await import('../../src/engine/gguf/write-gguf.ts');
  const { Llama } = await import('../../src/engine/llama.ts');
  const { onBackend } = await import('../support/engine.ts');
  // The embedded model as `npm run cli -- convert --type q8_0` would write it.
  const gguf = writeGguf(parseLlama2c(embeddedBytes('model.bin'), 'model.bin'), Tokenizer.fromBytes(embeddedBytes('tokenizer.bin'), 'tokenizer.bin'), { type: 'q8_0' });
  dir = mkdtempSync(join(tmpdir(), 'gguf-e2e-'));
  writeFileSync(join(dir, FILE), gguf);
  // The engine in Node on wasm (the page's backend here), greedy, from the same file.
  await onBackend('wasm');
  const llama = await Llama.loadGguf({ model: gguf, modelName: FILE });
  try {
    expected = { ...(await greedyOf(llama, PROMPT, NEW_TOKENS)), weightFormat: llama.weightFormatDescription };
  } finally {
    llama.dispose();
  }
  s = await openSession('no-gpu');
}, 300_000);
afterAll(async () => {
  await s?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a GGUF file from this device', () => {
  it('loads without a tokenizer file, shows q8_0, and the playground generates the engine’s tokens at 375 px, accessibly', async () => {
    const v = await s.open(PAGE, { viewport: { width: 375, height: 812 } });
    try {
      const { page } = v;
      const panel = page.getByTestId('model-panel').first();
      await panel.scrollIntoViewIfNeeded();
      await expect.poll(() => panel.getByTestId('model-load').isEnabled(), { timeout: 120_000, message: 'the panel hydrates' }).toBe(true);
      await panel.getByLabel('Model', { exact: true }).selectOption('files');
      await panel.getByLabel('Model file (.gguf or .bin)').setInputFiles(join(dir, FILE));
      // Known as GGUF by its first bytes: the tokenizer input gives way to a note.
      await expect.poll(() => panel.getByTestId('model-file-kind').count(), { timeout: 10_000 }).toBe(1);
      expect(await panel.getByTestId('tokenizer-file').count()).toBe(0);
      expect(await panel.getByTestId('model-drop-files').textContent()).toMatch(/tokenizer: inside the GGUF file/);
      await panel.getByTestId('model-load').focus();
      await page.keyboard.press('Enter');

      await expect
        .poll(() => panel.getByTestId('model-name').textContent(), { timeout: 240_000, message: 'the GGUF model loads' })
        .toMatch(new RegExp(`^${FILE.replace(/\./g, '\\.')}`));
      expect(await waitForModel(page, ['ready'])).toBe('ready');
      expect(await panel.getByTestId('model-name').textContent()).toMatch(/local file; tokenizer built into the GGUF file/);
      expect(await panel.getByTestId('model-weight-format').textContent()).toBe(expected.weightFormat);
      expect(expected.weightFormat).toMatch(/^q8_0/);
      expect(await panel.getByTestId('model-weights').textContent()).toMatch(/MiB on the backend$/);
      expect(await horizontalOverflow(page)).toBe(0);
      const violations = serious(await runAxe(page));
      expect(violations, formatViolations('model panel with a GGUF file', violations)).toEqual([]);

      const playground = page.getByTestId('playground').first();
      await playgroundGreedy(playground, PROMPT, expected.steps);
      expect(await playgroundIds(playground)).toEqual(expected.tokens);
      expect(await panel.getByTestId('model-name').textContent()).toMatch(/^embedded\.q8_0\.gguf/); // not replaced by the embedded model
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
