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
 *    By default the workgroup first copies x (through the prologue) into workgroup memory, a
 *    chunk at a time, and the groups read it from there. The partial sums meet in a tree
 *    reduction in workgroup memory (no subgroups: that feature may be absent).
 *  - Prefill (T > 1) uses the same layout with a tile of TOKEN_TILE tokens per workgroup: each
 *    unit read serves every token of the tile, and the reduction sums rows × tokens at once.
 *
 * With a prologue (see ../quantized-matmul.ts), x is read through `loadX`, which computes four
 * inputs of the product from x as it reads them (zero past inFeatures, in W's padding). The
 * RMSNorm prologue first has each workgroup reduce Σx² of its token rows (a few KB from cache,
 * small beside its share of W). The residual epilogue adds as it stores.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { BLOCK, type QuantFormat } from '../../quant/blocks.ts';
import { EngineError } from '../../errors.ts';
import type { Prologue, QuantizedMatMulAttrs } from '../quantized-matmul.ts';
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
  /**
   * Stage x in workgroup memory, a chunk at a time, before the threads read it: the workgroup
   * reads x with coalesced loads (applying the prologue once per element), and each thread then
   * reads its units' x from a swizzled layout without bank conflicts, instead of every thread
   * loading 16-byte pieces of x 128 bytes apart from global memory.
   */
  stagedX?: boolean;
}

/**
 * The decode program's tiling per format; the kernel benchmark can try others (`--tiling`).
 * Measured on an NVIDIA H200 in the 7B decode (BENCHMARKS.md, session 7): with x staged in
 * workgroup memory, 8 groups of 32 threads with 4 rows each decoded at 117–127 tok/s (q4_0)
 * and 123 (q8_0), against 65 and 83 for the best tilings that read x from global memory, whose
 * fused prologues recomputed each input for every group of rows.
 */
const DEFAULT_TILING: MatVecTiling = { threadsPerRow: 32, rowsPerThread: 4, groups: 8, stagedX: true };
const DEFAULT_TILINGS: Record<QuantFormat, MatVecTiling> = { q4_0: DEFAULT_TILING, q8_0: DEFAULT_TILING };
let matVecTilings: Record<QuantFormat, MatVecTiling> = { ...DEFAULT_TILINGS };

/** Workgroup memory every WebGPU device offers (maxComputeWorkgroupStorageSize's default). */
const WORKGROUP_BYTES = 16384;

/**
 * A round of staged units: a multiple of the group's threads (every thread reads as many units of
 * a chunk) and of eight vec4s (the swizzle). threadsPerRow is a power of two and a unit is 8
 * (q4_0) or 4 (q8_0) vec4s, so the larger of threadsPerRow and 8 / vec4s-per-unit is one.
 */
const stagedRound = (tiling: MatVecTiling, format: QuantFormat) => Math.max(tiling.threadsPerRow, 32 / UNIT_WEIGHTS[format]);

/**
 * Units of staged x, in whole rounds, that the workgroup memory holds beside the partial sums
 * (rows × threads) and RMSNorm's shares (threads); 0 when not one round fits.
 */
function stagedUnitsThatFit(tiling: MatVecTiling, format: QuantFormat, workgroupBytes: number): number {
  const { threadsPerRow, rowsPerThread, groups } = tiling;
  const free = workgroupBytes - 4 * threadsPerRow * groups * (rowsPerThread + 1);
  const round = stagedRound(tiling, format);
  return Math.max(0, Math.floor(free / (4 * UNIT_WEIGHTS[format]) / round) * round);
}

/** Units per staged chunk for rows of `unitsPerRow` units: as few chunks as fit, of equal size in whole rounds. */
function stagedChunkUnits(tiling: MatVecTiling, format: QuantFormat, workgroupBytes: number, unitsPerRow: number): number {
  const fits = stagedUnitsThatFit(tiling, format, workgroupBytes);
  if (fits === 0) return 0;
  const round = stagedRound(tiling, format);
  return Math.min(fits, Math.ceil(unitsPerRow / Math.ceil(unitsPerRow / fits) / round) * round);
}

