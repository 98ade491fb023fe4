/**
 * The site as a reader meets it, in headless Chromium (`npm run bench -- site`): time to the first
 * generated token after opening the playground chapter, on the wasm fallback and on WebGPU, and
 * the JavaScript the page downloads before the model loads.
 *
 * Serves the built site (dist/; run `npm run build` first: the bench builds only when dist/ has no
 * playground page at all) from 127.0.0.1 with the same server as the end-to-end tests. Every
 * repeat is a fresh browser context, so nothing is cached between repeats: the server sends
 * Cache-Control: no-store and the page fetches the model each time. WebGPU here is what Chromium
 * offers: a real GPU where there is one, SwiftShader (a CPU Vulkan) otherwise, which is slow.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page, Response } from 'playwright-core';
import { formatBytes, formatTable } from '../cli/table.ts';
import { integerOption, parseOptions } from '../cli/args.ts';
import { EngineError } from '../engine/errors.ts';
import { DIST, launchChromium, newContext, ROOT, serveDist, type GpuMode } from '../node/browser.ts';
import { describeMachine, median } from '../node/machine.ts';

/** The chapter with the playground (chapter 12). */
export const PLAYGROUND_PATH = 'chapters/run-the-model/';
const PROMPT = 'Once upon a time';

export interface FirstTokenRun {
  /** Milliseconds since navigation start. */
  loadMs: number;
  /** When the run button was clicked: as soon as it could be, at load or once the island hydrated. */
  clickMs: number;
  firstTokenMs: number;
  backend: string;
}

export interface FirstTokenFigures {
  requested: 'wasm' | 'webgpu';
  backend: string;
  runs: FirstTokenRun[];
  median: { loadMs: number; clickMs: number; firstTokenMs: number; clickToFirstTokenMs: number };
}

export interface ScriptWeight {
  files: number;
  /** Bytes on the wire as Chromium counted them, headers included (this server does not compress). */
  transferBytes: number;
  decodedBytes: number;
  /** What a host compressing with gzip (level 9) would send for the same files. */
  gzipBytes: number;
  /** The largest files, for finding what to trim. */
  largest: { url: string; decodedBytes: number }[];
}

export interface PageWeight {
  /** ?backend= of the page (the engine's backend decides which TF.js modules load). */
  backend: string;
  /** JavaScript when the page has loaded, before scrolling. */
  atLoad: ScriptWeight;
  /**
   * JavaScript (page and engine worker) once the playground and model panel have hydrated and the
   * worker has picked its backend: everything before Generate loads the model.
   */
  beforeModel: ScriptWeight;
  /** WebAssembly fetched by then (the wasm backend's binary), not counted as JavaScript above. */
  wasmBytesBeforeModel: number;
}

export interface SiteBenchResult {
  machine: string;
  browser: string;
  webgpuAdapter: string | null;
  page: string;
  prompt: string;
  repeats: number;
  pageWeight: PageWeight[];
  firstToken: FirstTokenFigures[];
  date: string;
}

const isScript = (r: Response): boolean =>
  r.request().resourceType() === 'script' || /javascript|ecmascript/.test(r.headers()['content-type'] ?? '');
const isWasm = (r: Response): boolean => (r.headers()['content-type'] ?? '').startsWith('application/wasm');

interface Fetched {
  url: string;
  transfer: number;
  body: Buffer;
  wasm: boolean;
}

function weigh(files: Fetched[]): ScriptWeight {
  const unique = [...new Map(files.filter((f) => !f.wasm).map((f) => [f.url, f])).values()];
  return {
    files: unique.length,
    transferBytes: unique.reduce((a, f) => a + f.transfer, 0),
    decodedBytes: unique.reduce((a, f) => a + f.body.byteLength, 0),
    gzipBytes: unique.reduce((a, f) => a + gzipSync(f.body, { level: 9 }).byteLength, 0),
    largest: unique
      .sort((a, b) => b.body.byteLength - a.body.byteLength)
      .slice(0, 5)
      .map((f) => ({ url: new URL(f.url).pathname, decodedBytes: f.body.byteLength })),
  };
}

/**
 * The JavaScript of the playground page at load, and once its widgets are ready to generate but
 * before the model loads (page and worker requests both reach the context's response events).
 */
