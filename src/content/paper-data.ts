/**
 * The paper's tables as data: one JSON file per table in content/data/ (listed, with where each
 * comes from, in content/data/README.md). Chapters and charts take their numbers from here and
 * never retype them; tests/unit/paper-data.test.ts checks every value against the source text.
 */
import llama1Table1 from '../../content/data/llama1-table-1.json';
import proseNumbers from '../../content/data/prose-numbers.json';
import table1 from '../../content/data/table-1.json';
import table3 from '../../content/data/table-3.json';
import table4 from '../../content/data/table-4.json';
import table5 from '../../content/data/table-5.json';
import table6 from '../../content/data/table-6.json';
import table7 from '../../content/data/table-7.json';
import table8 from '../../content/data/table-8.json';
import table10 from '../../content/data/table-10.json';
import table27 from '../../content/data/table-27.json';

/** A cell: numbers as numbers (counts, not "7B"), ✓/✗ as booleans, no result as null. */
export type Cell = number | string | boolean | null;

export interface PaperColumn {
  key: string;
  label: string;
  /** What the numbers count ("tokens", "%", ...); null where the source gives none. */
  unit: string | null;
  /** Digits after the point as the source prints this column (a row's sourceText overrides). */
  decimals?: number;
  /**
   * Where the test looks for the cell in the source: on the row's own line (default), anywhere in
   * the table (merged cells, multi-line rows), or not at all (our own wording).
   */
  check?: 'line' | 'span' | 'none';
}

export interface PaperRow {
  [key: string]: Cell | Readonly<Record<string, string>> | undefined;
  /** The source's exact text for cells we converted ("7B", "3.0×10^{-4}", "✓", "–"). */
  sourceText?: Readonly<Record<string, string>>;
}

export interface PaperTable {
  id: string;
  title: string;
  /** Which paper table, and where in llama2-slides.txt. */
  source: string;
  caption: string;
  /** Text that opens and closes the table in the source (the test's search range). */
  sourceSpan: { start: string; end: string };
  columns: readonly PaperColumn[];
  rows: readonly PaperRow[];
  notes: readonly string[];
}

// JSON imports type their literals loosely (check: string); the test checks the real shape.
export const PAPER_TABLES = [
  table1,
  llama1Table1,
  table3,
  table4,
  table5,
  table6,
  table7,
  table8,
  table10,
  table27,
  proseNumbers,
] as unknown as readonly PaperTable[];

export function paperTable(id: string): PaperTable {
  const table = PAPER_TABLES.find((t) => t.id === id);
  if (!table) throw new Error(`no paper table "${id}" (known: ${PAPER_TABLES.map((t) => t.id).join(', ')})`);
  return table;
}

export function cell(row: PaperRow, key: string): Cell {
  const value = row[key];
  if (value === undefined || (typeof value === 'object' && value !== null)) throw new Error(`no cell "${key}"`);
  return value;
}

/** A cell as the source prints it: "7B", "122,387", "89.70", "2/3", "✓", "–". */
export function formatCell(table: PaperTable, row: PaperRow, key: string): string {
  const source = row.sourceText?.[key];
  if (source !== undefined) return source;
  const value = cell(row, key);
  if (value === null) return '–';
  if (typeof value === 'boolean') return value ? '✓' : '✗';
  if (typeof value === 'string') return value;
  const decimals = table.columns.find((c) => c.key === key)?.decimals;
  if (decimals === undefined) return String(value);
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
