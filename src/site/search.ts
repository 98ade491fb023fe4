/**
 * Offline full-text search over the chapters: the index is built at build time
 * (src/pages/search-index.json.ts) and queried in the page. Pure functions, no DOM.
 *
 * Ranking: every query word must occur (as a substring, case-insensitive) in the entry; entries
 * whose title or heading holds all words come first, then those where some words are in the
 * title/heading, then text-only hits; ties go to more (word-start) occurrences, then book order.
 */
import { mdxSections, type InlineResolver } from './mdx-text.ts';

export interface SearchChapter {
  slug: string;
  number: number;
  title: string;
  summary: string;
}

/** One searchable piece: a chapter's lead-in (heading null) or the text under one heading. */
export interface SearchSection {
  /** Index into `chapters`. */
  c: number;
  /** Heading text; null for the chapter's opening text (title and summary searchable there). */
  h: string | null;
  /** The heading's id on the page (for #anchor links); null when unknown or for the lead-in. */
  a: string | null;
  /** Plain text. */
  t: string;
}

export interface SearchIndex {
  version: 1;
  chapters: SearchChapter[];
  sections: SearchSection[];
}

export interface ChapterSource extends SearchChapter {
  /** The raw MDX body (entry.body). */
  body: string;
  /** The rendered page's headings (render(entry).headings), used for anchors. */
  headings: readonly { depth: number; slug: string; text: string }[];
}

export function buildSearchIndex(sources: readonly ChapterSource[], resolve?: InlineResolver): SearchIndex {
  const ordered = [...sources].sort((a, b) => a.number - b.number);
  const chapters: SearchChapter[] = ordered.map(({ slug, number, title, summary }) => ({ slug, number, title, summary }));
  const sections: SearchSection[] = [];
  ordered.forEach((src, c) => {
    const parts = mdxSections(src.body, resolve);
    const anchors = matchAnchors(
      parts.map((p) => (p.heading === null ? null : { depth: p.depth, text: p.heading })),
      src.headings,
    );
    if (parts[0]?.heading !== null) sections.push({ c, h: null, a: null, t: '' }); // title/summary entry
    parts.forEach((p, i) => sections.push({ c, h: p.heading, a: anchors[i], t: p.text }));
  });
  return { version: 1, chapters, sections };
}

/**
 * Pairs the headings found in the MDX source with the rendered page's headings (which carry the
 * ids): in order, each source heading takes the next rendered heading of the same depth whose
 * text matches; if none matches, the next one of that depth. Headings rendered by components
 * (not in the source) are skipped over.
 */
export function matchAnchors(
  parts: readonly ({ depth: number; text: string } | null)[],
  headings: readonly { depth: number; slug: string; text: string }[],
): (string | null)[] {
  let from = 0;
  return parts.map((p) => {
    if (p === null) return null;
    const same = (h: { depth: number; text: string }) => h.depth === p.depth && squash(h.text) === squash(p.text);
    let k = headings.findIndex((h, i) => i >= from && same(h));
    if (k < 0) k = headings.findIndex((h, i) => i >= from && h.depth === p.depth);
    if (k < 0) return null;
    from = k + 1;
    return headings[k].slug;
  });
}

const squash = (s: string): string => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');

/** Query → distinct lower-case words (letters/digits; "llama-2" → "llama", "2"). */
export function queryWords(query: string): string[] {
  const words = query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  // A word contained in a longer one adds nothing ("att attention" = "attention").
  const unique = [...new Set(words)];
  return unique.filter((w) => !unique.some((o) => o !== w && o.includes(w)));
}

export interface SearchHit {
  chapter: SearchChapter;
  heading: string | null;
  anchor: string | null;
  /** A piece of text around the first match, and [start, end) ranges of the words in it. */
  snippet: { text: string; marks: [number, number][] };
  tier: number;
  score: number;
}

function count(hay: string, word: string): number {
  let n = 0;
  for (let i = hay.indexOf(word); i >= 0; i = hay.indexOf(word, i + word.length)) {
    n += i === 0 || !/[\p{L}\p{N}]/u.test(hay[i - 1]) ? 2 : 1; // word starts count double
  }
  return n;
}

/** Searches `index`; returns at most `limit` hits, best first. */
export function search(index: SearchIndex, query: string, limit = 12): SearchHit[] {
  const words = queryWords(query);
  if (words.length === 0) return [];
  const hits: (SearchHit & { order: number })[] = [];
  index.sections.forEach((s, order) => {
    const chapter = index.chapters[s.c];
    // The lead-in speaks for the chapter: its title and summary are its "heading".
    const head = (s.h === null ? `${chapter.title} ${chapter.summary}` : s.h).toLowerCase();
    const title = chapter.title.toLowerCase();
    const text = s.t.toLowerCase();
    let inHead = 0;
    let score = 0;
    let inOwn = 0;
    for (const w of words) {
      const h = head.includes(w);
      const t = text.includes(w);
      if (!h && !t && !title.includes(w)) return;
      if (h) inHead++;
      if (h || t) inOwn++;
      score += count(text, w) + (h ? 20 : 0);
    }
    // A section must hold at least one word itself (the chapter title alone matches every section).
    if (inOwn === 0) return;
    const tier = inHead === words.length ? 2 : inHead > 0 ? 1 : 0;
    hits.push({ chapter, heading: s.h, anchor: s.a, snippet: snippet(s.t || chapter.summary, words), tier, score, order });
  });
  hits.sort((a, b) => b.tier - a.tier || b.score - a.score || a.order - b.order);
  return hits.slice(0, limit).map(({ order: _order, ...hit }) => hit);
}

/** About `width` characters of `text` around the first matching word, cut at spaces. */
export function snippet(text: string, words: readonly string[], width = 160): { text: string; marks: [number, number][] } {
  const lower = text.toLowerCase();
  const first = Math.min(...words.map((w) => lower.indexOf(w)).filter((i) => i >= 0), Infinity);
  let start = 0;
  let end = Math.min(text.length, width);
  if (Number.isFinite(first) && first > width / 3) {
    start = text.lastIndexOf(' ', first - Math.floor(width / 3));
    start = start < 0 ? 0 : start + 1;
    end = Math.min(text.length, start + width);
  }
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > start + width / 2) end = space;
  }
  const lead = start > 0 ? '…' : '';
  const piece = lead + text.slice(start, end) + (end < text.length ? '…' : '');
  const marks: [number, number][] = [];
  const pieceLower = piece.toLowerCase();
  for (const w of words) {
    for (let i = pieceLower.indexOf(w); i >= 0; i = pieceLower.indexOf(w, i + w.length)) marks.push([i, i + w.length]);
  }
  marks.sort((a, b) => a[0] - b[0]);
  // Merge overlapping ranges.
  const merged: [number, number][] = [];
  for (const m of marks) {
    const last = merged[merged.length - 1];
    if (last && m[0] <= last[1]) last[1] = Math.max(last[1], m[1]);
    else merged.push([m[0], m[1]]);
  }
  return { text: piece, marks: merged };
}
