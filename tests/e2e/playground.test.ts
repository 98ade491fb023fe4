// The playground generates with the embedded model in the page, on WebGPU (SwiftShader here) and
// on the wasm fallback, and greedy decoding gives exactly the tokens the engine gives in Node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatSpec } from '../../src/engine/chat-format.ts';
import {
  built,
  chapterPath,
  embeddedLlama,
  formatViolations,
  greedyInNode,
  horizontalOverflow,
  openSession,
  playgroundGreedy,
  playgroundIds,
  runAxe,
  serious,
  setValue,
  waitForModel,
  type GreedyRun,
  type Session,
} from './harness.ts';

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

describe('playground chat mode', () => {
  const chat = { system: 'Answer in one sentence.', turns: [{ user: 'Who is Lily?' }] } satisfies ChatSpec;
  const CHAT_NEW_TOKENS = 12;

  it('shows the Llama 2-Chat prompt, says the model is not a chat model, and generates the engine’s tokens at 375 px, accessibly', async () => {
    // The engine in Node, greedy, on the same dialogue.
    const { chatTokens } = await import('../../src/engine/chat-format.ts');
    const { generateAll } = await import('../../src/engine/generate.ts');
    const llama = await embeddedLlama('wasm');
    let want: { tokens: number[]; steps: number };
    try {
      const steps = chatTokens(llama.tokenizer, chat).length - 1 + CHAT_NEW_TOKENS;
      want = { tokens: (await generateAll(llama, { prompt: chat, steps, temperature: 0 })).tokens, steps };
    } finally {
      llama.dispose();
    }

    const v = await s.open(`${PAGES[0]}?backend=wasm`, { viewport: { width: 375, height: 812 } });
    try {
      const { page } = v;
      const playground = page.getByTestId('playground').first();
      await playground.scrollIntoViewIfNeeded();
      await expect.poll(() => playground.getByTestId('playground-run').isEnabled(), { timeout: 120_000 }).toBe(true);
      await playground.getByLabel('Chat format (Llama 2-Chat)').check();
      await setValue(playground.getByLabel('System prompt (optional)'), chat.system);
      await setValue(playground.getByTestId('playground-prompt'), '');
      await expect(playground.getByTestId('playground-chat-refused').textContent()).resolves.toMatch(/the user message is empty/);
      await playgroundGreedy(playground, chat.turns[0].user, want.steps);
      expect(await playground.getByTestId('playground-chat-prompt').textContent()).toBe(
        '<s>[INST] <<SYS>>\nAnswer in one sentence.\n<</SYS>>\n\nWho is Lily? [/INST]',
      );
      expect(await playground.getByTestId('playground-chat-note').textContent()).toMatch(/is not a Llama 2-Chat model \(its vocabulary has 4,096 pieces/);
      const generated = await playgroundIds(playground, '[data-token-id]:not([data-prompt])');
      expect(generated.length).toBeGreaterThan(0);
      expect(await playgroundIds(playground)).toEqual(want.tokens);
      expect(await horizontalOverflow(page)).toBe(0);
      const violations = serious(await runAxe(page));
      expect(violations, formatViolations('chat mode', violations)).toEqual([]);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
