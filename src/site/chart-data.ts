/**
 * Chart preparation for <PaperChart>: picks the rows and columns of one paper table, decides
 * which axis is numeric, orders the categories and describes the chart in words. Runs at build
 * time; the page receives the resulting ChartModel as JSON and only draws it (chart-client.ts).
 * Mistakes in a chart's props are build errors with a message naming the chart.
 */
import { formatCell, type Cell, type PaperRow, type PaperTable } from '../content/paper-data.ts';
import { plainValue, tableName } from './paper-refs.ts';

export type ChartMark = 'bar' | 'dot' | 'line';
export type CellMatch = string | number | boolean | null;
/** Column key → the value(s) a row must have (raw value or as printed: 7e9 or "7B"). */
export type RowFilter = Readonly<Record<string, CellMatch | readonly CellMatch[]>>;

export interface ChartSpec {
  /** Column keys of the table. */
  x: string;
  y: string;
  /** A column whose values colour the marks (always treated as categories). */
  fill?: string;
  /** A column that splits the chart into rows of small charts (categories). */
  fy?: string;
  mark?: ChartMark;
  title?: string;
  /** Keep only rows matching every entry. */
  filter?: RowFilter;
  /** Drop rows matching any entry (e.g. `{ dataset: 'Total' }`). */
  exclude?: RowFilter;
  /**
   * Order the categories of a bar/dot chart by their value: true or 'descending' puts the largest
   * first, 'ascending' the smallest (default: the table's row order).
   */
  sort?: boolean | 'ascending' | 'descending';
  /** Scale of a numeric axis (default linear). */
  xScale?: 'linear' | 'log';
  yScale?: 'linear' | 'log';
}

export interface ChartAxis {
  key: string;
  label: string;
  kind: 'number' | 'category';
  /** Category order (kind 'category'). */
  domain?: string[];
  scale?: 'linear' | 'log';
}

export interface ChartPoint {
  x: string | number;
  y: string | number;
  fill?: string;
  fy?: string;
  /** Grouped bars: the bar's place within its group (0, 1, ...), in fill order. */
  slot?: number;
  /** Tooltip text: the row and the plotted values as the source prints them. */
  tip: string;
}

export interface ChartModel {
  tableId: string;
  /** "Table 3" (or the table's title when the caption names none). */
  tableName: string;
  title: string;
  mark: ChartMark;
  /** Bars: 'x' when the bars run along x (horizontal), 'y' when vertical; others: null. */
  valueAxis: 'x' | 'y' | null;
  /**
   * Bars grouped side by side: the categories go to a facet and each bar takes a slot within its
   * group (groups may hold different fill values, e.g. model sizes per family: no empty gaps).
   */
  grouped: boolean;
  /** Grouped bars: the most bars in one group. */
  slots: number;
  x: ChartAxis;
  y: ChartAxis;
  fill: ChartAxis | null;
  fy: ChartAxis | null;
  points: ChartPoint[];
  /** Rows left out because a plotted cell is empty in the source ("–"). */
  skipped: { row: string; columns: string[] }[];
  /** One sentence for screen readers (the svg's aria-label). */
  description: string;
}

function matches(table: PaperTable, row: PaperRow, key: string, want: CellMatch | readonly CellMatch[]): boolean {
  const raw = row[key] as Cell;
  const printed = formatCell(table, row, key);
  const list = Array.isArray(want) ? (want as readonly CellMatch[]) : [want as CellMatch];
  return list.some((w) => w === raw || (typeof w === 'string' && w === printed));
}

/** The columns that name a row in tooltips and notes: the first, plus the second when the first repeats. */
function nameKeys(table: PaperTable, row: PaperRow): string[] {
  const first = table.columns[0].key;
  // Merged cells ("LLAMA 2" on several rows) do not tell rows apart: add the second column.
  const repeats = table.rows.filter((r) => r[first] === row[first]).length > 1;
  return repeats && table.columns[1] ? [first, table.columns[1].key] : [first];
}

/** A short name for a row: its naming columns as printed ("LLAMA 2 70B"). */
function rowName(table: PaperTable, row: PaperRow): string {
  return nameKeys(table, row)
    .map((k) => formatCell(table, row, k))
    .join(' ');
}