async function pageWeight(browser: Browser, mode: GpuMode, url: string, backend: string): Promise<PageWeight> {
  const context = await newContext(browser, mode, [], { viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const pending: Promise<Fetched | null>[] = [];
    const onResponse = (r: Response) => {
      if (r.status() >= 400 || !(isScript(r) || isWasm(r))) return;
      pending.push(
        (async () => {
          try {
            const body = await r.body();
            const sizes = await r.request().sizes();
            // Chromium reports no body size for a worker's requests: the Content-Length then.
            const sent = sizes.responseBodySize || Number(r.headers()['content-length'] ?? body.byteLength);
            return { url: r.url(), transfer: sent + sizes.responseHeadersSize, body, wasm: isWasm(r) };
          } catch {
            return null; // a response whose body went away (page navigated): not counted
          }
        })(),
      );
    };
    context.on('response', onResponse);
    const settled = async () => (await Promise.all(pending)).filter((f): f is Fetched => f !== null);
    /** Until no response has arrived for `quietMs` (the page's requests have stopped). */
    const quiet = async (quietMs = 1000) => {
      for (let n = -1; n !== pending.length; ) {
        n = pending.length;
        await page.waitForTimeout(quietMs);
      }
    };

    await page.goto(url, { waitUntil: 'networkidle' });
    const atLoad = weigh(await settled());

    const playground = page.getByTestId('playground').first();
    await playground.scrollIntoViewIfNeeded();
    await page.getByTestId('playground-run').first().waitFor({ state: 'visible' });
    await page.waitForFunction(() => !(document.querySelector('[data-testid="playground-run"]') as HTMLButtonElement | null)?.disabled, undefined, { timeout: 120_000 });
    const backendShown = page.getByTestId('model-backend').first();
    await backendShown.scrollIntoViewIfNeeded();
    await page.waitForFunction(
      () => /^(webgpu|webgl|wasm|cpu)$/.test(document.querySelector('[data-testid="model-backend"]')?.textContent?.trim() ?? ''),
      undefined,
      { timeout: 120_000 },
    );
    await quiet();
    if ((await page.getByTestId('model-status').first().getAttribute('data-state')) !== 'idle')
      throw new EngineError('bad-argument', 'the page loaded a model before Generate: the weight would include it');
    const files = await settled();
    return {
      backend,
      atLoad,
      beforeModel: weigh(files),
      wasmBytesBeforeModel: [...new Map(files.filter((f) => f.wasm).map((f) => [f.url, f.body.byteLength])).values()].reduce((a, b) => a + b, 0),
    };
  } finally {
    await context.close();
  }
}

/**
 * Installed before the page's own scripts: notes when the output first shows a generated token
 * (prompt tokens, marked data-prompt, do not count). Plain source text, not a function: tsx's
 * esbuild would wrap inner functions in a `__name` helper that the page does not have.
 */
const WATCH_FIRST_TOKEN = `(() => {
  const seen = () => {
    if (window.__firstToken !== undefined) return;
    const out = document.querySelector('[data-testid="playground-output"]');
    if (out && out.querySelector('[data-token-id]:not([data-prompt])')) {
      window.__firstToken = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(seen);
  document.addEventListener('DOMContentLoaded', () => observer.observe(document.body, { childList: true, subtree: true }));
})();`;

async function firstTokenOnce(browser: Browser, mode: GpuMode, url: string): Promise<FirstTokenRun> {
  const context = await newContext(browser, mode, [], { viewport: { width: 1280, height: 900 } });
  try {
    await context.addInitScript({ content: WATCH_FIRST_TOKEN });
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    const loadMs = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd);
    const prompt = page.getByTestId('playground-prompt').first();
    await prompt.scrollIntoViewIfNeeded();
    await prompt.fill(PROMPT);
    const run = page.getByTestId('playground-run').first();
    await run.click({ timeout: 120_000 }); // waits for the island to hydrate and enable it
    const clickMs = await page.evaluate(() => performance.now());
    await page.waitForFunction(() => (window as unknown as { __firstToken?: number }).__firstToken !== undefined, undefined, { timeout: 300_000, polling: 50 });
    const firstTokenMs = await page.evaluate(() => (window as unknown as { __firstToken: number }).__firstToken);
    const backend = ((await page.getByTestId('model-backend').first().textContent()) ?? '').trim();
    await page.getByTestId('playground-stop').first().click({ timeout: 5_000 }).catch(() => undefined);
    return { loadMs, clickMs, firstTokenMs, backend };
  } finally {
    await context.close();
  }
}

async function webgpuAdapter(page: Page): Promise<string | null> {
  return page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string; description: string } } | null> } }).gpu;
    const a = await gpu?.requestAdapter();
    if (!a) return null;
    const i = a.info;
    return i ? [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'unnamed adapter' : 'adapter (no info)';
  });
}

function ensureBuilt(): void {
  if (existsSync(join(DIST, PLAYGROUND_PATH, 'index.html'))) return;
  process.stderr.write(`dist/${PLAYGROUND_PATH} is missing: building the site (npm run build)…\n`);
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/astro/bin/astro.mjs'), 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(join(DIST, PLAYGROUND_PATH, 'index.html')))
    throw new EngineError('bad-argument', `the site did not build, or has no page ${PLAYGROUND_PATH}: run \`npm run build\` and look at its errors`);
}