/** Checks a tiling (threadsPerRow a power of two for the tree reduction, at most 256 threads). */
export function checkMatVecTiling(t: MatVecTiling): MatVecTiling {
  const { threadsPerRow, rowsPerThread, groups, stagedX = false } = t;
  const ok = (n: number) => Number.isInteger(n) && n >= 1;
  if (!ok(threadsPerRow) || (threadsPerRow & (threadsPerRow - 1)) !== 0 || !ok(rowsPerThread) || !ok(groups) || threadsPerRow * groups > 256)
    throw new EngineError('bad-argument', `matvec tiling: threadsPerRow must be a power of two, all ≥ 1 and at most 256 threads, got ${JSON.stringify(t)}`);
  if (stagedX && stagedUnitsThatFit(t, 'q4_0', WORKGROUP_BYTES) === 0)
    throw new EngineError('bad-argument', `matvec tiling: with x staged, rowsPerThread × threads must leave room for x in ${WORKGROUP_BYTES} bytes of workgroup memory, got ${JSON.stringify(t)}`);
  return { threadsPerRow, rowsPerThread, groups, stagedX };
}

/** Sets the tiling of one format, or of both. */
export function setMatVecTiling(t: MatVecTiling, format?: QuantFormat): void {
  const checked = checkMatVecTiling(t);
  matVecTilings = format ? { ...matVecTilings, [format]: checked } : { q4_0: checked, q8_0: checked };
}

export function getMatVecTiling(format: QuantFormat): MatVecTiling {
  return { ...matVecTilings[format] };
}

/** Back to the measured defaults. */
export function resetMatVecTiling(): void {
  matVecTilings = { ...DEFAULT_TILINGS };
}

/**
 * Prefill: the decode program's coalesced layout (thread groups striding over their rows' units)
 * with TOKEN_TILE tokens per workgroup, so each unit of W read from memory serves every token of
 * the tile; W is read ⌈T / TOKEN_TILE⌉ times in all.
 */
const TOKEN_TILE = 8;
const PREFILL_TILING: MatVecTiling = { threadsPerRow: 32, rowsPerThread: 4, groups: 2 };

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

const UNIFORMS = 'rows : i32, blocksPerRow : i32, unitsPerRow : i32, inFeatures : i32, eps : f32,';

/** What a program generates around the product (everything its WGSL depends on beyond the format). */
interface Fusion {
  prologue: Prologue;
  /** inFeatures < cols: loadX zeroes the padding. */
  padded: boolean;
  residual: boolean;
}

const fusionKey = ({ prologue, padded, residual }: Fusion) => `${prologue}${padded ? '_padded' : ''}${residual ? '_residual' : ''}`;

/** Inputs after x, words and scales, in binding order. */
const extraInputs = ({ prologue, residual }: Fusion) => [...(prologue === 'rmsNorm' ? ['normWeight'] : []), ...(residual ? ['residual'] : [])];

/**
 * WGSL `fn loadX(t, j, invRms) -> vec4<f32>`: the product's inputs j..j+3 of token t, computed
 * from the scalar array x by the prologue in the order the separate kernels use (invRms is
 * RMSNorm's 1/√(mean x² + ε), unused by SwiGLU). Empty without a prologue (x is read as vec4s).
 */
function loadXFunction({ prologue, padded }: Fusion): string {
  if (prologue === 'none') return '';
  const element =
    prologue === 'rmsNorm'
      ? 'return normWeight[c] * (invRms * x[t * uniforms.inFeatures + c]);'
      : `let at = t * 2 * uniforms.inFeatures + c;
         let g = x[at];
         return (g * (1.0 / (1.0 + exp(-g)))) * x[at + uniforms.inFeatures];`;
  const lanes = [0, 1, 2, 3].map((k) => (padded ? `if (j + ${k} < uniforms.inFeatures) { v[${k}] = element(t, j + ${k}, invRms); }` : `v[${k}] = element(t, j + ${k}, invRms);`));
  return `
    fn element(t : i32, c : i32, invRms : f32) -> f32 {
      ${element}
    }
    fn loadX(t : i32, j : i32, invRms : f32) -> vec4<f32> {
      var v = vec4<f32>(0.0);
      ${lanes.join('\n')}
      return v;
    }`;
}

/** WGSL: RMSNorm's factor from a sum of squares, as the RMSNorm kernels compute it. */
const invRmsOf = (sumSquares: string) => `1.0 / sqrt(${sumSquares} / f32(uniforms.inFeatures) + uniforms.eps)`;

/** WGSL: `residual[i] + value` with the residual epilogue, else `value`. */
const epilogue = ({ residual }: Fusion, i: string, value: string) => (residual ? `residual[${i}] + ${value}` : value);

/**
 * What the two programs share: the inputs (x, W's words and scales, then the fused forms'), the
 * uniforms, and a workgroup of `groups` thread groups of `threadsPerRow` per tile of rows.
 */
