/**
 * The chapter 4 widget's numbers, as plain data for its tables and charts: which variants of a
 * shape to compare, their decode traffic over a range of contexts or batch sizes, and the points
 * of the quality-vs-memory chart. Pure: everything comes from src/engine's cost model.
 */
import type { LlamaConfig } from '../../../src/engine/config.ts';
import { decodeTraffic, type DecodeSetting, type DecodeTraffic } from '../../../src/engine/decode-cost.ts';
import { withKvHeads } from '../../../src/engine/kv-groups.ts';

export interface Variant {
  kvHeads: number;
  label: string;
  config: LlamaConfig;
}

/** "MHA (32 kv heads)", "GQA (8 kv heads)", "MQA (1 kv head)", for a model with `nHeads` query heads. */
export function variantLabel(nHeads: number, kvHeads: number): string {
  const kind = kvHeads === nHeads ? 'MHA' : kvHeads === 1 ? 'MQA' : 'GQA';
  return `${kind} (${kvHeads} kv head${kvHeads === 1 ? '' : 's'})`;
}

/**
 * MHA, the model's own arrangement, the one picked and MQA: each kv-head count once, most
 * first (a model that is MHA already shows MHA once).
 */
export function variantsToCompare(c: LlamaConfig, picked: number): Variant[] {
  const counts = [...new Set([c.nHeads, c.nKvHeads, picked, 1])].sort((a, b) => b - a);
  return counts.map((g) => ({ kvHeads: g, label: variantLabel(c.nHeads, g), config: withKvHeads(c, g) }));
}

/** Powers of two from `from` to `to` inclusive (both powers of two or not: the ends are kept). */
export function powersOfTwo(from: number, to: number): number[] {
  const out: number[] = [];
  for (let v = from; v < to; v *= 2) out.push(v);
  out.push(to);
  return out;
}

/** The x axis of the cost chart and what it shows. */
export type CostAxis = 'context' | 'batch';
export type CostMetric = 'totalPerToken' | 'kvCacheMemory';

export const CONTEXTS = powersOfTwo(128, 131072);
export const BATCHES = powersOfTwo(1, 512);

export interface CostPoint {
  variant: string;
  x: number;
  /** Bytes. */
  y: number;
}

/** One line per variant: the metric as the context (or the batch) grows, the other held fixed. */
export function costSeries(variants: Variant[], setting: DecodeSetting, axis: CostAxis, metric: CostMetric): CostPoint[] {
  const xs = axis === 'context' ? CONTEXTS : BATCHES;
  return variants.flatMap((v) =>
    xs.map((x) => ({ variant: v.label, x, y: decodeTraffic(v.config, { ...setting, [axis]: x })[metric] })),
  );
}

export interface CostRow {
  variant: Variant;
  traffic: DecodeTraffic;
}

export const costRows = (variants: Variant[], setting: DecodeSetting): CostRow[] =>
  variants.map((variant) => ({ variant, traffic: decodeTraffic(variant.config, setting) }));

/** Parses a positive whole number typed into a field; a message when it is not one in range. */
export function parseCount(text: string, what: string, min: number, max: number): { value: number } | { error: string } {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { error: `${what} must be a whole number from ${min} to ${max}.` };
  const v = Number(t);
  if (v < min || v > max) return { error: `${what} must be from ${min} to ${max}, not ${v}.` };
  return { value: v };
}