function uniqueInOrder(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export function prepareChart(table: PaperTable, spec: ChartSpec): ChartModel {
  const where = `<PaperChart id="${table.id}">`;
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };
  const column = (key: string, prop: string) =>
    table.columns.find((c) => c.key === key) ??
    fail(`${prop}="${key}" is not a column of ${table.id} (columns: ${table.columns.map((c) => c.key).join(', ')})`);
  const mark = spec.mark ?? 'bar';
  if (!['bar', 'dot', 'line'].includes(mark)) fail(`mark must be bar, dot or line, not "${mark}"`);
  const xCol = column(spec.x, 'x');
  const yCol = column(spec.y, 'y');
  const fillCol = spec.fill ? column(spec.fill, 'fill') : null;
  const fyCol = spec.fy ? column(spec.fy, 'fy') : null;
  for (const [prop, f] of [['filter', spec.filter], ['exclude', spec.exclude]] as const) {
    for (const key of Object.keys(f ?? {})) column(key, `${prop} key`);
  }

  let rows = table.rows.filter(
    (r) =>
      Object.entries(spec.filter ?? {}).every(([k, v]) => matches(table, r, k, v)) &&
      !Object.entries(spec.exclude ?? {}).some(([k, v]) => matches(table, r, k, v)),
  );
  if (rows.length === 0) fail('filter/exclude leave no rows');

  // Rows whose plotted cells are empty in the source are skipped (and listed in a note).
  const plotted = [xCol, yCol, fillCol, fyCol].filter((c) => c !== null);
  const skipped: ChartModel['skipped'] = [];
  rows = rows.filter((r) => {
    const empty = uniqueInOrder(plotted.filter((c) => r[c.key] === null).map((c) => c.label));
    if (empty.length) skipped.push({ row: rowName(table, r), columns: empty });
    return empty.length === 0;
  });
  if (rows.length === 0) fail('every row has an empty cell in a plotted column');

  const numeric = (key: string) => rows.every((r) => typeof r[key] === 'number');
  let xNum = numeric(xCol.key);
  let yNum = numeric(yCol.key);
  let valueAxis: ChartModel['valueAxis'] = null;
  if (mark === 'bar') {
    if (!xNum && !yNum) fail(`bars need a numeric column for x or y; neither "${spec.x}" nor "${spec.y}" holds numbers`);
    // Both numeric: the values go up the y axis, x becomes categories ("7B", "13B", ...).
    if (xNum && yNum) xNum = false;
    valueAxis = xNum ? 'x' : 'y';
  } else if (mark === 'line' && !yNum) {
    fail(`a line needs numbers on y; "${spec.y}" does not hold numbers`);
  } else if (mark === 'dot' && !xNum && !yNum) {
    fail(`dots need a numeric column for x or y; neither "${spec.x}" nor "${spec.y}" holds numbers`);
  }
  if (spec.xScale === 'log' && !xNum) fail('xScale="log" needs numbers on x');
  if (spec.yScale === 'log' && !yNum) fail('yScale="log" needs numbers on y');
  for (const [on, num, col] of [['x', xNum, xCol], ['y', yNum, yCol]] as const) {
    const log = (on === 'x' ? spec.xScale : spec.yScale) === 'log';
    if (num && log && rows.some((r) => (r[col.key] as number) <= 0)) fail(`${on}Scale="log" needs values above zero in "${col.key}"`);
  }

  const text = (r: PaperRow, key: string) => plainValue(formatCell(table, r, key));
  const catKey = valueAxis === 'x' ? yCol.key : valueAxis === 'y' ? xCol.key : !xNum ? xCol.key : !yNum ? yCol.key : null;
  const grouped = mark === 'bar' && fillCol !== null && fillCol.key !== catKey;
  if (grouped && fyCol) fail('fy cannot be combined with grouped bars (fill differs from the category axis)');

  const points: ChartPoint[] = rows.map((r) => {
    const name = rowName(table, r);
    const naming = nameKeys(table, r);
    const shown = uniqueInOrder([xCol, yCol, fillCol, fyCol].filter((c) => c !== null).map((c) => c.key)).filter((k) => !naming.includes(k));
    const values = shown.map((k) => `${column(k, k).label}: ${text(r, k)}`).join(', ');
    const p: ChartPoint = {
      x: xNum ? (r[xCol.key] as number) : text(r, xCol.key),
      y: yNum ? (r[yCol.key] as number) : text(r, yCol.key),
      tip: values ? `${plainValue(name)} — ${values}` : plainValue(name),
    };
    if (fillCol) p.fill = text(r, fillCol.key);
    if (fyCol) p.fy = text(r, fyCol.key);
    return p;
  });

  if (mark === 'bar') {
    const seen = new Set<string>();
    for (const p of points) {
      const id = JSON.stringify([valueAxis === 'x' ? p.y : p.x, p.fill ?? null, p.fy ?? null]);
      if (seen.has(id)) {
        fail(
          `several rows share the bar "${valueAxis === 'x' ? p.y : p.x}"${p.fill ? ` / "${p.fill}"` : ''}: ` +
            'pass fill (a column that tells them apart) or filter/exclude rows',
        );
      }
      seen.add(id);
    }
  }

  /**
   * Category order: the table's row order, or by value for a numeric column shown as categories
   * (sizes "7B" < "13B" < "70B" whatever the rows' order).
   */
  const categories = (key: string): string[] => {
    const order = rows.map((r, i) => ({ text: text(r, key), raw: r[key], i }));
    if (order.every((o) => typeof o.raw === 'number')) order.sort((a, b) => (a.raw as number) - (b.raw as number) || a.i - b.i);
    return uniqueInOrder(order.map((o) => o.text));
  };
  const axis = (col: { key: string; label: string; unit: string | null }, num: boolean, scale?: 'linear' | 'log'): ChartAxis => {
    const label = col.unit === '%' ? `${col.label} (%)` : col.label;
    return num ? { key: col.key, label, kind: 'number', scale: scale ?? 'linear' } : { key: col.key, label, kind: 'category', domain: categories(col.key) };
  };
  const x = axis(xCol, xNum, spec.xScale);
  const y = axis(yCol, yNum, spec.yScale);

  const sort = spec.sort === true ? 'descending' : spec.sort === false ? undefined : spec.sort;
  if (sort !== undefined && !['ascending', 'descending'].includes(sort)) fail(`sort must be true, "ascending" or "descending", not "${String(sort)}"`);
  if (sort && mark === 'line') fail('sort does not apply to lines (they follow x)');
  if (sort) {
    const cat = !xNum ? x : !yNum ? y : null;
    const val: 'x' | 'y' | null = cat === x ? (yNum ? 'y' : null) : cat === y ? (xNum ? 'x' : null) : null;
    if (!cat || !val) fail('sort needs one category axis and one numeric axis');
    const best = new Map<string, number>();
    for (const p of points) {
      const k = String(cat === x ? p.x : p.y);
      best.set(k, Math.max(best.get(k) ?? -Infinity, p[val!] as number));
    }
    const dir = sort === 'ascending' ? 1 : -1;
    cat!.domain = [...cat!.domain!].sort((a, b) => dir * (best.get(a)! - best.get(b)!));
  }

  const fill = fillCol ? { key: fillCol.key, label: fillCol.label, kind: 'category' as const, domain: categories(fillCol.key) } : null;
  const fy = fyCol ? { key: fyCol.key, label: fyCol.label, kind: 'category' as const, domain: categories(fyCol.key) } : null;

  let slots = 0;
  if (grouped) {
    const cat = valueAxis === 'x' ? 'y' : 'x';
    const groups = new Map<string, ChartPoint[]>();
    for (const p of points) groups.set(String(p[cat]), [...(groups.get(String(p[cat])) ?? []), p]);
    for (const group of groups.values()) {
      group.sort((a, b) => fill!.domain.indexOf(a.fill!) - fill!.domain.indexOf(b.fill!));
      group.forEach((p, i) => (p.slot = i));
      slots = Math.max(slots, group.length);
    }
  }

  const title = spec.title ?? table.title;
  const kind = mark === 'bar' ? 'Bar chart' : mark === 'dot' ? 'Dot chart' : 'Line chart';
  const valueLabel = valueAxis === 'x' ? x.label : y.label;
  const against = valueAxis === 'x' ? y.label : x.label;
  const extras = [fill && fill.key !== catKey ? `coloured by ${fill.label}` : null, fy ? `one panel per ${fy.label}` : null].filter(Boolean);
  const description =
    `${kind} of ${valueLabel} by ${against}${extras.length ? `, ${extras.join(', ')}` : ''}, ` +
    `${points.length} value${points.length === 1 ? '' : 's'} from ${tableName(table)}` +
    (skipped.length ? ` (${skipped.length} row${skipped.length === 1 ? '' : 's'} without a value left out)` : '') +
    '.';

  return { tableId: table.id, tableName: tableName(table), title, mark, valueAxis, grouped, slots, x, y, fill, fy, points, skipped, description };
}
