import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { quantizedRows } from '../../src/engine/kernels/quantized-rows.ts';
import { dequantizeRows, quantizePadded, type QuantFormat } from '../../src/engine/quant/blocks.ts';
import { prng } from './random.ts';

/**
 * The active backend's row lookup against the reference (quant/blocks.ts's dequantizeRows), to
 * the bit: a float32 scale times a small integer is exact before its one rounding. The table's
 * rows are `width` wide, padded to whole blocks; the ids repeat, and reach the first and last row.
 */
export async function expectQuantizedRows(format: QuantFormat, rows: number, width: number, ids: number[], seed: number): Promise<void> {
  const next = prng(seed);
  const m = quantizePadded(format, Float32Array.from({ length: rows * width }, () => (next() * 2 - 1) * 3), rows, width);
  const reference = dequantizeRows(m, ids);
  const expected = ids.flatMap((_, t) => Array.from(reference.subarray(t * m.cols, t * m.cols + width)));
  const y = tf.tidy(() => quantizedRows(tf.tensor1d(ids, 'int32'), tf.tensor1d(m.words, 'int32'), tf.tensor1d(m.scales), { format, rows, cols: m.cols, width }));
  expect(y.shape).toEqual([ids.length, width]);
  expect(Array.from(await y.data())).toEqual(expected);
  y.dispose();
}

/** Tables and ids the lookup tests run: whole blocks and padded rows, q8_0 and q4_0. */
export const QUANTIZED_ROWS_CASES: [QuantFormat, number, number, number[]][] = [
  ['q8_0', 40, 64, [0, 39, 7, 7]],
  ['q4_0', 40, 64, [39, 0, 13]],
  ['q8_0', 9, 172, [8, 1]],
  ['q4_0', 9, 172, [4, 0, 8, 4]],
];
