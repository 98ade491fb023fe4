/**
 * Looking up single numbers of the paper for prose (<Num>, <Cell>) with build-time errors that
 * say what is wrong, and the text those components print (also used by the search index).
 */
import { PAPER_TABLES, formatCell, paperTable, type PaperRow, type PaperTable } from '../content/paper-data.ts';
import type { InlineResolver } from './mdx-text.ts';

const PROSE = 'prose-numbers';

/** The prose-numbers.json row for `key`; throws, listing the known keys, when there is none. */
export function proseNumber(key: string): { table: PaperTable; row: PaperRow } {
  const table = paperTable(PROSE);
  const row = table.rows.find((r) => r.key === key);
  if (!row) {
    const known = table.rows.map((r) => String(r.key)).join(', ');
    throw new Error(`<Num k="${key}">: no row with key "${key}" in content/data/${PROSE}.json (known keys: ${known})`);
  }
  return { table, row };
}

/** A prose number as the source prints it ("4M", "27,540", "three"). */
export function numText(key: string): string {
  const { table, row } = proseNumber(key);
  return row.sourceText?.value ?? formatCell(table, row, 'value');
}

/** One cell of a paper table; throws a clear error for an unknown table, row or column. */
export function tableCell(tableId: string, rowIndex: number, col: string): { table: PaperTable; row: PaperRow } {
  const where = `<Cell table="${tableId}" row={${rowIndex}} col="${col}">`;
  const table = PAPER_TABLES.find((t) => t.id === tableId);
  if (!table) throw new Error(`${where}: no table "${tableId}" (known: ${PAPER_TABLES.map((t) => t.id).join(', ')})`);
  if (!Number.isInteger(rowIndex) || rowIndex < 0 || rowIndex >= table.rows.length) {
    throw new Error(`${where}: row must be an integer from 0 to ${table.rows.length - 1} (${table.id} has ${table.rows.length} rows)`);
  }
  if (!table.columns.some((c) => c.key === col)) {
    throw new Error(`${where}: no column "${col}" in ${table.id} (columns: ${table.columns.map((c) => c.key).join(', ')})`);
  }
  return { table, row: table.rows[rowIndex] };
}

/** A cell as the source prints it ("7B", "89.70", "✓", "–"). */
export function cellText(tableId: string, rowIndex: number, col: string): string {
  const { table, row } = tableCell(tableId, rowIndex, col);
  return formatCell(table, row, col);
}

/**
 * A printed value split for display: the source writes powers as TeX ("3.0×10^{-4}"); the
 * exponent parts are marked so the page can set them as superscripts.
 */
export function displayParts(text: string): { text: string; sup: boolean }[] {
  const parts: { text: string; sup: boolean }[] = [];
  let at = 0;
  for (const m of text.matchAll(/\^\{([^{}]*)\}/g)) {
    if (m.index > at) parts.push({ text: text.slice(at, m.index), sup: false });
    parts.push({ text: m[1].replace(/^-/, '−'), sup: true });
    at = m.index + m[0].length;
  }
  if (at < text.length || parts.length === 0) parts.push({ text: text.slice(at), sup: false });
  return parts;
}

/** A printed value as plain text ("3.0×10^{-4}" → "3.0×10^-4"). */
export function plainValue(text: string): string {
  return text.replace(/\^\{([^{}]*)\}/g, '^$1');
}

/** "Table 3" from a caption "Table 3: ..."; the table's title when the caption names no table. */
export function tableName(table: PaperTable): string {
  const name = /^(Table \d+)\b/.exec(table.caption)?.[1];
  if (!name) return table.title;
  // Tables from the Llama 1 paper would otherwise share names with the Llama 2 paper's.
  return table.source.startsWith('Llama 1 paper') ? `Llama 1 ${name}` : name;
}

/**
 * The search index's view of the paper components in MDX: numbers print as on the page, tables
 * and charts contribute their titles. Unknown references give no text (the page build reports them).
 */
export const paperInlineText: InlineResolver = (name, props) => {
  try {
    switch (name) {
      case 'Num':
        return plainValue(numText(props.k ?? ''));
      case 'Cell':
        return plainValue(cellText(props.table ?? '', Number(props.row), props.col ?? ''));
      case 'PaperTable':
        return paperTable(props.id ?? '').title;
      case 'PaperChart':
        return props.title ?? paperTable(props.id ?? '').title;
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
};
