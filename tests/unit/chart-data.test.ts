// Chart preparation for <PaperChart> (src/site/chart-data.ts) and the client's layout choice.
import { describe, expect, it } from 'vitest';
import { paperTable } from '../../src/content/paper-data.ts';
import { prepareChart } from '../../src/site/chart-data.ts';
import { fitModel } from '../../src/site/chart-client.ts';

const t3 = paperTable('table-3');
const t4 = paperTable('table-4');
const t6 = paperTable('table-6');
const t10 = paperTable('table-10');

describe('prepareChart', () => {
  it('horizontal bars: numbers on x, categories on y in table order', () => {
    const m = prepareChart(t6, { x: 'comparisons', y: 'dataset', exclude: { dataset: 'Total' } });
    expect(m.mark).toBe('bar');
    expect(m.valueAxis).toBe('x');
    expect(m.x).toMatchObject({ kind: 'number', label: 'Num. of Comparisons', scale: 'linear' });
    expect(m.y.kind).toBe('category');
    expect(m.y.domain).toHaveLength(8);
    expect(m.y.domain).not.toContain('Total');
    expect(m.points[0]).toMatchObject({ x: 122387, y: 'Anthropic Helpful' });
    expect(m.points[0].tip).toBe('Anthropic Helpful — Num. of Comparisons: 122,387'); // as the source prints it
    expect(m.title).toBe(t6.title);
    expect(m.tableName).toBe('Table 6');
    expect(m.description).toBe('Bar chart of Num. of Comparisons by Dataset, 8 values from Table 6.');
  });

  it('both columns numeric: bars go up y, x becomes the printed categories', () => {
    const m = prepareChart(t3, { x: 'size', y: 'mmlu', filter: { model: 'LLAMA 2' } });
    expect(m.valueAxis).toBe('y');
    expect(m.x.domain).toEqual(['7B', '13B', '34B', '70B']);
    expect(m.points.map((p) => p.y)).toEqual([45.3, 54.8, 62.6, 68.9]);
    expect(m.points[3].tip).toBe('LLAMA 2 70B — MMLU: 68.9');
  });

  it('filters match raw or printed values, lists too', () => {
    const a = prepareChart(t3, { x: 'mmlu', y: 'model', fill: 'size', filter: { size: ['7B', 7e10] } });
    expect(a.points.map((p) => p.fill)).toEqual(['7B', '7B', '7B', '7B', '70B']);
    expect(a.grouped).toBe(true);
    expect(a.fill!.domain).toEqual(['7B', '70B']);
  });

  it('grouped bars when fill differs from the category axis; repeated bars are an error without fill', () => {
    const m = prepareChart(t3, { x: 'model', y: 'mmlu', fill: 'size' });
    expect(m.grouped).toBe(true);
    expect(m.x.domain).toEqual(['MPT', 'Falcon', 'LLAMA 1', 'LLAMA 2']);
    // Sizes are numbers shown as categories: ordered by value, not by first appearance.
    expect(m.fill!.domain).toEqual(['7B', '13B', '30B', '33B', '34B', '40B', '65B', '70B']);
    // Each family's bars fill its group from the first slot (no gaps for sizes it lacks).
    expect(m.slots).toBe(4);
    expect(m.points.filter((p) => p.x === 'MPT').map((p) => [p.fill, p.slot])).toEqual([
      ['7B', 0],
      ['30B', 1],
    ]);
    expect(() => prepareChart(t3, { x: 'model', y: 'mmlu' })).toThrow(/several rows share the bar "MPT".*pass fill/);
  });

  it('sorts categories by value (sort={true} = largest first)', () => {
    const m = prepareChart(t4, { x: 'benchmark', y: 'llama2', sort: true });
    const values = m.x.domain!.map((b) => m.points.find((p) => p.x === b)!.y as number);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    const asc = prepareChart(t10, { x: 'percent', y: 'language', sort: 'ascending' });
    expect(asc.y.domain![0]).not.toBe('en');
    expect(asc.y.domain!.at(-1)).toBe('en');
  });

  it('skips rows with empty plotted cells and says which', () => {
    const m = prepareChart(t4, { x: 'benchmark', y: 'gpt35' });
    const empty = t4.rows.filter((r) => r.gpt35 === null).map((r) => r.benchmark);
    expect(empty.length).toBeGreaterThan(1);
    expect(m.points).toHaveLength(t4.rows.length - empty.length);
    expect(m.skipped).toEqual(empty.map((row) => ({ row, columns: ['GPT-3.5'] })));
    expect(m.description).toMatch(new RegExp(`\\(${empty.length} rows without a value left out\\)\\.$`));
  });

  it('dots and lines with two numeric axes, fill and log scale', () => {
    const m = prepareChart(t3, { x: 'size', y: 'mmlu', fill: 'model', mark: 'line', xScale: 'log' });
    expect(m.valueAxis).toBeNull();
    expect(m.x).toMatchObject({ kind: 'number', scale: 'log' });
    expect(m.fill!.domain).toEqual(['MPT', 'Falcon', 'LLAMA 1', 'LLAMA 2']);
    expect(m.points[0]).toMatchObject({ x: 7e9, y: 26.8, fill: 'MPT' });
    expect(m.description).toMatch(/^Line chart of MMLU by Size, coloured by Model, 12 values from Table 3\.$/);
  });

  it('fy facets carry their categories', () => {
    const m = prepareChart(paperTable('table-8'), { x: 'rewardModel', y: 'significantlyBetter', fill: 'rewardModel', fy: 'testSet' });
    expect(m.grouped).toBe(false);
    expect(m.fy!.domain).toEqual(['Meta Safety', 'Meta Helpful.']);
  });

  it('reports bad props as build errors naming the chart', () => {
    expect(() => prepareChart(t3, { x: 'nope', y: 'mmlu' })).toThrow('<PaperChart id="table-3">: x="nope" is not a column of table-3');
    expect(() => prepareChart(t3, { x: 'model', y: 'model' })).toThrow(/bars need a numeric column/);
    expect(() => prepareChart(t3, { x: 'size', y: 'mmlu', filter: { model: 'GPT-9' } })).toThrow(/leave no rows/);
    expect(() => prepareChart(t3, { x: 'size', y: 'model', mark: 'line' })).toThrow(/line needs numbers on y/);
    expect(() => prepareChart(t3, { x: 'model', y: 'mmlu', xScale: 'log', fill: 'size' })).toThrow(/xScale="log" needs numbers on x/);
    expect(() => prepareChart(t3, { x: 'size', y: 'mmlu', mark: 'line', sort: true })).toThrow(/sort does not apply to lines/);
    expect(() => prepareChart(t3, { x: 'mmlu', y: 'model', fill: 'size', exclude: { bogus: 1 } })).toThrow(/exclude key="bogus"/);
  });
});

describe('fitModel', () => {
  it('turns vertical bars horizontal when their labels do not fit the width', () => {
    const m = prepareChart(t4, { x: 'benchmark', y: 'llama2' });
    expect(fitModel(m, 2000)).toBe(m);
    const narrow = fitModel(m, 340);
    expect(narrow.valueAxis).toBe('x');
    expect(narrow.x.kind).toBe('number');
    expect(narrow.y.domain).toEqual(m.x.domain);
    expect(narrow.points[0]).toMatchObject({ x: 68.9, y: 'MMLU (5-shot)' });
  });
});