export async function siteBench(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    repeats: { type: 'string' },
    backends: { type: 'string', default: 'wasm,webgpu' },
    out: { type: 'string', default: join(ROOT, 'bench-results') },
    json: { type: 'boolean', default: false },
  });
  const repeats = integerOption(o.repeats, 'repeats', 3, 1);
  const requested = o.backends!.split(',').map((b) => {
    if (b !== 'wasm' && b !== 'webgpu') throw new EngineError('bad-argument', `--backends: wasm and/or webgpu, got "${b}"`);
    return b;
  });
  ensureBuilt();
  const site = await serveDist();
  // One browser that has WebGPU (SwiftShader when there is no GPU); ?backend= picks the engine's.
  const mode: GpuMode = 'webgpu';
  const browser = await launchChromium(mode);
  try {
    const pageUrl = new URL(PLAYGROUND_PATH, site.url).href;
    const probe = await (await newContext(browser, mode, [])).newPage();
    await probe.goto(site.url);
    const adapter = await webgpuAdapter(probe);
    await probe.context().close();

    const weights: PageWeight[] = [];
    for (const b of requested) weights.push(await pageWeight(browser, mode, `${pageUrl}?backend=${b}`, b));
    const firstToken: FirstTokenFigures[] = [];
    for (const b of requested) {
      const runs: FirstTokenRun[] = [];
      for (let i = 0; i < repeats; i++) {
        const r = await firstTokenOnce(browser, mode, `${pageUrl}?backend=${b}`);
        if (!new RegExp(`\\b${b}\\b`, 'i').test(r.backend)) throw new EngineError('bad-argument', `asked for ${b}, the page used "${r.backend}"`);
        runs.push(r);
        process.stderr.write(`${b} run ${i + 1}/${repeats}: first token ${r.firstTokenMs.toFixed(0)} ms after navigation\n`);
      }
      firstToken.push({
        requested: b,
        backend: runs[0].backend,
        runs,
        median: {
          loadMs: median(runs.map((r) => r.loadMs)),
          clickMs: median(runs.map((r) => r.clickMs)),
          firstTokenMs: median(runs.map((r) => r.firstTokenMs)),
          clickToFirstTokenMs: median(runs.map((r) => r.firstTokenMs - r.clickMs)),
        },
      });
    }
    const result: SiteBenchResult = {
      machine: describeMachine(),
      browser: `Chromium ${browser.version()} (headless)`,
      webgpuAdapter: adapter,
      page: `/${PLAYGROUND_PATH}`,
      prompt: PROMPT,
      repeats,
      pageWeight: weights,
      firstToken,
      date: new Date().toISOString(),
    };
    mkdirSync(o.out!, { recursive: true });
    const file = join(o.out!, `site-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    if (o.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    process.stdout.write(`${result.machine}\n${result.browser}; WebGPU adapter: ${adapter ?? 'none'}\n`);
    process.stdout.write(`${result.page}, prompt "${PROMPT}", median of ${repeats}, fresh context each (nothing cached)\n\n`);
    process.stdout.write(
      `${formatTable(
        ['backend', 'load ms', 'click ms', 'first token ms', 'click → token ms'],
        firstToken.map((f) => [f.backend, f.median.loadMs.toFixed(0), f.median.clickMs.toFixed(0), f.median.firstTokenMs.toFixed(0), f.median.clickToFirstTokenMs.toFixed(0)]),
      )}\n`,
    );
    process.stdout.write('(ms since navigation start; the run button is clicked as soon as it is usable)\n\n');
    process.stdout.write('JavaScript of the page (page + engine worker), bytes as served uncompressed / decoded / gzip -9:\n');
    const kib = (w: ScriptWeight) => `${w.files} files, ${formatBytes(w.transferBytes)} / ${formatBytes(w.decodedBytes)} / ${formatBytes(w.gzipBytes)}`;
    process.stdout.write(
      `${formatTable(
        ['page', 'at load', 'ready, before the model', 'wasm then'],
        weights.map((w) => [`?backend=${w.backend}`, kib(w.atLoad), kib(w.beforeModel), formatBytes(w.wasmBytesBeforeModel)]),
      )}\n\n`,
    );
    const biggest = weights[0]?.beforeModel.largest ?? [];
    process.stdout.write(`${formatTable([`largest scripts (?backend=${weights[0]?.backend})`, 'decoded'], biggest.map((f) => [f.url, formatBytes(f.decodedBytes)]))}\n`);
    process.stdout.write(`\nwrote ${file}\n`);
  } finally {
    await browser.close().catch(() => undefined);
    await site.close();
  }
}
