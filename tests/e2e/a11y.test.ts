// Accessibility of every page in light and dark, by axe-core (no serious or critical violation),
// with full-page screenshots at desktop and phone widths as artefacts in test-results/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  built,
  chapterPath,
  chapterSources,
  currentTheme,
  drawCharts,
  formatViolations,
  openSession,
  runAxe,
  screenshot,
  scrollThrough,
  serious,
  useTheme,
  waitForModel,
  type Session,
} from './harness.ts';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

const pages: { name: string; path: string }[] = [
  { name: 'home', path: '' },
  ...chapterSources().map((c) => ({ name: `${String(c.number).padStart(2, '0')}-${c.slug}`, path: chapterPath(c.slug) })),
  ...(built('playground/') ? [{ name: 'playground', path: 'playground/' }] : []),
];

let s: Session;
beforeAll(async () => {
  s = await openSession('no-gpu');
});
afterAll(async () => {
  await s?.close();
});

/**
 * Lets the page reach the state a reader sees: charts drawn, islands hydrated, a model that
 * started loading loaded (or failed, which the panel shows), the stepper and the RoPE explorer done
 * computing; then back to the top.
 */
async function settle(page: Page): Promise<void> {
  await drawCharts(page);
  await scrollThrough(page);
  if (await page.getByTestId('model-status').count()) await waitForModel(page, ['idle', 'ready', 'error']);
  const stepper = page.getByTestId('stepper');
  if (await stepper.count()) {
    await expect
      .poll(async () => (await stepper.getAttribute('data-position')) !== null && (await stepper.getAttribute('data-busy')) === 'false', { timeout: 240_000 })
      .toBe(true);
  }
  const rope = page.getByTestId('rope-explorer');
  if (await rope.count()) {
    await expect
      .poll(async () => (await rope.getAttribute('data-prompt')) !== null && (await rope.getAttribute('data-busy')) === 'false', { timeout: 240_000 })
      .toBe(true);
    await expect.poll(() => page.getByTestId('rope-plot').getAttribute('data-state'), { timeout: 30_000 }).toBe('drawn');
  }
  await page.evaluate(() => scrollTo(0, 0));
}

describe.each(pages.map((p) => [p.name, p] as const))('%s', (name, { path }) => {
  // Dark comes two ways: the reader's toggle (data-theme="dark") and the system setting with no
  // choice stored (prefers-color-scheme). Desktop opens light and toggles to dark; phone opens
  // with a dark system setting and toggles to light; axe checks light, toggled dark and system dark.
  it('light and dark: no serious or critical axe violation; screenshots at desktop and phone width', async () => {
    const problems: string[] = [];
    const audit = async (page: Page, where: string) => {
      const bad = serious(await runAxe(page));
      if (bad.length) problems.push(formatViolations(`${name} ${where}`, bad));
    };
    const shot = (page: Page, theme: string, width: string) => screenshot(page, `screenshots/${name}-${theme}-${width}`);

    const desktop = await s.open(path, { viewport: DESKTOP, colorScheme: 'light' });
    try {
      const { page } = desktop;
      expect(await currentTheme(page)).toBe('light');
      await settle(page);
      await shot(page, 'light', 'desktop');
      await audit(page, 'light desktop');
      await useTheme(page, 'dark');
      await shot(page, 'dark', 'desktop');
      await audit(page, 'dark (toggled) desktop');
      expect(desktop.errors).toEqual([]);
    } finally {
      await desktop.close();
    }

    const phone = await s.open(path, { viewport: PHONE, colorScheme: 'dark', isMobile: true, hasTouch: true });
    try {
      const { page } = phone;
      expect(await currentTheme(page)).toBe('dark');
      await settle(page);
      await shot(page, 'dark', 'phone');
      await audit(page, 'dark (system) phone');
      await useTheme(page, 'light');
      await shot(page, 'light', 'phone');
      expect(phone.errors).toEqual([]);
    } finally {
      await phone.close();
    }

    if (problems.length) expect.fail(`axe found serious or critical violations:\n${problems.join('\n')}`);
  });
});
