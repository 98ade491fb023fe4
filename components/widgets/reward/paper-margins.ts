/**
 * Table 27's two margin settings and Table 8's accuracies, read from content/data through the
 * paper-data accessor (never typed here), keyed by the ratings of src/train/reward/ratings.ts.
 */
import { cell, formatCell, paperTable } from '../../../src/content/paper-data.ts';
import { NO_MARGIN, RATINGS, type Margins, type Rating } from '../../../src/train/reward/ratings.ts';

export interface MarginVariant {
  /** 'small' | 'large' from the table's row label ("Margin Small"), or 'none'. */
  id: string;
  label: string;
  margins: Margins;
  /** The margins as the source prints them ("2/3"). */
  printed: Readonly<Record<Rating, string>>;
}

function numberCell(row: Parameters<typeof cell>[0], key: string): number {
  const v = cell(row, key);
  if (typeof v !== 'number') throw new Error(`table 27: "${key}" is not a number`);
  return v;
}

export function marginVariants(): MarginVariant[] {
  const table = paperTable('table-27');
  return table.rows.map((row) => {
    const label = String(cell(row, 'variant'));
    const margins = Object.fromEntries(RATINGS.map((r) => [r, numberCell(row, r)])) as Record<Rating, number>;
    const printed = Object.fromEntries(RATINGS.map((r) => [r, formatCell(table, row, r)])) as Record<Rating, string>;
    return { id: label.replace(/^Margin\s+/i, '').toLowerCase(), label, margins, printed };
  });
}

/** The variants a run can train with: no margin first (the plain binary ranking loss), then Table 27's. */
export function trainingVariants(): MarginVariant[] {
  const printed = Object.fromEntries(RATINGS.map((r) => [r, '0'])) as Record<Rating, string>;
  return [{ id: 'none', label: 'No margin', margins: NO_MARGIN, printed }, ...marginVariants()];
}

export interface PaperAccuracyRow {
  label: string;
  /** Percent, as numbers, and as the source prints them. */
  values: Record<Rating, number>;
  printed: Record<Rating, string>;
}

export function table8Rows(): PaperAccuracyRow[] {
  const table = paperTable('table-8');
  return table.rows.map((row) => ({
    label: `${String(cell(row, 'rewardModel'))} on ${String(cell(row, 'testSet'))}`,
    values: Object.fromEntries(RATINGS.map((r) => [r, numberCell(row, r)])) as Record<Rating, number>,
    printed: Object.fromEntries(RATINGS.map((r) => [r, formatCell(table, row, r)])) as Record<Rating, string>,
  }));
}
