// <Num> and <Cell> lookups (src/site/paper-refs.ts): printed as the source prints, clear errors.
import { describe, expect, it } from 'vitest';
import { cellText, displayParts, numText, paperInlineText, plainValue, tableName } from '../../src/site/paper-refs.ts';
import { paperTable } from '../../src/content/paper-data.ts';

describe('numText', () => {
  it('prints the source text of a prose number', () => {
    expect(numText('global-batch-size')).toBe('4M');
    expect(numText('sft-annotations')).toBe('27,540');
  });
  it('throws for an unknown key, listing the known ones', () => {
    expect(() => numText('nope')).toThrow(/<Num k="nope">: no row with key "nope" .*known keys: global-batch-size/);
  });
});

describe('cellText', () => {
  it('prints a cell as the source does', () => {
    expect(cellText('table-3', 11, 'mmlu')).toBe('68.9');
    expect(cellText('table-3', 11, 'size')).toBe('70B');
    expect(cellText('table-1', 7, 'gqa')).toBe('✓');
    expect(cellText('table-4', 1, 'gpt35')).toBe('–');
  });
  it('throws for an unknown table, row or column', () => {
    expect(() => cellText('table-99', 0, 'x')).toThrow(/no table "table-99"/);
    expect(() => cellText('table-3', 12, 'mmlu')).toThrow(/row must be an integer from 0 to 11/);
    expect(() => cellText('table-3', 1.5, 'mmlu')).toThrow(/row must be an integer/);
    expect(() => cellText('table-3', 0, 'MMLU')).toThrow(/no column "MMLU" in table-3/);
  });
});

describe('display helpers', () => {
  it('splits TeX powers into superscripts', () => {
    expect(displayParts('3.0×10^{-4}')).toEqual([
      { text: '3.0×10', sup: false },
      { text: '−4', sup: true },
    ]);
    expect(displayParts('7B')).toEqual([{ text: '7B', sup: false }]);
    expect(displayParts('')).toEqual([{ text: '', sup: false }]);
    expect(plainValue('1.5×10^{-4}')).toBe('1.5×10^-4');
  });
  it('names tables from their captions', () => {
    expect(tableName(paperTable('table-3'))).toBe('Table 3');
    expect(tableName(paperTable('llama1-table-1'))).toBe('Llama 1 Table 1');
    expect(tableName(paperTable('prose-numbers'))).toBe(paperTable('prose-numbers').title);
  });
  it('gives the search index the printed values', () => {
    expect(paperInlineText('Num', { k: 'global-batch-size' })).toBe('4M');
    expect(paperInlineText('Cell', { table: 'table-1', row: '0', col: 'lr' })).toBe('3.0×10^-4');
    expect(paperInlineText('PaperTable', { id: 'table-3' })).toBe(paperTable('table-3').title);
    expect(paperInlineText('Num', { k: 'missing' })).toBeUndefined();
    expect(paperInlineText('Other', {})).toBeUndefined();
  });
});
