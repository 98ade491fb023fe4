/**
 * End-to-end helpers: serve the built site (dist/) from 127.0.0.1, drive Debian's chromium with
 * playwright-core, and collect everything the page reports as an error. The server and browser
 * launching live in src/node/browser.ts (shared with `npm run bench -- site`) and are re-exported
 * here; this file adds what the tests need on top: the chapter list from content/, page sessions,
 * waiting for charts and the model, axe-core, and the engine in Node for comparisons.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from 'playwright-core';
import { launchChromium, newContext, ROOT, serveDist, type GpuMode, type Served } from '../../src/node/browser.ts';
import type { Llama } from '../../src/engine/llama.ts';

export {
  BASE_ARGS,
  CHROMIUM,
  DIST,
  ISOLATION_HEADERS,
  launchChromium,
  NO_GPU_ARGS,
  newContext,
  ROOT,
  serveDist,
  WEBGPU_ARGS,
  type GpuMode,
  type Served,
} from '../../src/node/browser.ts';

export const RESULTS = join(ROOT, 'test-results');

/** Records console errors, uncaught page errors and failed or 4xx/5xx responses. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => {
    const why = req.failure()?.errorText ?? '';
    // Leaving or closing the page aborts what is still in flight (islands' scripts, the model
    // download when a test moves on), as does the page's own AbortController: not failures.
    if (why === 'net::ERR_ABORTED') return;
    errors.push(`requestfailed: ${req.url()} ${why}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`http ${res.status()}: ${res.url()}`);
  });
  return errors;
}

/**
 * Full-page screenshot at test-results/<name>.png (name may contain folders). A long page
 * rendered in software on two busy cores can take past Playwright's 30 s default to capture.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(RESULTS, `${name}.png`);
  mkdirSync(join(path, '..'), { recursive: true });
  await page.screenshot({ path, fullPage: true, timeout: 120_000 });
  return path;
}

// ---------------------------------------------------------------------------------------------
// Chapters, read from their sources (content/chapters/<slug>.mdx)

export const CHAPTERS_DIR = join(ROOT, 'content/chapters');

export interface ChapterSource {
  slug: string;
  number: number;
  title: string;
  summary: string;
  /** The MDX source as written. */
  source: string;
  /** Its prose: no front matter, imports, components, code, math or link targets. */
  prose: string;
}

function frontMatterField(fm: string, key: string): string | undefined {
  const m = new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(fm);
  if (!m) return undefined;
  const v = m[1].trim();
  if (/^'.*'$/.test(v)) return v.slice(1, -1).replace(/''/g, "'");
  if (/^".*"$/.test(v)) return JSON.parse(v) as string;
  return v;
}

