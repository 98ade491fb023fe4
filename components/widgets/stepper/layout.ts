/**
 * How a recorded tensor is laid out as a heatmap: rows and columns with names, so hovering or
 * focusing a cell can say what it is. Per-head tensors get one row per head; attention weights
 * one row per head and one column per visible position; any other vector wraps into rows of
 * fixed width. Very long vectors (e.g. 32,000 logits) are binned so at most MAX_CELLS cells are
 * drawn: each cell shows the value of largest magnitude in its bin.
 */
import type { StepName } from './steps.ts';

export const WRAP_WIDTH = 64;
export const MAX_CELLS = 4096;

/** Model dimensions the layout needs, read off the trace itself (see dimsFromTrace). */
export interface TraceDims {
  nHeads: number;
  nKvHeads: number;
  headSize: number;
}

export interface Grid {
  rows: number;
  cols: number;
  /** rows·cols values, NaN where the last wrapped row runs past the end. */
  cells: Float32Array;
  /** Elements per cell (1 unless binned). */
  binSize: number;
  rowName(r: number): string;
  /** Short labels drawn beside rows / under columns where they fit (heads, attended tokens). */
  rowLabels?: string[];
  colLabels?: string[];
  /** What the cell at (r, c) holds, e.g. "head 3 → position 5 “ time”" or "elements 64–71". */
  cellName(r: number, c: number): string;
  /** The element index of a cell (its bin's first element when binned); -1 past the end. */
  elementAt(r: number, c: number): number;
}

const PER_QUERY_HEAD: ReadonlySet<StepName> = new Set(['q', 'q_rope', 'attention_heads']);
const PER_KV_HEAD: ReadonlySet<StepName> = new Set(['k', 'k_rope', 'v']);
const HEADS_BY_KEYS: ReadonlySet<StepName> = new Set(['attention_scores', 'attention_probs']);

/** nHeads from the attention weights' shape, head size from q, kv heads from k. */
export function dimsFromTrace(steps: readonly { step: StepName; shape: number[]; values: ArrayLike<number> }[]): TraceDims | null {
  const probs = steps.find((s) => s.step === 'attention_probs');
  const q = steps.find((s) => s.step === 'q');
  const k = steps.find((s) => s.step === 'k');
  if (!probs || !q || !k) return null;
  const nHeads = probs.shape[0];
  const headSize = q.values.length / nHeads;
  return { nHeads, headSize, nKvHeads: k.values.length / headSize };
}

function matrix(
  values: ArrayLike<number>,
  rows: number,
  cols: number,
  rowName: (r: number) => string,
  colName: (c: number) => string,
  labels: { rows?: string[]; cols?: string[] } = {},
): Grid {
  return {
    rows,
    cols,
    rowLabels: labels.rows,
    colLabels: labels.cols,
    cells: Float32Array.from(values as ArrayLike<number>),
    binSize: 1,
    rowName,
    cellName: (r, c) => `${rowName(r)}, ${colName(c)}`,
    elementAt: (r, c) => r * cols + c,
  };
}

/** The signed value of largest magnitude in values[from, to). */
function extreme(values: ArrayLike<number>, from: number, to: number): number {
  let best = values[from];
  for (let i = from + 1; i < to; i++) if (Math.abs(values[i]) > Math.abs(best)) best = values[i];
  return best;
}

function wrapped(values: ArrayLike<number>, label: string): Grid {
  const n = values.length;
  const binSize = Math.max(1, Math.ceil(n / MAX_CELLS));
  const count = Math.ceil(n / binSize);
  const cols = Math.min(WRAP_WIDTH, count);
  const rows = Math.ceil(count / cols);
  const cells = new Float32Array(rows * cols).fill(NaN);
  for (let b = 0; b < count; b++) cells[b] = binSize === 1 ? values[b] : extreme(values, b * binSize, Math.min(n, (b + 1) * binSize));
  const elementAt = (r: number, c: number) => {
    const b = r * cols + c;
    return b < count ? b * binSize : -1;
  };
  return {
    rows,
    cols,
    cells,
    binSize,
    rowName: (r) => `${label} ${r * cols * binSize}–${Math.min(n, (r + 1) * cols * binSize) - 1}`,
    cellName: (r, c) => {
      const at = elementAt(r, c);
      if (at < 0) return '(none)';
      return binSize === 1 ? `${label} ${at}` : `${label}s ${at}–${Math.min(n, at + binSize) - 1} (largest magnitude)`;
    },
    elementAt,
  };
}

/**
 * The grid for one step. `pieces` name the positions (columns of attention weights); `dims`
 * splits per-head tensors into heads (null: show them as plain vectors).
 */
export function gridFor(
  step: StepName,
  shape: readonly number[],
  values: ArrayLike<number>,
  dims: TraceDims | null,
  pieces: readonly string[] = [],
): Grid {
  const kvHeadOf = (h: number) => (dims ? Math.floor(h / (dims.nHeads / dims.nKvHeads)) : h);
  const gqa = dims !== null && dims.nKvHeads !== dims.nHeads;
  const queryHead = (h: number) => (gqa ? `head ${h} (kv head ${kvHeadOf(h)})` : `head ${h}`);
  const heads = (n: number, prefix: string) => Array.from({ length: n }, (_, h) => `${prefix}${h}`);
  if (HEADS_BY_KEYS.has(step) && shape.length === 2) {
    const piece = (j: number) => (pieces[j] !== undefined ? ` ${JSON.stringify(pieces[j])}` : '');
    const cols = pieces.length >= shape[1] ? pieces.slice(0, shape[1]) : undefined;
    return matrix(values, shape[0], shape[1], queryHead, (j) => `position ${j}${piece(j)}`, { rows: heads(shape[0], 'h'), cols });
  }
  if (dims && PER_QUERY_HEAD.has(step) && values.length === dims.nHeads * dims.headSize)
    return matrix(values, dims.nHeads, dims.headSize, queryHead, (i) => `dim ${i}`, { rows: heads(dims.nHeads, 'h') });
  if (dims && PER_KV_HEAD.has(step) && values.length === dims.nKvHeads * dims.headSize)
    return matrix(
      values,
      dims.nKvHeads,
      dims.headSize,
      (h) => `kv head ${h}`,
      (i) => `dim ${i}`,
      { rows: heads(dims.nKvHeads, 'kv') },
    );
  return wrapped(values, step === 'logits' ? 'token' : 'element');
}
