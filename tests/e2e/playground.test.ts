// The playground generates with the embedded model in the page, on WebGPU (SwiftShader here) and
// on the wasm fallback, and greedy decoding gives exactly the tokens the engine gives in Node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { built, chapterPath, greedyInNode, openSession, playgroundGreedy, playgroundIds, waitForModel, type GreedyRun, type Session } from './harness.ts';

/** SwiftShader runs WebGPU on the CPU: a couple of dozen tokens keep the test to a minute or two. */
const NEW_TOKENS = 24;
const PROMPT = 'Once upon a time, there was a little dog';

/** The playground's page: chapter 12, and the standalone page when the site has one. */
const PAGES = [chapterPath('run-the-model'), ...(built('playground/') ? ['playground/'] : [])];

let expected: GreedyRun;
let s: Session;

beforeAll(async () => {
  // The engine in Node on wasm (the backend its parity tests pin to the reference), greedy.
  expected = await greedyInNode(PROMPT, NEW_TOKENS);
  s = await openSession('webgpu');
}, 300_000);
afterAll(async () => {
  await s?.close();
});

describe.each(PAGES.map((p) => [p] as const))('playground on %s', (path) => {
  for (const backend of ['webgpu', 'wasm'] as const) {
    it(`generates ${NEW_TOKENS} greedy tokens on ${backend}, the engine's own tokens`, async () => {
      const v = await s.open(`${path}?backend=${backend}`, { viewport: { width: 1280, height: 900 } });
      try {
        const { page } = v;
        const playground = page.getByTestId('playground').first();
        await playgroundGreedy(playground, PROMPT, expected.steps);
        expect(await waitForModel(page, ['ready'])).toBe('ready');
        expect((await page.getByTestId('model-backend').first().textContent())?.trim()).toBe(backend);
        const generated = await playgroundIds(playground, '[data-token-id]:not([data-prompt])');
        expect(generated.length).toBeGreaterThanOrEqual(20);
        expect(generated).toEqual(expected.tokens.slice(expected.promptTokens));
        expect(await playgroundIds(playground)).toEqual(expected.tokens);
        expect(await playground.getByTestId('playground-speed').textContent()).toMatch(/\d+ new tokens at [\d.]+ tokens\/s/);
        expect(v.errors).toEqual([]);
        expect(v.offsite).toEqual([]);
      } finally {
        await v.close();
      }
    });
  }
});
