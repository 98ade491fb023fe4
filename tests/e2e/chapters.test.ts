// Every chapter in headless chromium: renders cleanly with its heading, charts and tables; the
// sidebar, previous/next links, search, the theme toggle and a phone-width layout work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  builtText,
  chapterPath,
  chapterSources,
  distinctiveWord,
  drawCharts,
  horizontalOverflow,
  openSession,
  scrollThrough,
  type Session,
} from './harness.ts';

const chapters = chapterSources();
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };

let s: Session;
beforeAll(async () => {
  // Charts and tables need no GPU; without one the page's engine (if a widget starts it) uses wasm.
  s = await openSession('no-gpu');
});
afterAll(async () => {
  await s?.close();
});

/** How often the chapter's source uses a component (`<PaperChart ` …). */
const uses = (source: string, component: string): number => source.match(new RegExp(`<${component}[\\s/>]`, 'g'))?.length ?? 0;

/** Path of a link's target, without origin or fragment, for comparing with chapter paths. */
const pathOf = (href: string, page: Page) => new URL(href, page.url()).pathname;

it('has the twelve chapters of the contract, numbered 1..12', () => {
  expect(chapters.map((c) => c.number)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
});

describe.each(chapters.map((c) => [c.slug, c] as const))('chapter %s', (slug, chapter) => {
  it('renders without errors: heading, every chart drawn, every table', async () => {
    const v = await s.open(chapterPath(slug), { viewport: DESKTOP });
    try {
      const { page } = v;
      expect(await page.title()).toContain(chapter.title);
      const h1 = page.getByRole('heading', { level: 1 });
      expect(await h1.count()).toBe(1);
      expect(await h1.textContent()).toContain(chapter.title);

      const charts = uses(chapter.source, 'PaperChart');
      expect(await page.getByTestId('paper-chart').count()).toBe(charts);
      expect(await drawCharts(page)).toBe(charts);
      for (const chart of await page.getByTestId('paper-chart').all()) {
        expect(await chart.getAttribute('data-table-id')).toMatch(/\S/);
      }

      const tables = page.getByTestId('paper-table');
      expect(await tables.count()).toBe(uses(chapter.source, 'PaperTable'));
      for (const t of await tables.all()) expect(await t.locator('table tbody tr').count()).toBeGreaterThan(0);

      await scrollThrough(page); // every island on the page gets to start
      expect(v.errors).toEqual([]);
      expect(v.offsite).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('fits a 375 px wide phone: no horizontal scrolling', async () => {
    const v = await s.open(chapterPath(slug), { viewport: PHONE, isMobile: true, hasTouch: true });
    try {
      await drawCharts(v.page);
      await scrollThrough(v.page);
      const overflow = await horizontalOverflow(v.page);
      if (overflow > 0) {
        // Name the culprits: the outermost elements whose right edge passes the viewport and
        // that no scrolling box contains.
        const wide = await v.page.evaluate(() =>
          [...document.querySelectorAll('body *')]
            .filter((e) => {
              const edge = document.documentElement.clientWidth + 1;
              if (e.getBoundingClientRect().right <= edge) return false;
              for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
                if (getComputedStyle(p).overflowX !== 'visible') return false;
                if (p.getBoundingClientRect().right > edge) return false; // report the outer one
              }
              return true;
            })
            .slice(0, 8)
            .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${[...e.classList].join('.')} right=${Math.round(e.getBoundingClientRect().right)}`),
        );
        expect.fail(`${slug} scrolls sideways by ${overflow}px at 375px; too wide: ${wide.join(', ')}`);
      }
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });
});

describe('navigation', () => {
  it('the sidebar lists every chapter in order and its links go there', async () => {
    const first = chapters[0];
    const v = await s.open(chapterPath(first.slug), { viewport: DESKTOP });
    try {
      const { page } = v;
      // The sidebar: the navigation landmark that links to every chapter.
      const navs = page.getByRole('navigation');
      let sidebar: ReturnType<Page['locator']> | undefined;
      for (const nav of await navs.all()) {
        const paths = await Promise.all((await nav.locator('a[href]').all()).map(async (a) => pathOf((await a.getAttribute('href'))!, page)));
        const listed = chapters.map((c) => `/${chapterPath(c.slug)}`).filter((p) => paths.includes(p));
        if (listed.length === chapters.length) {
          // In chapter order.
          const order = paths.filter((p) => listed.includes(p));
          expect([...new Set(order)]).toEqual(chapters.map((c) => `/${chapterPath(c.slug)}`));
          sidebar = nav;
          break;
        }
      }
      expect(sidebar, 'a <nav> linking to every chapter').toBeDefined();
      // The current chapter is marked for assistive technology.
      expect(await sidebar!.locator('[aria-current="page"]').count()).toBe(1);
      const target = chapters[Math.min(4, chapters.length - 1)];
      await sidebar!.locator(`a[href$="/${chapterPath(target.slug)}"]`).first().click();
      await page.waitForURL((u) => u.pathname.endsWith(`/${chapterPath(target.slug)}`));
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain(target.title);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('previous/next links walk the chapters in order, both ways', async () => {
    const v = await s.open(chapterPath(chapters[0].slug), { viewport: DESKTOP });
    try {
      const { page } = v;
      const link = (rel: 'prev' | 'next') => page.locator(`a[rel="${rel}"]`);
      expect(await link('prev').count(), 'chapter 1 has no previous chapter').toBe(0);
      for (let i = 1; i < chapters.length; i++) {
        await link('next').first().click();
        await page.waitForURL((u) => u.pathname.endsWith(`/${chapterPath(chapters[i].slug)}`));
        expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain(chapters[i].title);
      }
      expect(await link('next').count(), 'the last chapter has no next chapter').toBe(0);
      await link('prev').first().click();
      await page.waitForURL((u) => u.pathname.endsWith(`/${chapterPath(chapters.at(-2)!.slug)}`));
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });
});

describe('search', () => {
  it("finds each chapter by a word only that chapter uses", async () => {
    // The word comes from the chapter's own source (and must show on its built page), so the
    // test follows the text as it changes instead of naming an expected result.
    const terms = chapters.map((c) => ({ chapter: c, word: distinctiveWord(chapters, c.slug, builtText(chapterPath(c.slug))) }));
    const v = await s.open('', { viewport: DESKTOP });
    try {
      const { page } = v;
      const input = page.getByTestId('search-input').first();
      const results = page.getByTestId('search-results').first();
      const missing: string[] = [];
      for (const { chapter, word } of terms) {
        if (!word) {
          missing.push(`${chapter.slug}: no word of its own`);
          continue;
        }
        await input.fill(word);
        const want = `/${chapterPath(chapter.slug)}`;
        const found = async () => {
          const hrefs = await results.locator('a[href]').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).pathname));
          return hrefs.includes(want);
        };
        try {
          await expect.poll(found, { timeout: 10_000 }).toBe(true);
        } catch {
          missing.push(`${chapter.slug}: "${word}" → ${(await results.textContent())?.replace(/\s+/g, ' ').slice(0, 200)}`);
        }
      }
      expect(missing).toEqual([]);
      // A result is a working link.
      const last = terms.at(-1)!;
      await input.fill(last.word!);
      await results.locator(`a[href*="/${chapterPath(last.chapter.slug)}"]`).first().click();
      await page.waitForURL((u) => u.pathname.endsWith(`/${chapterPath(last.chapter.slug)}`));
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });
});

describe('theme', () => {
  it('the toggle switches data-theme and the choice survives a reload', async () => {
    const slug = chapters[1]?.slug ?? chapters[0].slug;
    const v = await s.open(chapterPath(slug), { viewport: DESKTOP, colorScheme: 'light' });
    try {
      const { page } = v;
      const theme = () => page.locator('html').getAttribute('data-theme');
      const toggle = page.getByTestId('theme-toggle').first();
      const before = await theme();
      expect(['light', 'dark', null]).toContain(before);
      const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const bgBefore = await background();

      await toggle.click();
      await expect.poll(theme).toBe(before === 'dark' ? 'light' : 'dark');
      const after = (await theme())!;
      expect(await background()).not.toBe(bgBefore); // the colours follow, not just the attribute

      await page.reload();
      expect(await theme()).toBe(after);
      await page.getByTestId('theme-toggle').first().click();
      await expect.poll(theme).not.toBe(after);
      await page.reload();
      expect(await theme()).not.toBe(after);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
