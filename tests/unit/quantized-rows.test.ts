import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { quantizedRows } from '../../src/engine/kernels/quantized-rows.ts';
import { quantize } from '../../src/engine/quant/blocks.ts';
import { onBackend } from '../support/engine.ts';
import { expectQuantizedRows, QUANTIZED_ROWS_CASES } from '../support/quantized-rows.ts';

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`LlamaQuantizedRows on ${backend}`, () => {
    beforeAll(() => onBackend(backend));

    for (const [format, rows, width, ids] of QUANTIZED_ROWS_CASES)
      it(`${format}, rows ${width} wide: the reference's rows to the bit`, () => expectQuantizedRows(format, rows, width, ids, rows + width));

    it('refuses a row outside the matrix and inputs that do not fit the attributes', () => {
      const m = quantize('q4_0', new Float32Array(4 * 64).fill(1), 4, 64);
      const run = (ids: number[], cols = 64, width = 64) =>
        tf.tidy(() => quantizedRows(tf.tensor1d(ids, 'int32'), tf.tensor1d(m.words, 'int32'), tf.tensor1d(m.scales), { format: 'q4_0', rows: 4, cols, width }));
      expect(() => run([4])).toThrow(/row 4 is outside the matrix's 4 rows/);
      expect(() => run([0], 96, 96)).toThrow(/words must be int32 \[48\]/);
      expect(() => run([0], 64, 20)).toThrow(/cannot give rows of width 20/);
    });
  });
}