abstract class QuantizedProgram implements WebGpuProgram {
  abstract dispatchLayout: WebGpuProgram['dispatchLayout'];
  outputShape: number[];
  shaderKey: string;
  dispatch: [number, number, number];
  variableNames: string[];
  variableComponents: number[];
  uniforms = UNIFORMS;
  workgroupSize: [number, number, number];

  constructor(
    protected readonly format: QuantFormat,
    protected readonly tiling: MatVecTiling,
    protected readonly fusion: Fusion,
    outputShape: [tokens: number, rows: number],
    tokenTiles: number,
    /** Names the program's WGSL beyond format, tiling and fusion. */
    key: string,
  ) {
    const { threadsPerRow, rowsPerThread, groups } = tiling;
    this.outputShape = outputShape;
    this.workgroupSize = [threadsPerRow * groups, 1, 1];
    this.dispatch = [Math.ceil(outputShape[1] / (rowsPerThread * groups)), tokenTiles, 1];
    this.shaderKey = `${key}_${format}_${threadsPerRow}_${rowsPerThread}_${groups}_${fusionKey(fusion)}`;
    const extra = extraInputs(fusion);
    this.variableNames = ['x', 'words', 'scales', ...extra];
    this.variableComponents = [fusion.prologue === 'none' ? 4 : 1, 4, 1, ...extra.map(() => 1)];
  }

  abstract getUserCode(): string;
}

class QuantizedMatVecProgram extends QuantizedProgram {
  // Flat: the backend folds a grid over 65535 workgroups into 2-D, which FLAT_WORKGROUP undoes.
  dispatchLayout = { x: [0, 1] };

  /** Units of x per staged chunk (0: x read from global memory). */
  private readonly chunkUnits: number;

  constructor(format: QuantFormat, rows: number, unitsPerRow: number, tiling: MatVecTiling, fusion: Fusion, workgroupBytes: number) {
    const chunkUnits = tiling.stagedX ? stagedChunkUnits(tiling, format, workgroupBytes, unitsPerRow) : 0;
    // The chunk size names the staged forms (it is fixed in their WGSL).
    super(format, tiling, fusion, [1, rows], 1, `quantMatVec${chunkUnits || ''}`);
    this.chunkUnits = chunkUnits;
  }

  /** The threads of a group stride over their rows' units, reading x from global memory. */
  private directLoop(perRow: string[], loadX4: (q: string) => string): string {
    const { threadsPerRow: G } = this.tiling;
    const xVec4s = UNIT_WEIGHTS[this.format] / 4;
    return `for (var u = lane; u < uniforms.unitsPerRow; u += ${G}) {
          ${Array.from({ length: xVec4s }, (_, k) => `let x${k} = ${loadX4(`u * ${xVec4s} + ${k}`)};`).join(' ')}
          ${perRow.join('\n')}
        }`;
  }

  /**
   * Chunk by chunk: the workgroup copies x into workgroup memory (consecutive threads, consecutive
   * vec4s), then the groups stride over the chunk's units as in directLoop. Neighbouring lanes
   * read vec4s 128 bytes apart in q4_0 (64 in q8_0), on the same banks; storing vec4 p at
   * p XOR ((p / 8) mod 8) puts the eight lanes of a 128-bit access on distinct banks in both.
   */
  private stagedLoop(perRow: string[], loadX4: (q: string) => string): string {
    const { threadsPerRow: G, groups } = this.tiling;
    const xVec4s = UNIT_WEIGHTS[this.format] / 4;
    const { chunkUnits } = this;
    const at = (p: string) => `xs[(${p}) ^ (((${p}) >> 3) & 7)]`;
    return `for (var c0 = 0; c0 < uniforms.unitsPerRow; c0 += ${chunkUnits}) {
          let units = min(${chunkUnits}, uniforms.unitsPerRow - c0);
          workgroupBarrier(); // the previous chunk's readers are done
          for (var p = i32(localIndex); p < units * ${xVec4s}; p += ${G * groups}) {
            ${at('p')} = ${loadX4(`c0 * ${xVec4s} + p`)};
          }
          workgroupBarrier();
          for (var uLocal = lane; uLocal < units; uLocal += ${G}) {
            let u = c0 + uLocal;
            ${Array.from({ length: xVec4s }, (_, k) => `let x${k} = ${at(`uLocal * ${xVec4s} + ${k}`)};`).join(' ')}
            ${perRow.join('\n')}
          }
        }`;
  }

