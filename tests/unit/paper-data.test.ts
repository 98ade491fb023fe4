import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PAPER_TABLES, cell, formatCell, paperTable, type PaperRow, type PaperTable } from '../../src/content/paper-data.ts';
import { sharedPath } from '../support/shared.ts';

// Every data file in content/data/ against the paper's text (../shared/paper/llama2-slides.txt):
// its shape, and that each value sits where the file says it comes from.

const DATA_DIR = fileURLToPath(new URL('../../content/data/', import.meta.url));
const SOURCE = readFileSync(sharedPath('paper/llama2-slides.txt'), 'utf8');
const FILES = readdirSync(DATA_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const RAW = FILES.map((file) => ({ file, json: JSON.parse(readFileSync(DATA_DIR + file, 'utf8')) as unknown }));

// ---------------------------------------------------------------------------------------------
// How the source writes numbers.

const close = (a: number, b: number): boolean => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

/** "122387" -> "122,387" (the integer part only). */
function withCommas(s: string): string {
  const [int, frac] = s.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

const SCALES: readonly [string, number][] = [
  ['k', 1e3],
  ['M', 1e6],
  ['B', 1e9],
  ['T', 1e12],
];

/**
 * The ways the source may print a number: plain ("46.6", "89.70", "122,387"), with a scale
 * suffix ("70B", "2.0T", "4M"), or in scientific form ("3.0×10^{-4}"). Only exact renderings:
 * 46.6 never yields "47". Writings that need the reader ("4k" for 4096, "2/3", "three") are
 * recorded in the row's sourceText instead and checked with sourceValues.
 */
function renderings(v: number): string[] {
  const out = new Set<string>();
  for (let d = 0; d <= 4; d++) {
    const s = v.toFixed(d);
    if (close(Number(s), v)) out.add(s).add(withCommas(s));
  }
  for (const [suffix, scale] of SCALES) {
    const m = v / scale;
    if (Math.abs(m) < 1) continue;
    for (let d = 0; d <= 2; d++) {
      const s = m.toFixed(d);
      if (close(Number(s) * scale, v)) out.add(s + suffix);
    }
  }
  if (v !== 0) {
    const e = Math.floor(Math.log10(Math.abs(v)));
    const m = v / 10 ** e;
    for (let d = 0; d <= 2; d++) {
      const s = m.toFixed(d);
      if (close(Number(`${s}e${e}`), v)) out.add(`${s}×10^{${e}}`);
    }
  }
  return [...out];
}

const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/** What a piece of source text may mean as a cell value ([] if we cannot read it). */
function sourceValues(text: string): (number | boolean | null)[] {
  const s = text.trim();
  if (s === '✓') return [true];
  if (s === '✗') return [false];
  if (s === '–' || s === '-' || s === '') return [null];
  if (WORDS.includes(s)) return [WORDS.indexOf(s)];
  let m = /^[A-Z]+-V(\d+)$/.exec(s); // the last of a numbered series ("RLHF-V5"): its count
  if (m) return [Number(m[1])];
  const t = s.replace(/^~/, '').replace(/%$/, '');
  m = /^(\d+)\/(\d+)$/.exec(t);
  if (m) return [Number(m[1]) / Number(m[2])];
  m = /^(\d+(?:\.\d+)?)×10\^\{(-?\d+)\}$/.exec(t);
  if (m) return [Number(`${m[1]}e${m[2]}`)];
  m = /^(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(k|M|B|T|GB|TB)?$/.exec(t);
  if (!m) return [];
  const base = Number(m[1].replaceAll(',', '') + (m[2] ?? ''));
  switch (m[3]) {
    case undefined:
      return [base];
    case 'k': // 1e3, or 1024 as in "4k" context
      return [base * 1e3, base * 1024];
    case 'M':
      return [base * 1e6, base * 2 ** 20];
    case 'B':
    case 'GB':
      return [base * 1e9];
    default: // T, TB
      return [base * 1e12];
  }
}

const sameCell = (a: number | boolean | null, b: unknown): boolean =>
  typeof a === 'number' && typeof b === 'number' ? close(a, b) : a === b;

const isWordChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9]/.test(c);
const isDigit = (c: string | undefined): boolean => c !== undefined && /[0-9]/.test(c);

/**
 * `needle` occurs in `hay` as a whole token: "6.8" is not in "26.8", "38,480" is not in
 * "1,038,480", "en" is not in "Helpfulness", but "7B" is in "\t7B\t" and "89.70" in "89.70%".
 */
function occurs(hay: string, needle: string): boolean {
  if (needle === '') return false;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + 1)) {
    const before = hay[i - 1];
    const after = hay[i + needle.length];
    const after2 = hay[i + needle.length + 1];
    if (isWordChar(needle[0])) {
      if (isWordChar(before)) continue;
      if (isDigit(needle[0]) && (before === '.' || (before === ',' && isDigit(hay[i - 2])))) continue;
    }
    const last = needle[needle.length - 1];
    if (isWordChar(last)) {
      if (isWordChar(after)) continue;
      if (isDigit(last) && (after === '.' || after === ',') && isDigit(after2)) continue;
    }
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Shape.

const TOP_KEYS = ['id', 'title', 'source', 'caption', 'sourceSpan', 'columns', 'rows', 'notes'];
const COLUMN_KEYS = new Set(['key', 'label', 'unit', 'decimals', 'check']);
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isText = (x: unknown): x is string => typeof x === 'string' && x.trim() !== '';

/** Everything wrong with one file's shape; [] when it is a well-formed PaperTable. */
function shapeProblems(json: unknown, file: string): string[] {
  const p: string[] = [];
  if (!isObject(json)) return ['not a JSON object'];
  const keys = Object.keys(json);
  if (keys.join() !== TOP_KEYS.join()) p.push(`top-level keys ${keys.join()} (want ${TOP_KEYS.join()})`);
  for (const k of ['id', 'title', 'source', 'caption']) if (!isText(json[k])) p.push(`${k} is not a non-empty string`);
  if (json.id !== file.replace(/\.json$/, '')) p.push(`id ${String(json.id)} is not the file name`);
  const span = json.sourceSpan;
  if (!isObject(span) || !isText(span.start) || !isText(span.end) || Object.keys(span).length !== 2) p.push('sourceSpan is not {start, end}');
  if (!Array.isArray(json.notes) || !json.notes.every(isText)) p.push('notes is not a list of strings');
  const columns = json.columns;
  const rows = json.rows;
  if (!Array.isArray(columns) || columns.length === 0) return [...p, 'no columns'];
  if (!Array.isArray(rows) || rows.length === 0) return [...p, 'no rows'];
  const colKeys: string[] = [];
  for (const c of columns as unknown[]) {
    if (!isObject(c)) {
      p.push('a column is not an object');
      continue;
    }
    const extra = Object.keys(c).filter((k) => !COLUMN_KEYS.has(k));
    if (extra.length) p.push(`column ${String(c.key)} has unknown fields ${extra.join()}`);
    if (typeof c.key !== 'string' || !/^[a-z][A-Za-z0-9]*$/.test(c.key)) p.push(`bad column key ${String(c.key)}`);
    else if (colKeys.includes(c.key)) p.push(`duplicate column key ${c.key}`);
    else colKeys.push(c.key);
    if (!isText(c.label)) p.push(`column ${String(c.key)} has no label`);
    if (!('unit' in c) || !(c.unit === null || isText(c.unit))) p.push(`column ${String(c.key)}: unit must be a string or null`);
    if ('decimals' in c && !(Number.isInteger(c.decimals) && (c.decimals as number) >= 0)) p.push(`column ${String(c.key)}: bad decimals`);
    if ('check' in c && !['line', 'span', 'none'].includes(c.check as string)) p.push(`column ${String(c.key)}: bad check`);
  }
  rows.forEach((r: unknown, i) => {
    if (!isObject(r)) return void p.push(`row ${i} is not an object`);
    const missing = colKeys.filter((k) => !(k in r));
    const extra = Object.keys(r).filter((k) => k !== 'sourceText' && !colKeys.includes(k));
    if (missing.length) p.push(`row ${i} lacks ${missing.join()}`);
    if (extra.length) p.push(`row ${i} has keys that are not columns: ${extra.join()}`);
    for (const k of colKeys) {
      const v = r[k];
      const ok = v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
      if (k in r && !ok) p.push(`row ${i} ${k}: not a number, string, boolean or null`);
    }
    if ('sourceText' in r) {
      const st = r.sourceText;
      if (!isObject(st) || Object.keys(st).length === 0) p.push(`row ${i}: sourceText is not a non-empty map`);
      else
        for (const [k, v] of Object.entries(st)) {
          if (!colKeys.includes(k)) p.push(`row ${i}: sourceText for unknown column ${k}`);
          if (!isText(v)) p.push(`row ${i}: sourceText.${k} is not a string`);
        }
    }
  });
  for (const c of columns as Record<string, unknown>[]) {
    const key = c.key as string;
    const types = new Set((rows as Record<string, unknown>[]).map((r) => r[key]).filter((v) => v !== null && v !== undefined).map((v) => typeof v));
    if (types.size > 1) p.push(`column ${key} mixes ${[...types].join(' and ')}`);
    if (types.size === 0) p.push(`column ${key} is empty`);
    if ('decimals' in c && !types.has('number')) p.push(`column ${key}: decimals on a column that is not numeric`);
    if (c.check === 'none' && !(types.size === 1 && types.has('string'))) p.push(`column ${key}: only text can skip the source check`);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Provenance.

/** The source text the file says the table occupies (start once; end after it). */
function spanOf(t: PaperTable): string {
  const from = SOURCE.indexOf(t.sourceSpan.start);
  if (from === -1 || SOURCE.indexOf(t.sourceSpan.start, from + 1) !== -1) throw new Error(`${t.id}: span start must occur exactly once`);
  const to = SOURCE.indexOf(t.sourceSpan.end, from);
  if (to === -1) throw new Error(`${t.id}: span end not found after its start`);
  return SOURCE.slice(from, to + t.sourceSpan.end.length);
}

/** The ways one cell may appear in the source, or a problem with the cell itself. */
function cellNeedles(t: PaperTable, row: PaperRow, key: string): string[] | string {
  const v = cell(row, key);
  const st = row.sourceText?.[key];
  if (st !== undefined) {
    const meanings = sourceValues(st);
    if (!meanings.some((m) => sameCell(m, v))) return `sourceText "${st}" does not mean ${String(v)} (reads as ${meanings.join(' or ') || 'nothing'})`;
    return [st];
  }
  if (v === null) return 'null cell without the source placeholder in sourceText';
  if (typeof v === 'boolean') return 'boolean cell without the source symbol in sourceText';
  if (typeof v === 'string') return [v];
  const decimals = t.columns.find((c) => c.key === key)?.decimals;
  if (decimals === undefined) return renderings(v);
  const s = v.toFixed(decimals);
  if (Number(s) !== v) return `${v} has more digits than the column's ${decimals} decimals`;
  return [s, withCommas(s)];
}

/** Everything in one file that cannot be traced to the source; [] when all is. */
function provenanceProblems(t: PaperTable): string[] {
  const p: string[] = [];
  let span: string;
  try {
    span = spanOf(t);
  } catch (e) {
    return [(e as Error).message];
  }
  const lines = span.split('\n');
  const quoteKey = t.columns.some((c) => c.key === 'quote') ? 'quote' : undefined;
  t.rows.forEach((row, i) => {
    const onLine: [string, string[]][] = [];
    for (const c of t.columns) {
      const check = c.check ?? 'line';
      if (check === 'none') continue;
      const needles = cellNeedles(t, row, c.key);
      if (typeof needles === 'string') {
        p.push(`${t.id} row ${i} ${c.key}: ${needles}`);
        continue;
      }
      if (!needles.some((n) => occurs(span, n))) {
        p.push(`${t.id} row ${i} ${c.key}: ${JSON.stringify(cell(row, c.key))} not found in the table's source text (tried ${needles.join(' | ')})`);
        continue;
      }
      if (check === 'line') onLine.push([c.key, needles]);
      const quote = quoteKey && c.key !== quoteKey ? row[quoteKey] : undefined;
      if (typeof quote === 'string' && !needles.some((n) => occurs(quote, n))) p.push(`${t.id} row ${i} ${c.key}: not in the row's quote`);
    }
    if (onLine.length && !lines.some((l) => onLine.every(([, needles]) => needles.some((n) => occurs(l, n)))))
      p.push(`${t.id} row ${i}: no source line holds all of ${onLine.map(([k]) => k).join(', ')}`);
  });
  return p;
}

/** Captions are quoted; the source adds markup (bold, italics, a LaTeX ≥) that we leave out. */
const plain = (s: string): string =>
  s
    .replaceAll('<i>', '')
    .replaceAll('</i>', '')
    .replaceAll('*', '')
    .replaceAll('$\\geq ', '≥ ')
    .replaceAll('\\%$', '%');

// ---------------------------------------------------------------------------------------------

describe('the helpers that read the source', () => {
  it('render a number the ways the source writes it', () => {
    expect(renderings(2.0e12)).toContain('2.0T');
    expect(renderings(1.4e12)).toContain('1.4T');
    expect(renderings(7e10)).toContain('70B');
    expect(renderings(3.0e-4)).toContain('3.0×10^{-4}');
    expect(renderings(4e6)).toContain('4M');
    expect(renderings(89.7)).toContain('89.70');
    expect(renderings(46.6)).toContain('46.6');
    expect(renderings(1038480)).toContain('1,038,480');
    expect(renderings(46.6)).not.toContain('47');
    expect(renderings(4096)).not.toContain('4k');
  });

  it('read converted source strings back', () => {
    expect(sourceValues('4k')).toContain(4096);
    expect(sourceValues('2/3')).toEqual([2 / 3]);
    expect(sourceValues('3.0×10^{-4}')).toEqual([3.0e-4]);
    expect(sourceValues('3.3 TB')).toEqual([3.3e12]);
    expect(sourceValues('~4,000')).toEqual([4000]);
    expect(sourceValues('three')).toEqual([3]);
    expect(sourceValues('✓')).toEqual([true]);
    expect(sourceValues('–')).toEqual([null]);
    expect(sourceValues('RLHF-V5')).toEqual([5]);
    expect(sourceValues('about 4')).toEqual([]);
  });

  it('match whole tokens only', () => {
    expect(occurs('\t26.8\t', '6.8')).toBe(false);
    expect(occurs('\t26.8\t', '26.8')).toBe(true);
    expect(occurs('1,038,480', '38,480')).toBe(false);
    expect(occurs('2.45', '2.4')).toBe(false);
    expect(occurs('Helpfulness', 'en')).toBe(false);
    expect(occurs('en\t89.70%', '89.70')).toBe(true);
    expect(occurs('\t70B\t', '0B')).toBe(false);
    expect(occurs('\t70B\t', '70B')).toBe(true);
  });
});

describe('content/data', () => {
  it('holds data files, all loaded by src/content/paper-data.ts', () => {
    expect(FILES.length).toBeGreaterThan(0);
    expect(PAPER_TABLES.map((t) => t.id).sort()).toEqual(FILES.map((f) => f.replace(/\.json$/, '')).sort());
    expect(paperTable('table-3').title).toMatch(/benchmarks/);
    expect(() => paperTable('table-99')).toThrow(/no paper table/);
  });

  it('has unique ids', () => {
    const ids = RAW.map(({ json }) => (isObject(json) ? json.id : undefined));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lists every file in its README, and no other', () => {
    const readme = readFileSync(DATA_DIR + 'README.md', 'utf8');
    const listed = [...readme.matchAll(/`([a-z0-9-]+\.json)`/g)].map((m) => m[1]);
    expect([...new Set(listed)].sort()).toEqual(FILES);
  });

  describe.each(RAW)('$file', ({ file, json }) => {
    it('has the shape every chart expects', () => {
      expect(shapeProblems(json, file)).toEqual([]);
    });

    it('names its paper table and quotes its caption', () => {
      const t = json as PaperTable;
      expect(t.source).toContain('llama2-slides.txt');
      const n = /^table-(\d+)$/.exec(t.id)?.[1];
      if (n) expect(t.source).toContain(`Table ${n}`);
      if (n) expect(t.caption.startsWith(`Table ${n}:`)).toBe(true);
      if (t.caption.startsWith('Table ')) expect(plain(SOURCE)).toContain(t.caption);
    });

    it('takes every value from the source, on the row it belongs to', () => {
      expect(provenanceProblems(json as PaperTable)).toEqual([]);
    });

    it('formats every cell back to the source text', () => {
      const t = json as PaperTable;
      const span = spanOf(t);
      for (const row of t.rows)
        for (const c of t.columns)
          if ((c.check ?? 'line') !== 'none') expect(occurs(span, formatCell(t, row, c.key)), `${c.key} ${formatCell(t, row, c.key)}`).toBe(true);
    });
  });
});

describe('the tables agree with each other and with their captions', () => {
  const num = (t: PaperTable, row: PaperRow, key: string): number => {
    const v = cell(row, key);
    if (typeof v !== 'number') throw new Error(`${t.id} ${key}: not a number`);
    return v;
  };
  const find = (t: PaperTable, pred: (r: PaperRow) => boolean): PaperRow => {
    const r = t.rows.find(pred);
    if (!r) throw new Error(`${t.id}: no such row`);
    return r;
  };

  it('Table 8 Avg is Table 7 for the same reward model and test set', () => {
    const t7 = paperTable('table-7');
    const t8 = paperTable('table-8');
    expect(t8.rows).toHaveLength(4);
    for (const r of t8.rows) {
      const col = t7.columns.find((c) => c.label === r.testSet);
      expect(col, String(r.testSet)).toBeDefined();
      const r7 = find(t7, (x) => x.model === r.rewardModel);
      expect(num(t8, r, 'avg')).toBe(num(t7, r7, col!.key));
    }
  });

  it('Table 4 LLAMA 2 is the 70B of Table 3', () => {
    const t3 = paperTable('table-3');
    const t4 = paperTable('table-4');
    const l70 = find(t3, (r) => r.model === 'LLAMA 2' && r.size === 70e9);
    expect(num(t4, find(t4, (r) => r.benchmark === 'MMLU (5-shot)'), 'llama2')).toBe(num(t3, l70, 'mmlu'));
    expect(num(t4, find(t4, (r) => r.benchmark === 'BIG-Bench Hard (3-shot)'), 'llama2')).toBe(num(t3, l70, 'bbh'));
  });

  it('Table 1: GQA exactly for the 34B and 70B models (caption)', () => {
    const t = paperTable('table-1');
    expect(t.rows.filter((r) => r.gqa === true).map((r) => `${String(r.family)} ${String(r.sourceText?.params)}`)).toEqual(['LLAMA 2 34B', 'LLAMA 2 70B']);
  });

  it('Table 6 rows sum to 1,577 comparisons more than its Total (as printed in the source)', () => {
    const t = paperTable('table-6');
    const total = find(t, (r) => r.dataset === 'Total');
    const sum = t.rows.filter((r) => r !== total).reduce((s, r) => s + num(t, r, 'comparisons'), 0);
    expect(sum - num(t, total, 'comparisons')).toBe(1577);
  });

  it('the Llama 1 mixture sampling proportions sum to 100%', () => {
    const t = paperTable('llama1-table-1');
    expect(t.rows.reduce((s, r) => s + num(t, r, 'samplingProportion'), 0)).toBeCloseTo(100, 9);
  });

  it('Table 10 is in descending order and above its threshold', () => {
    const t = paperTable('table-10');
    const p = t.rows.map((r) => num(t, r, 'percent'));
    expect(p).toEqual([...p].sort((a, b) => b - a));
    const threshold = num(paperTable('prose-numbers'), find(paperTable('prose-numbers'), (r) => r.key === 'language-threshold'), 'value');
    expect(Math.min(...p)).toBeGreaterThanOrEqual(threshold);
  });
});
