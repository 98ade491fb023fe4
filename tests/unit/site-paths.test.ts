// Site links under Astro's base (src/site/paths.ts).
import { describe, expect, it } from 'vitest';
import { chapterHref, siteBase, withBase } from '../../src/site/paths.ts';

describe('site paths', () => {
  it('work at the root and under a base, with or without its trailing slash', () => {
    expect(siteBase('/')).toBe('/');
    expect(siteBase('/explorer')).toBe('/explorer/');
    expect(siteBase('/explorer/')).toBe('/explorer/');
    expect(withBase('search-index.json', '/explorer')).toBe('/explorer/search-index.json');
    expect(withBase('/search-index.json', '/')).toBe('/search-index.json');
    expect(chapterHref('architecture', null, '/')).toBe('/chapters/architecture/');
    expect(chapterHref('architecture', 'rmsnorm', '/x/')).toBe('/x/chapters/architecture/#rmsnorm');
  });
  it('default to import.meta.env.BASE_URL', () => {
    expect(withBase('a')).toBe(siteBase(import.meta.env.BASE_URL) + 'a');
  });
});
