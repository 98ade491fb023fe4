// Home page in headless chromium: renders cleanly, and its model panel reports the compute backend
// the engine worker found (and why the faster ones were skipped), loads the embedded model with
// progress, and reports a corrupt checkpoint in words while keeping the model it had.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { collectErrors, embeddedBytes, launchChromium, newContext, screenshot, serveDist, type GpuMode, type Served } from './harness.ts';

let site: Served;
beforeAll(async () => {
  site = await serveDist();
});
afterAll(async () => {
  await site?.close();
});

interface Visit {
  page: Page;
  backend: string;
  reasons: string[];
  errors: string[];
  offsite: string[];
  wasmTypes: string[];
}

/** Opens the home page in a fresh browser, waits until the worker has chosen a backend. */
async function visit(mode: GpuMode, check: (v: Visit) => Promise<void> | void, query = ''): Promise<void> {
  const browser = await launchChromium(mode);
  try {
    const offsite: string[] = [];
    const context = await newContext(browser, mode, offsite);
    const page = await context.newPage();
    const errors = collectErrors(page);
    const wasmTypes: string[] = [];
    page.on('response', (res) => {
      if (res.url().endsWith('.wasm')) wasmTypes.push(res.headers()['content-type'] ?? '');
    });
    await page.goto(site.url + query);
    const panel = page.getByTestId('model-panel');
    await panel.scrollIntoViewIfNeeded(); // client:visible: the island hydrates once on screen
    const backendEl = page.getByTestId('model-backend');
    await expect.poll(() => backendEl.textContent(), { timeout: 120_000 }).not.toMatch(/choosing/);
    const backend = ((await backendEl.textContent()) ?? '').trim();
    const reasonsEl = page.getByTestId('model-backend-reasons');
    const reasons = (await reasonsEl.count()) ? await reasonsEl.locator('li').allTextContents() : [];
    await screenshot(page, `home-${mode}`);
    await check({ page, backend, reasons, errors, offsite, wasmTypes });
  } finally {
    await browser.close();
  }
}

describe('home page', () => {
  it('renders, works offline and uses WebGPU when chromium offers an adapter', async () => {
    await visit('webgpu', async ({ page, backend, reasons, errors, offsite }) => {
      expect(errors).toEqual([]);
      expect(offsite).toEqual([]);
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Llama 2 Explorer');
      expect(await page.locator('a.skip-link').getAttribute('href')).toBe('#main');
      expect(backend).toBe('webgpu');
      expect(reasons).toEqual([]);
      expect(await page.getByTestId('model-status').getAttribute('data-state')).toBe('idle');
    });
  });

  it('falls back when WebGPU has no adapter, saying why', async () => {
    await visit('no-adapter', ({ backend, reasons, errors, offsite }) => {
      expect(errors).toEqual([]);
      expect(offsite).toEqual([]);
      expect(['webgl', 'wasm']).toContain(backend);
      expect(reasons[0]).toMatch(/^WebGPU: no adapter/);
    });
  });

  it('falls back when the browser has no WebGPU at all, saying why', async () => {
    await visit('no-webgpu-api', ({ backend, reasons, errors }) => {
      expect(errors).toEqual([]);
      expect(['webgl', 'wasm']).toContain(backend);
      // The harness removes navigator.gpu with an init script, which reaches the page but not the
      // engine's worker (its WorkerNavigator still has gpu, with no adapter in this mode).
      expect(reasons[0]).toMatch(/^WebGPU: (navigator\.gpu is missing \(browser without WebGPU or flag off\)|no adapter)/);
    });
  });

  it('runs on wasm served by the site itself when neither WebGPU nor WebGL works', async () => {
    await visit('no-gpu', ({ backend, reasons, errors, offsite, wasmTypes }) => {
      expect(errors).toEqual([]);
      expect(offsite).toEqual([]);
      expect(backend).toBe('wasm');
      expect(reasons).toHaveLength(2);
      expect(reasons[0]).toMatch(/^WebGPU: /);
      expect(reasons[1]).toMatch(/^WebGL: /);
      expect(wasmTypes.length).toBeGreaterThan(0);
      expect(wasmTypes.every((t) => t === 'application/wasm')).toBe(true);
    });
  });

  it('loads the embedded model with progress, then keeps it when a truncated checkpoint is picked', async () => {
    await visit(
      'no-gpu',
      async ({ page, backend, errors }) => {
        expect(backend).toBe('wasm');
        const status = page.getByTestId('model-status');
        await page.getByTestId('model-load').click();
        await expect.poll(() => status.getAttribute('data-state'), { timeout: 120_000 }).toBe('ready');
        expect(await page.getByTestId('model-parameters').textContent()).toMatch(/^\d{1,3}(,\d{3})+$/);
        expect(await page.getByTestId('model-name').textContent()).toMatch(/Embedded TinyStories model/);

        await page.getByTestId('model-choice').selectOption('files');
        const model = embeddedBytes('model.bin');
        await page.getByTestId('model-file').setInputFiles({ name: 'broken.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(model.subarray(0, model.length - 1000)) });
        await page.getByTestId('tokenizer-file').setInputFiles({ name: 'tokenizer.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(embeddedBytes('tokenizer.bin')) });
        await page.getByTestId('model-load').click();
        const error = page.getByTestId('model-error');
        await expect.poll(() => error.count(), { timeout: 60_000 }).toBe(1);
        expect(await error.getAttribute('role')).toBe('alert');
        expect(await error.textContent()).toMatch(/^broken\.bin: .*expected .*got/);
        expect(await status.getAttribute('data-state')).toBe('ready');
        expect(await page.getByTestId('model-name').textContent()).toMatch(/Embedded TinyStories model/);
        await screenshot(page, 'home-model-error');
        expect(errors).toEqual([]);
      },
      '?backend=wasm',
    );
  });
});
