// The decode tilings as the benchmarks name them (`--tiling 32x4x8s,32x8x2`) and their limits.
import { describe, expect, it } from 'vitest';
import { formatTiling, parseTiling } from '../../src/bench/quant-matvec.ts';
import { getMatVecTiling } from '../../src/engine/kernels/webgpu/quantized-matmul.ts';

describe('matvec tilings', () => {
  it('parses threads per row × rows per thread × groups, "s" for x staged in workgroup memory', () => {
    expect(parseTiling('32x4x8s')).toEqual({ threadsPerRow: 32, rowsPerThread: 4, groups: 8, stagedX: true });
    expect(parseTiling('64x4x2')).toEqual({ threadsPerRow: 64, rowsPerThread: 4, groups: 2, stagedX: false });
    for (const text of ['32x4x8s', '64x4x2', '8x3x3s']) expect(formatTiling(parseTiling(text))).toBe(text);
  });

  it('the default stages x for both formats', () => {
    expect(formatTiling(getMatVecTiling('q4_0'))).toBe('32x4x8s');
    expect(formatTiling(getMatVecTiling('q8_0'))).toBe('32x4x8s');
  });

  it('refuses malformed tilings and staged ones that leave no workgroup memory for x', () => {
    expect(() => parseTiling('32x4x8t')).toThrow(/such as 32x4x4 \(32x4x4s: x staged\)/);
    expect(() => parseTiling('24x4x2')).toThrow(/power of two/);
    expect(() => parseTiling('32x4x16')).toThrow(/at most 256 threads/);
    // 256 threads × (15 rows + 1) × 4 bytes fill the 16 KiB every device has; unstaged it is fine.
    expect(() => parseTiling('64x15x4s')).toThrow(/room for x/);
    expect(parseTiling('64x15x4').rowsPerThread).toBe(15);
  });
});