/** Prose of an MDX chapter: the words a reader sees, roughly (enough to pick search terms). */
export function proseOf(mdx: string): string {
  return mdx
    .replace(/^---\n[\s\S]*?\n---\n/, '')
    .replace(/^(import|export)\s.*$/gm, '')
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/`[^`]*`/g, ' ')
    .replace(/\$\$[\s\S]*?\$\$/g, ' ')
    .replace(/\$[^$\n]*\$/g, ' ')
    .replace(/<[A-Za-z][^>]*?\/>/gs, ' ') // self-closing components, attributes and all
    .replace(/<\/?[A-Za-z][^>]*>/gs, ' ')
    .replace(/\{[^{}]*\}/g, ' ') // JSX expressions
    .replace(/\]\([^)]*\)/g, '] ') // link targets
    .replace(/[*_#>|[\]]/g, ' ');
}

/** Every chapter, by number, from content/chapters/*.mdx. */
export function chapterSources(): ChapterSource[] {
  let files: string[];
  try {
    files = readdirSync(CHAPTERS_DIR).filter((f) => f.endsWith('.mdx'));
  } catch {
    return [];
  }
  return files
    .map((f) => {
      const source = readFileSync(join(CHAPTERS_DIR, f), 'utf8');
      const fm = /^---\n([\s\S]*?)\n---/.exec(source)?.[1] ?? '';
      return {
        slug: f.replace(/\.mdx$/, ''),
        number: Number(frontMatterField(fm, 'number')),
        title: frontMatterField(fm, 'title') ?? '',
        summary: frontMatterField(fm, 'summary') ?? '',
        source,
        prose: proseOf(source),
      };
    })
    .sort((a, b) => a.number - b.number);
}

const wordsOf = (text: string): string[] => text.toLowerCase().match(/[a-z]+(?:-[a-z]+)*/g) ?? [];

/**
 * A word of this chapter's prose (letters only, 7+ characters) that no other chapter uses anywhere
 * in its source, and that the built page shows (`shown`, the page's text, when given): the most
 * frequent such word, so it is part of the running text, not a stray mention. Undefined if none.
 */
export function distinctiveWord(chapters: ChapterSource[], slug: string, shown?: string): string | undefined {
  const me = chapters.find((c) => c.slug === slug);
  if (!me) throw new Error(`no chapter ${slug}`);
  const elsewhere = new Set(chapters.filter((c) => c !== me).flatMap((c) => wordsOf(c.source)));
  const visible = shown === undefined ? undefined : new Set(wordsOf(shown));
  const counts = new Map<string, number>();
  for (const w of wordsOf(me.prose)) {
    if (w.length < 7 || w.includes('-') || elsewhere.has(w) || (visible && !visible.has(w))) continue;
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
}

// ---------------------------------------------------------------------------------------------
// One server and one browser per test file

export interface Session {
  site: Served;
  browser: Browser;
  /** Absolute URL of a site path ('chapters/architecture/' or '/chapters/architecture/?backend=wasm'). */
  url(path?: string): string;
  /** A fresh context (offline but for 127.0.0.1) and page, recording errors and offsite requests. */
  open(path?: string, options?: BrowserContextOptions & { waitUntil?: 'load' | 'domcontentloaded' }): Promise<Visit>;
  close(): Promise<void>;
}

export interface Visit {
  page: Page;
  context: BrowserContext;
  errors: string[];
  offsite: string[];
  close(): Promise<void>;
}

export async function openSession(mode: GpuMode): Promise<Session> {
  const site = await serveDist();
  let browser: Browser;
  try {
    browser = await launchChromium(mode);
  } catch (e) {
    await site.close();
    throw e;
  }
  const url = (path = '') => new URL(path.replace(/^\//, ''), site.url).href;
  return {
    site,
    browser,
    url,
    async open(path = '', options = {}) {
      const { waitUntil = 'load', ...contextOptions } = options;
      const offsite: string[] = [];
      const context = await newContext(browser, mode, offsite, contextOptions);
      const page = await context.newPage();
      const errors = collectErrors(page);
      await page.goto(url(path), { waitUntil });
      return { page, context, errors, offsite, close: () => context.close() };
    },
    async close() {
      await browser.close().catch(() => undefined);
      await site.close();
    },
  };
}

/** The site path of a chapter page (URL /chapters/<slug>/), with an optional query ('?backend=wasm'). */
export const chapterPath = (slug: string, query = ''): string => `chapters/${slug}/${query}`;

/** Chapter 12 has the model panel and the playground; wasm is the fast backend without a GPU. */
export const MODEL_PAGE_WASM = chapterPath('run-the-model', '?backend=wasm');

/** A short greedy run for the tests that only need the page's tokens to match Node's. */
export const SHORT_GREEDY = { prompt: 'Once upon a time', tokens: 12 } as const;

/** A numeric data attribute of an element (the widgets publish their exact figures this way). */
export const numberAttr = async (el: Locator, name = 'data-value'): Promise<number> => Number(await el.getAttribute(name));

/** Does the built site have this page (dist/<path>/index.html)? */
export function built(path: string): boolean {
  try {
    readFileSync(join(ROOT, 'dist', path.replace(/^\//, ''), 'index.html'));
    return true;
  } catch {
    return false;
  }
}

/** The main text of a built page, from dist/ (tags stripped): what a reader can find on it. */
export function builtText(path: string): string {
  const html = readFileSync(join(ROOT, 'dist', path.replace(/^\//, ''), 'index.html'), 'utf8');
  const main = /<main[\s\S]*?<\/main>/.exec(html)?.[0] ?? html;
  return main
    .replace(/<(script|style|math)[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z#0-9]+;/gi, ' ');
}

// ---------------------------------------------------------------------------------------------
// Waiting for the page

/**
 * Scrolls from top to bottom one viewport at a time, letting each frame render, so every
 * `client:visible` island and lazily drawn chart on the way gets its chance to start.
 */
export async function scrollThrough(page: Page): Promise<void> {
  await page.evaluate(async () => {
    // Two frames, or 250 ms when the compositor stalls (seen once in CI with SwiftShader busy
    // compiling a widget's WebGPU shaders): the walk must not wait on rendering forever.
    const frame = () =>
      new Promise((ok) => {
        requestAnimationFrame(() => requestAnimationFrame(ok));
        setTimeout(ok, 250);
      });
    const step = Math.max(200, Math.floor(innerHeight * 0.8));
    // At most 400 steps, should a widget keep growing the page as it is scrolled.
    for (let y = 0, n = 0; y < document.documentElement.scrollHeight && n < 400; y += step, n++) {
      scrollTo(0, y);
      await frame();
    }
    scrollTo(0, document.documentElement.scrollHeight);
    await frame();
  });
}

/** Brings each paper chart into view and waits until it has drawn its svg; returns how many. */
export async function drawCharts(page: Page, timeout = 30_000): Promise<number> {
  const charts = page.getByTestId('paper-chart');
  const n = await charts.count();
  for (let i = 0; i < n; i++) {
    const chart = charts.nth(i);
    await chart.scrollIntoViewIfNeeded();
    const id = await chart.getAttribute('data-table-id');
    await expect.poll(() => chart.locator('svg').count(), { timeout, message: `chart ${i} (${id}) draws an svg` }).toBeGreaterThan(0);
  }
  return n;
}

export type ModelState = 'idle' | 'loading' | 'ready' | 'error';

/** The model status of the page's model panel (data-state). */
export async function modelState(page: Page): Promise<string | null> {
  return page.getByTestId('model-status').first().getAttribute('data-state');
}

/** Waits until the model status is one of `states`; returns the state reached. */
export async function waitForModel(page: Page, states: ModelState[] = ['ready'], timeout = 240_000): Promise<string> {
  const status = page.getByTestId('model-status').first();
  await status.waitFor({ state: 'attached', timeout });
  await status.scrollIntoViewIfNeeded(); // a client:visible panel hydrates only once seen
  let state: string | null = null;
  await expect
    .poll(
      async () => {
        state = await status.getAttribute('data-state');
        return states.includes(state as ModelState);
      },
      { timeout, interval: 250, message: `model status reaches ${states.join('|')}` },
    )
    .toBe(true);
  return state as unknown as string;
}

/** The text of the model's error message, if the panel shows one. */
export async function modelError(page: Page): Promise<string> {
  const el = page.getByTestId('model-error').first();
  return (await el.count()) ? ((await el.textContent()) ?? '').trim() : '';
}

/**
 * Sets a form control the way a person would (fill for text and numbers, select for a select),
 * and a range slider through its value setter plus the input/change events a framework listens to.
 */
export async function setValue(control: Locator, value: string): Promise<void> {
  const el = control.first();
  const kind = await el.evaluate((e) => (e.tagName === 'INPUT' ? (e as HTMLInputElement).type : e.tagName.toLowerCase()));
  if (kind === 'select') {
    await el.selectOption(value);
  } else if (kind === 'range') {
    await el.evaluate((e, v) => {
      const input = e as HTMLInputElement;
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, v);
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new Event('change', { bubbles: true }));
    }, value);
  } else {
    await el.fill(value);
  }
}

/** Horizontal overflow of the page in CSS pixels (0 when nothing sticks out). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/**
 * The page's theme: html's data-theme when the site sets one, else what the colour scheme media
 * query says.
 */
export async function currentTheme(page: Page): Promise<'light' | 'dark'> {
  return page.evaluate(() => {
    const t = document.documentElement.getAttribute('data-theme');
    if (t === 'light' || t === 'dark') return t;
    return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  });
}

/** Puts the page in `theme` with the site's own toggle (if it is not already), waiting for it. */
export async function useTheme(page: Page, theme: 'light' | 'dark'): Promise<void> {
  if ((await currentTheme(page)) === theme) return;
  await page.getByTestId('theme-toggle').first().click();
  await expect.poll(() => currentTheme(page), { timeout: 10_000 }).toBe(theme);
}

// ---------------------------------------------------------------------------------------------
// Accessibility: axe-core

export const AXE = join(ROOT, 'node_modules/axe-core/axe.min.js');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: { target: unknown[]; html: string; failureSummary?: string }[];
}

/** Runs axe-core (WCAG 2.x A/AA and best practices) on the page as it is now. */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  const has = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe !== 'undefined');
  if (!has) await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, failureSummary: n.failureSummary })),
    }));
  });
}

/** Violations as lines a person can act on: rule, impact, help, then each element and why. */
export function formatViolations(where: string, vs: AxeViolation[]): string {
  return vs
    .map((v) =>
      [
        `${where}: [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`,
        ...v.nodes.slice(0, 8).map((n) => `    ${JSON.stringify(n.target)} ${n.html.slice(0, 160)}\n      ${(n.failureSummary ?? '').replace(/\n/g, '\n      ')}`),
        ...(v.nodes.length > 8 ? [`    … and ${v.nodes.length - 8} more`] : []),
      ].join('\n'),
    )
    .join('\n');
}

export const serious = (vs: AxeViolation[]): AxeViolation[] => vs.filter((v) => v.impact === 'serious' || v.impact === 'critical');

// ---------------------------------------------------------------------------------------------
// The embedded model in Node, for comparing the page's numbers with the engine's

export const EMBEDDED = join(ROOT, 'public/models/default');
export const embeddedBytes = (file: 'model.bin' | 'tokenizer.bin'): Uint8Array => new Uint8Array(readFileSync(join(EMBEDDED, file)));

/**
 * The embedded model loaded by the engine in this process, on `backend` (wasm: the backend the
 * page's fallback uses, and the one the engine's own tests pin against the reference). TF.js is
 * imported only here, so test files that never call this do not load it.
 */
export async function embeddedLlama(backend: 'wasm' | 'cpu' = 'wasm') {
  const { onBackend } = await import('../support/engine.ts');
  const { Llama } = await import('../../src/engine/llama.ts');
  await onBackend(backend);
  return Llama.fromBytes(embeddedBytes('model.bin'), 'model.bin', embeddedBytes('tokenizer.bin'), 'tokenizer.bin');
}

export interface GreedyRun {
  /** BOS, the prompt's tokens, then the generated ones: the engine's token sequence. */
  tokens: number[];
  promptTokens: number;
  /** The `steps` that gives `newTokens` new tokens: positions, prompt included, as the engine counts. */
  steps: number;
}

/** What the engine in Node generates greedily (temperature 0) after `prompt`: `newTokens` tokens. */
export async function greedyInNode(prompt: string, newTokens: number): Promise<GreedyRun> {
  const llama = await embeddedLlama('wasm');
  try {
    return await greedyOf(llama, prompt, newTokens);
  } finally {
    llama.dispose();
  }
}

/** `newTokens` greedy tokens after `prompt` from a model loaded in Node. */
export async function greedyOf(llama: Llama, prompt: string, newTokens: number): Promise<GreedyRun> {
  const { generateAll } = await import('../../src/engine/generate.ts');
  const promptTokens = llama.tokenizer.encode(prompt, { bos: true }).length;
  const steps = promptTokens - 1 + newTokens;
  const r = await generateAll(llama, { prompt, steps, temperature: 0 });
  // A prompt whose story runs past the budget, so the page must produce every token too.
  if (r.stopReason !== 'steps') throw new Error(`"${prompt}": the model ends the story before ${newTokens} tokens`);
  return { tokens: r.tokens, promptTokens: r.promptTokens, steps };
}

/** The ids the playground's output shows, in order (BOS and prompt tokens carry data-prompt). */
export const playgroundIds = (playground: Locator, selector = '[data-token-id]'): Promise<number[]> =>
  playground
    .getByTestId('playground-output')
    .locator(selector)
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-token-id'))));

/**
 * Runs the playground (data-testid=playground) greedily for `steps` positions and waits for the
 * run to end (data-state done); a run that ends in error fails with the playground's message.
 */
export async function playgroundGreedy(playground: Locator, prompt: string, steps: number, timeout = 420_000): Promise<void> {
  await playground.scrollIntoViewIfNeeded();
  const run = playground.getByTestId('playground-run');
  await expect.poll(() => run.isEnabled(), { timeout: 120_000, message: 'the playground hydrates' }).toBe(true);
  await setValue(playground.getByTestId('playground-prompt'), prompt);
  await setValue(playground.getByTestId('playground-temperature'), '0');
  await setValue(playground.getByTestId('playground-steps'), String(steps));
  await run.click();
  await expect
    .poll(() => playground.getAttribute('data-state'), { timeout, interval: 250, message: 'the run ends' })
    .toMatch(/^(done|error)$/);
  if ((await playground.getAttribute('data-state')) === 'error') {
    expect.fail(`the playground failed: ${await playground.getByTestId('playground-error').textContent()}`);
  }
}
