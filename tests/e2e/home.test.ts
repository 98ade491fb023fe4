// Home page in headless chromium: renders cleanly and reports the compute backend it found.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { collectErrors, launchChromium, newContext, screenshot, serveDist, type GpuMode, type Served } from './harness.ts';

let site: Served;
beforeAll(async () => {
  site = await serveDist();
});
afterAll(async () => {
  await site?.close();
});

interface Visit {
  page: Page;
  name: string;
  reasons: string[];
  status: string;
  errors: string[];
  offsite: string[];
  wasmTypes: string[];
}

/** Opens the home page in a fresh browser, waits for backend detection, screenshots the result. */
async function visit(mode: GpuMode, check: (v: Visit) => Promise<void> | void): Promise<void> {
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
    await page.goto(site.url);
    const status = page.getByTestId('backend-status');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 120_000 }).not.toBe('detecting');
    const name = (await page.getByTestId('backend-name').textContent())?.trim() ?? '';
    const reasons = await page.getByTestId('backend-reasons').locator('li').allTextContents();
    await screenshot(page, `home-${mode}`);
    await check({ page, name, reasons, status: (await status.textContent()) ?? '', errors, offsite, wasmTypes });
  } finally {
    await browser.close();
  }
}

describe('home page', () => {
  it('renders, works offline and uses WebGPU when chromium offers an adapter', async () => {
    await visit('webgpu', async ({ page, name, reasons, status, errors, offsite }) => {
      expect(errors).toEqual([]);
      expect(offsite).toEqual([]);
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Llama 2 Explorer');
      expect(await page.getByTestId('no-chapters').textContent()).toMatch(/No chapters yet/);
      expect(await page.locator('a.skip-link').getAttribute('href')).toBe('#main');
      expect(name).toBe('webgpu');
      expect(reasons).toEqual(['none (the first choice worked)']);
      expect(status).toMatch(/webgpu/);
    });
  });

  it('falls back when WebGPU has no adapter, saying why', async () => {
    await visit('no-adapter', ({ name, reasons, errors, offsite }) => {
      expect(errors).toEqual([]);
      expect(offsite).toEqual([]);
      expect(['webgl', 'wasm']).toContain(name);
      expect(reasons[0]).toMatch(/^WebGPU: no adapter/);
    });
  });

  it('falls back when the browser has no WebGPU at all, saying why', async () => {
    await visit('no-webgpu-api', ({ name, reasons, errors }) => {
      expect(errors).toEqual([]);
      expect(['webgl', 'wasm']).toContain(name);
      expect(reasons[0]).toBe('WebGPU: navigator.gpu is missing (browser without WebGPU or flag off)');
    });
  });

  it('runs on wasm served by the site itself when neither WebGPU nor WebGL works', async () => {
    await visit('no-gpu', ({ name, reasons, errors, offsite, wasmTypes }) => {
      expect(errors).toEqual([]);
      expect(offsite).toEqual([]);
      expect(name).toBe('wasm');
      expect(reasons).toHaveLength(2);
      expect(reasons[0]).toMatch(/^WebGPU: /);
      expect(reasons[1]).toMatch(/^WebGL: /);
      expect(wasmTypes.length).toBeGreaterThan(0);
      expect(wasmTypes.every((t) => t === 'application/wasm')).toBe(true);
    });
  });
});
