/** The offline search index (/search-index.json), built from the chapters at build time. */
import type { APIRoute } from 'astro';
import { render } from 'astro:content';
import { getChapters } from '../site/chapters.ts';
import { paperInlineText } from '../site/paper-refs.ts';
import { buildSearchIndex } from '../site/search.ts';

export const GET: APIRoute = async () => {
  const chapters = await getChapters();
  const sources = await Promise.all(
    chapters.map(async (c) => ({
      slug: c.id,
      number: c.data.number,
      title: c.data.title,
      summary: c.data.summary,
      body: c.body ?? '',
      headings: (await render(c)).headings,
    })),
  );
  const index = buildSearchIndex(sources, paperInlineText);
  return new Response(JSON.stringify(index), { headers: { 'Content-Type': 'application/json; charset=utf-8' } });
};
