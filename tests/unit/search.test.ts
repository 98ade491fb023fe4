// Building and querying the offline search index (src/site/search.ts).
import { describe, expect, it } from 'vitest';
import { buildSearchIndex, matchAnchors, queryWords, search, snippet, type ChapterSource } from '../../src/site/search.ts';

const sources: ChapterSource[] = [
  {
    slug: 'rotary',
    number: 3,
    title: 'Rotary position embeddings',
    summary: 'How RoPE encodes positions.',
    body: "import X from './x';\n\nPositions matter.\n\n## The rotation\nEach pair of dimensions rotates by an angle.\n\n## Why relative\nAttention sees relative offsets.",
    headings: [
      { depth: 2, slug: 'the-rotation', text: 'The rotation' },
      { depth: 2, slug: 'why-relative', text: 'Why relative' },
    ],
  },
  {
    slug: 'attention',
    number: 4,
    title: 'Attention variants',
    summary: 'MHA, GQA and MQA.',
    body: '## Grouped-query attention\nKey and value heads are shared; rotary embeddings still apply to every head.\n\n## Cache size\nThe cache shrinks.',
    headings: [
      { depth: 2, slug: 'grouped-query-attention', text: 'Grouped-query attention' },
      { depth: 2, slug: 'cache-size', text: 'Cache size' },
    ],
  },
  {
    slug: 'arch',
    number: 2,
    title: 'Architecture',
    summary: 'The decoder-only transformer.',
    body: 'A stack of blocks with attention and a feed-forward network.',
    headings: [],
  },
];
const index = buildSearchIndex(sources);

describe('buildSearchIndex', () => {
  it('orders chapters by number and splits them into sections with anchors', () => {
    expect(index.chapters.map((c) => c.slug)).toEqual(['arch', 'rotary', 'attention']);
    expect(index.sections).toEqual([
      { c: 0, h: null, a: null, t: 'A stack of blocks with attention and a feed-forward network.' },
      { c: 1, h: null, a: null, t: 'Positions matter.' },
      { c: 1, h: 'The rotation', a: 'the-rotation', t: 'Each pair of dimensions rotates by an angle.' },
      { c: 1, h: 'Why relative', a: 'why-relative', t: 'Attention sees relative offsets.' },
      // A chapter that opens with a heading still gets an entry for its title and summary.
      { c: 2, h: null, a: null, t: '' },
      { c: 2, h: 'Grouped-query attention', a: 'grouped-query-attention', t: 'Key and value heads are shared; rotary embeddings still apply to every head.' },
      { c: 2, h: 'Cache size', a: 'cache-size', t: 'The cache shrinks.' },
    ]);
  });

  it('matchAnchors skips headings a component rendered and falls back to depth order', () => {
    const rendered = [
      { depth: 2, slug: 'from-component', text: 'Model' },
      { depth: 2, slug: 'a', text: 'Alpha' },
      { depth: 3, slug: 'b-1', text: 'Beta (renamed)' },
    ];
    expect(matchAnchors([null, { depth: 2, text: 'Alpha' }, { depth: 3, text: 'Beta' }, { depth: 2, text: 'Gamma' }], rendered)).toEqual([
      null,
      'a',
      'b-1',
      null,
    ]);
  });
});

describe('search', () => {
  it('needs every query word', () => {
    expect(search(index, 'rotary shrinks')).toEqual([]);
    expect(search(index, '')).toEqual([]);
    expect(search(index, '  ,; ')).toEqual([]);
  });

  it('ranks title and heading hits before text hits', () => {
    const hits = search(index, 'rotary');
    expect(hits.map((h) => [h.chapter.slug, h.heading])).toEqual([
      ['rotary', null], // chapter title
      ['attention', 'Grouped-query attention'], // text only
    ]);
    const attention = search(index, 'attention').map((h) => [h.chapter.slug, h.heading]);
    expect(attention.slice(0, 2)).toEqual([
      ['attention', null],
      ['attention', 'Grouped-query attention'],
    ]);
    expect(attention).toContainEqual(['arch', null]);
    expect(attention).toContainEqual(['rotary', 'Why relative']);
  });

  it('lets the chapter title supply words, but a section must hold one itself', () => {
    // "rotary" is only in chapter 3's title; "relative" is in one of its sections.
    expect(search(index, 'rotary relative').map((h) => h.anchor)).toEqual(['why-relative']);
  });

  it('is case-insensitive and splits on punctuation', () => {
    expect(queryWords('Grouped-Query  ATTENTION')).toEqual(['grouped', 'query', 'attention']);
    expect(queryWords('att attention')).toEqual(['attention']);
    expect(search(index, 'GROUPED-query')[0]).toMatchObject({ anchor: 'grouped-query-attention', tier: 2 });
  });

  it('limits the number of hits', () => {
    expect(search(index, 'a', 2)).toHaveLength(2);
  });
});

describe('snippet', () => {
  it('cuts around the first match and marks every match', () => {
    const text = `${'lorem '.repeat(60)}the needle sits here ${'ipsum '.repeat(60)}`;
    const s = snippet(text, ['needle'], 80);
    expect(s.text.startsWith('…')).toBe(true);
    expect(s.text.endsWith('…')).toBe(true);
    expect(s.text.length).toBeLessThanOrEqual(82);
    expect(s.marks).toHaveLength(1);
    const [a, b] = s.marks[0];
    expect(s.text.slice(a, b)).toBe('needle');
  });

  it('merges overlapping marks', () => {
    expect(snippet('attention heads', ['atten', 'tention']).marks).toEqual([[0, 9]]);
  });
});
