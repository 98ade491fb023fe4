/**
 * LlamaQuantizedMatMul on webgpu: y = x Wᵀ with W kept in q8_0 / q4_0 blocks (see
 * ../quantized-matmul.ts for the contract and quant/blocks.ts for the layout).
 *
 * Both programs read W in "units" of 16 bytes, one vec4<i32> each: a whole q4_0 block (32
 * weights) or half a q8_0 block (16 weights). A unit is dequantized in registers and dotted with
 * the matching x values (vec4<f32>); the block's scale multiplies the unit's sum. Everything
 * accumulates in f32.
 *
 *  - Decode (T = 1) is a matrix-vector product bound by memory bandwidth. A workgroup holds
 *    `groups` thread groups of `threadsPerRow` threads; each group owns `rowsPerThread` rows.
 *    The threads of a group stride over the units of its rows, so neighbouring threads read
 *    neighbouring 16-byte units (coalesced), and each x unit loaded serves all the group's rows.
 *    The partial sums meet in a tree reduction in workgroup memory (no subgroups: that feature
 *    may be absent).
 *  - Prefill (T > 1) gives each thread one row and TOKEN_TILE tokens: a unit is dequantized once
 *    and used for every token of the tile.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { BLOCK, WORDS_PER_BLOCK, type QuantFormat } from '../../quant/blocks.ts';
import { EngineError } from '../../errors.ts';
import type { QuantizedMatMulAttrs } from '../quantized-matmul.ts';
import type { WebGpuBackendLike, WebGpuProgram } from './program.ts';

/** Weights in one 16-byte unit. */
const UNIT_WEIGHTS: Record<QuantFormat, number> = { q4_0: 32, q8_0: 16 };
/** 16-byte units per 32-weight block. */
const UNITS_PER_BLOCK: Record<QuantFormat, number> = { q4_0: 1, q8_0: 2 };

/** How the decode program spreads rows over threads (a power of two for threadsPerRow). */
export interface MatVecTiling {
  threadsPerRow: number;
  rowsPerThread: number;
  groups: number;
}

/** The decode program's tiling; the kernel benchmark can try others (`--tiling`). */
let matVecTiling: MatVecTiling = { threadsPerRow: 32, rowsPerThread: 4, groups: 4 };

/** Checks a tiling (threadsPerRow a power of two for the tree reduction, at most 256 threads). */
export function checkMatVecTiling(t: MatVecTiling): MatVecTiling {
  const { threadsPerRow, rowsPerThread, groups } = t;
  const ok = (n: number) => Number.isInteger(n) && n >= 1;
  if (!ok(threadsPerRow) || (threadsPerRow & (threadsPerRow - 1)) !== 0 || !ok(rowsPerThread) || !ok(groups) || threadsPerRow * groups > 256)
    throw new EngineError('bad-argument', `matvec tiling: threadsPerRow must be a power of two, all ≥ 1 and at most 256 threads, got ${JSON.stringify(t)}`);
  return { threadsPerRow, rowsPerThread, groups };
}

export function setMatVecTiling(t: MatVecTiling): void {
  matVecTiling = checkMatVecTiling(t);
}

export function getMatVecTiling(): MatVecTiling {
  return { ...matVecTiling };
}

/** Prefill: tokens per thread (each dequantized unit is used this many times). */
const TOKEN_TILE = 8;
/** Prefill: rows per workgroup, one per thread. */
const PREFILL_ROWS = 64;

/**
 * WGSL: `sum += Σ_k dot(dequantized vec4 k of unit w, x vec4 at xBase + k)` for one unit w
 * (vec4<i32>), with x read through `xAt(i)`. q4_0: word k holds the low nibbles of weights 4k..4k+3
 * and the high nibbles of weights 16+4k..16+4k+3. q8_0: word k holds four signed bytes.
 */
function unitDotSnippet(format: QuantFormat, sum: string, w: string, xAt: (k: number) => string): string {
  const lines: string[] = [];
  for (let k = 0; k < 4; k++) {
    if (format === 'q4_0') {
      const v = `vec4<u32>(u32(${w}[${k}]))`;
      lines.push(`${sum} += dot(vec4<f32>((${v} >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(15u)) - 8.0, ${xAt(k)});`);
      lines.push(`${sum} += dot(vec4<f32>((${v} >> vec4<u32>(4u, 12u, 20u, 28u)) & vec4<u32>(15u)) - 8.0, ${xAt(k + 4)});`);
    } else {
      lines.push(`${sum} += dot(vec4<f32>((vec4<i32>(${w}[${k}]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u)), ${xAt(k)});`);
    }
  }
  return lines.join('\n');
}

/** The index of the workgroup in a grid the backend may have folded into 2-D or 3-D. */
const FLAT_WORKGROUP = 'i32((workgroupId.z * numWorkgroups.y + workgroupId.y) * numWorkgroups.x + workgroupId.x)';

const UNIFORMS = 'rows : i32, blocksPerRow : i32, unitsPerRow : i32,';

class QuantizedMatVecProgram implements WebGpuProgram {
  outputShape: number[];
  shaderKey: string;
  // Flat: the backend folds a grid over 65535 workgroups into 2-D, which FLAT_WORKGROUP undoes.
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  variableNames = ['x', 'words', 'scales'];
  variableComponents = [4, 4, 1];
  uniforms = UNIFORMS;
  workgroupSize: [number, number, number];