  getUserCode(): string {
    const { threadsPerRow: G, rowsPerThread: R, groups } = this.tiling;
    const threads = G * groups;
    const { prologue } = this.fusion;
    // x's vec4 number q (WGSL), through the prologue if there is one.
    const loadX4 = (q: string) => (prologue === 'none' ? `x[${q}]` : `loadX(0, 4 * (${q}), invRms)`);
    // Every thread sums its share of x², then reads all the shares (one barrier, no tree).
    const rms =
      prologue === 'rmsNorm'
        ? `var ss = 0.0;
           for (var c = i32(localIndex); c < uniforms.inFeatures; c += ${threads}) { let v = x[c]; ss += v * v; }
           sumSquares[localIndex] = ss;
           workgroupBarrier();
           var total = 0.0;
           for (var i = 0; i < ${threads}; i++) { total += sumSquares[i]; }
           let invRms = ${invRmsOf('total')};`
        : 'let invRms = 0.0;';
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
      var<workgroup> partial : array<array<f32, ${threads}>, ${R}>;
      ${prologue === 'rmsNorm' ? `var<workgroup> sumSquares : array<f32, ${threads}>;` : ''}
      ${this.chunkUnits ? `var<workgroup> xs : array<vec4<f32>, ${this.chunkUnits * (UNIT_WEIGHTS[this.format] / 4)}>;` : ''}
      ${loadXFunction(this.fusion)}
      fn main(index : i32) {
        let lane = i32(localIndex) % ${G};
        let group = i32(localIndex) / ${G};
        let row0 = (${FLAT_WORKGROUP} * ${groups} + group) * ${R};
        ${rms}
        var acc : array<f32, ${R}>;
        ${this.chunkUnits ? this.stagedLoop(perRow, loadX4) : this.directLoop(perRow, loadX4)}
        for (var r = 0; r < ${R}; r++) { partial[r][localIndex] = acc[r]; }
        for (var stride = ${G >> 1}; stride > 0; stride >>= 1) {
          workgroupBarrier();
          if (lane < stride) {
            for (var r = 0; r < ${R}; r++) { partial[r][localIndex] += partial[r][i32(localIndex) + stride]; }
          }
        }
        if (lane == 0) {
          for (var r = 0; r < ${R}; r++) {
            if (row0 + r < uniforms.rows) { result[row0 + r] = ${epilogue(this.fusion, 'row0 + r', 'partial[r][localIndex]')}; }
          }
        }
      }`;
  }
}

class QuantizedMatMulProgram extends QuantizedProgram {
  dispatchLayout = { x: [1], y: [0] };

  constructor(format: QuantFormat, tokens: number, rows: number, fusion: Fusion) {
    super(format, PREFILL_TILING, fusion, [tokens, rows], Math.ceil(tokens / TOKEN_TILE), `quantMatMul${TOKEN_TILE}`);
  }

  getUserCode(): string {
    const { threadsPerRow: G, rowsPerThread: R, groups } = this.tiling;
    const threads = G * groups;
    const TT = TOKEN_TILE;
    const xVec4s = UNIT_WEIGHTS[this.format] / 4;
    const { prologue } = this.fusion;
    const loadX = (t: number, k: number) =>
      prologue === 'none' ? `x[token${t} * xRow + u * ${xVec4s} + ${k}]` : `loadX(token${t}, u * ${UNIT_WEIGHTS[this.format]} + ${4 * k}, invRms[${t}])`;
    // RMSNorm: threads / TT threads per token of the tile sum its x², then every thread adds them up.
    const lanes = threads / TT;
    const rms =
      prologue === 'rmsNorm'
        ? `{
            let slot = i32(localIndex) % ${TT};
            let base = min(t0 + slot, tokens - 1) * uniforms.inFeatures;
            var ss = 0.0;
            for (var c = i32(localIndex) / ${TT}; c < uniforms.inFeatures; c += ${lanes}) { let v = x[base + c]; ss += v * v; }
            sumSquares[localIndex] = ss;
          }
          workgroupBarrier();
          for (var t = 0; t < ${TT}; t++) {
            var total = 0.0;
            for (var l = 0; l < ${lanes}; l++) { total += sumSquares[l * ${TT} + t]; }
            invRms[t] = ${invRmsOf('total')};
          }`
        : '';
    const blockOf = this.format === 'q4_0' ? 'u' : 'u / 2';
    const weights = Array.from({ length: R }, (_, r) => `let row${r} = min(row0 + ${r}, uniforms.rows - 1);
          let w${r} = words[row${r} * uniforms.unitsPerRow + u];
          let s${r} = scales[row${r} * uniforms.blocksPerRow + ${blockOf}];`).join('\n');
    // Unrolled over tokens and rows: constant indices keep the accumulators in registers.
    const perToken = Array.from({ length: TT }, (_, t) => {
      const rows = Array.from({ length: R }, (_, r) => `{
              var sum = 0.0;
              ${unitDotSnippet(this.format, 'sum', `w${r}`, (k) => `x${k}`)}
              acc[${r * TT + t}] += s${r} * sum;
            }`).join('\n');
      return `{
            // Tokens past the end repeat the last one (uniform work); they are never written.
            let token${t} = min(t0 + ${t}, tokens - 1);
            ${Array.from({ length: xVec4s }, (_, k) => `let x${k} = ${loadX(t, k)};`).join(' ')}
            ${rows}
          }`;
    }).join('\n');
    return `
      var<workgroup> partial : array<array<f32, ${threads}>, ${R * TT}>;
      ${prologue === 'rmsNorm' ? `var<workgroup> sumSquares : array<f32, ${threads}>;` : ''}
      ${loadXFunction(this.fusion)}
      fn main() {
        let lane = i32(localIndex) % ${G};
        let row0 = (i32(workgroupId.x) * ${groups} + i32(localIndex) / ${G}) * ${R};
        let t0 = i32(workgroupId.y) * ${TT};
        let tokens = uniforms.xShape.x;
        let xRow = uniforms.xShape.y / 4;
        var invRms : array<f32, ${TT}>;
        ${rms}
        var acc : array<f32, ${R * TT}>;
        for (var u = lane; u < uniforms.unitsPerRow; u += ${G}) {
          ${weights}
          ${perToken}
        }
        for (var i = 0; i < ${R * TT}; i++) { partial[i][localIndex] = acc[i]; }
        for (var stride = ${G >> 1}; stride > 0; stride >>= 1) {
          workgroupBarrier();
          if (lane < stride) {
            for (var i = 0; i < ${R * TT}; i++) { partial[i][localIndex] += partial[i][i32(localIndex) + stride]; }
          }
        }
        if (lane == 0) {
          for (var r = 0; r < ${R}; r++) {
            for (var t = 0; t < ${TT}; t++) {
              let at = (t0 + t) * uniforms.rows + row0 + r;
              if (row0 + r < uniforms.rows && t0 + t < tokens) { result[at] = ${epilogue(this.fusion, 'at', `partial[r * ${TT} + t][localIndex]`)}; }
            }
          }
        }
      }`;
  }
}

/** The device's workgroup memory (TF.js asks for the adapter's maximum), else WebGPU's default. */
function workgroupStorageBytes(backend: WebGpuBackendLike): number {
  const limits = (backend as { device?: { limits?: { maxComputeWorkgroupStorageSize?: number } } }).device?.limits;
  return limits?.maxComputeWorkgroupStorageSize ?? WORKGROUP_BYTES;
}

/** The WGSL kernel (registered by ../quantized-matmul.ts, which checks its inputs and fills in the defaults first). */
export function quantizedMatMulWebGpu(backend: WebGpuBackendLike, inputs: Record<string, tf.TensorInfo>, attrs: Required<QuantizedMatMulAttrs>): tf.TensorInfo {
  const { format, rows, cols, prologue, inFeatures, eps, residual } = attrs;
  const fusion: Fusion = { prologue, padded: inFeatures < cols, residual };
  const tokens = inputs.x.shape[0];
  const blocksPerRow = cols / BLOCK;
  // One entry per scalar field: a 3-element entry would be laid out as a vec3 (16-byte aligned).
  const unitsPerRow = blocksPerRow * UNITS_PER_BLOCK[format];
  const uniforms = [
    ...[rows, blocksPerRow, unitsPerRow, inFeatures].map((v) => ({ type: 'int32' as const, data: [v] })),
    { type: 'float32' as const, data: [eps] },
  ];
  const program =
    tokens === 1
      ? new QuantizedMatVecProgram(format, rows, unitsPerRow, matVecTilings[format], fusion, workgroupStorageBytes(backend))
      : new QuantizedMatMulProgram(format, tokens, rows, fusion);
  return backend.runWebGPUProgram(program, program.variableNames.map((n) => inputs[n]), 'float32', uniforms);
}