  constructor(
    private readonly format: QuantFormat,
    rows: number,
    private readonly tiling: MatVecTiling,
  ) {
    const { threadsPerRow, rowsPerThread, groups } = tiling;
    this.outputShape = [1, rows];
    this.workgroupSize = [threadsPerRow * groups, 1, 1];
    this.dispatch = [Math.ceil(rows / (rowsPerThread * groups)), 1, 1];
    this.shaderKey = `quantMatVec_${format}_${threadsPerRow}_${rowsPerThread}_${groups}`;
  }

  getUserCode(): string {
    const { threadsPerRow: G, rowsPerThread: R, groups } = this.tiling;
    const xVec4s = UNIT_WEIGHTS[this.format] / 4;
    const blockOf = this.format === 'q4_0' ? 'u' : 'u / 2';
    const perRow: string[] = [];
    for (let r = 0; r < R; r++) {
      perRow.push(`{
        let row = min(row0 + ${r}, uniforms.rows - 1);
        let w = words[row * uniforms.unitsPerRow + u];
        var sum = 0.0;
        ${unitDotSnippet(this.format, 'sum', 'w', (k) => `x${k}`)}
        acc[${r}] += scales[row * uniforms.blocksPerRow + ${blockOf}] * sum;
      }`);
    }
    return `
      var<workgroup> partial : array<array<f32, ${G * groups}>, ${R}>;
      fn main(index : i32) {
        let lane = i32(localIndex) % ${G};
        let group = i32(localIndex) / ${G};
        let row0 = (${FLAT_WORKGROUP} * ${groups} + group) * ${R};
        var acc : array<f32, ${R}>;
        for (var u = lane; u < uniforms.unitsPerRow; u += ${G}) {
          ${Array.from({ length: xVec4s }, (_, k) => `let x${k} = x[u * ${xVec4s} + ${k}];`).join(' ')}
          ${perRow.join('\n')}
        }
        for (var r = 0; r < ${R}; r++) { partial[r][localIndex] = acc[r]; }
        for (var stride = ${G >> 1}; stride > 0; stride >>= 1) {
          workgroupBarrier();
          if (lane < stride) {
            for (var r = 0; r < ${R}; r++) { partial[r][localIndex] += partial[r][i32(localIndex) + stride]; }
          }
        }
        if (lane == 0) {
          for (var r = 0; r < ${R}; r++) {
            if (row0 + r < uniforms.rows) { result[row0 + r] = partial[r][localIndex]; }
          }
        }
      }`;
  }
}

class QuantizedMatMulProgram implements WebGpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  variableNames = ['x', 'words', 'scales'];
  variableComponents = [4, 4, 1];
  uniforms = UNIFORMS;
  workgroupSize: [number, number, number] = [PREFILL_ROWS, 1, 1];

  constructor(
    private readonly format: QuantFormat,
    tokens: number,
    rows: number,
  ) {
    this.outputShape = [tokens, rows];
    this.dispatch = [Math.ceil(rows / PREFILL_ROWS), Math.ceil(tokens / TOKEN_TILE), 1];
    this.shaderKey = `quantMatMul_${format}_${PREFILL_ROWS}_${TOKEN_TILE}`;
  }

  getUserCode(): string {
    const xVec4s = UNIT_WEIGHTS[this.format] / 4;
    const blockOf = this.format === 'q4_0' ? 'u' : 'u / 2';
    const perToken: string[] = [];
    for (let t = 0; t < TOKEN_TILE; t++) {
      // Tokens past the end repeat the last one (uniform work, no bounds checks); never written.
      perToken.push(`{
        let xBase = min(t0 + ${t}, tokens - 1) * xRow + u * ${xVec4s};
        var sum = 0.0;
        ${unitDotSnippet(this.format, 'sum', 'w', (k) => `x[xBase + ${k}]`)}
        acc[${t}] += s * sum;
      }`);
    }
    return `
      fn main() {
        let row = i32(workgroupId.x) * ${PREFILL_ROWS} + i32(localIndex);
        let t0 = i32(workgroupId.y) * ${TOKEN_TILE};
        let tokens = uniforms.xShape.x;
        let xRow = uniforms.xShape.y / 4;
        if (row >= uniforms.rows) { return; }
        var acc : array<f32, ${TOKEN_TILE}>;
        for (var u = 0; u < uniforms.unitsPerRow; u++) {
          let w = words[row * uniforms.unitsPerRow + u];
          let s = scales[row * uniforms.blocksPerRow + ${blockOf}];
          ${perToken.join('\n')}
        }
        for (var t = 0; t < ${TOKEN_TILE}; t++) {
          if (t0 + t < tokens) { result[(t0 + t) * uniforms.rows + row] = acc[t]; }
        }
      }`;
  }
}

/** The WGSL kernel (registered by ../quantized-matmul.ts, which checks its inputs first). */
export function quantizedMatMulWebGpu(backend: WebGpuBackendLike, { x, words, scales }: Record<string, tf.TensorInfo>, attrs: QuantizedMatMulAttrs): tf.TensorInfo {
  const { format, rows, cols } = attrs;
  const tokens = x.shape[0];
  const blocksPerRow = cols / BLOCK;
  // One entry per scalar field: a 3-element entry would be laid out as a vec3 (16-byte aligned).
  const uniforms = [rows, blocksPerRow, blocksPerRow * UNITS_PER_BLOCK[format]].map((v) => ({ type: 'int32' as const, data: [v] }));
  const program = tokens === 1 ? new QuantizedMatVecProgram(format, rows, matVecTiling) : new QuantizedMatMulProgram(format, tokens, rows);
  return backend.runWebGPUProgram(program, [x, words, scales], 'float32', uniforms);
}
