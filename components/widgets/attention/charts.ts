/** Plot options for the chapter 4 widget's two charts (see PlotChart.tsx for how they are drawn). */
import type { KvVariantMeasure } from '../../../src/engine/kv-variant.ts';
import { formatBytes } from '../calculator/format.ts';
import type { BuildPlot } from './PlotChart.tsx';
import type { CostAxis, CostMetric, CostPoint } from './variants.ts';

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const STYLE = { fontSize: '12px', fontFamily: 'inherit', overflow: 'visible' };

export const AXIS_LABEL: Record<CostAxis, string> = {
  context: 'context length (tokens)',
  batch: 'batch size (sequences)',
};
export const METRIC_LABEL: Record<CostMetric, string> = {
  totalPerToken: 'bytes read per generated token (weights + KV cache)',
  kvCacheMemory: 'KV-cache memory of the batch',
};

/** Both axes logarithmic: contexts and batches double, and the bytes span orders of magnitude. */
export function costPlot(points: CostPoint[], variants: string[], axis: CostAxis, metric: CostMetric, at: number): BuildPlot {
  return (Plot, width, colours) => ({
    width,
    height: 300,
    marginLeft: 70,
    marginRight: 24,
    marginBottom: 44,
    style: STYLE,
    x: { type: 'log', base: 2, label: `${AXIS_LABEL[axis]} →`, tickFormat: (v: number) => compact.format(v), ticks: width < 520 ? 4 : 8 },
    y: { type: 'log', label: `↑ ${METRIC_LABEL[metric]}`, grid: true, tickFormat: (v: number) => formatBytes(v), ticks: 5 },
    color: { domain: variants, range: colours },
    marks: [
      Plot.ruleX([at], { stroke: 'currentColor', strokeOpacity: 0.4, strokeDasharray: '3,3' }),
      Plot.line(points, { x: 'x', y: 'y', stroke: 'variant', strokeWidth: 2 }),
      Plot.dot(points, {
        x: 'x',
        y: 'y',
        fill: 'variant',
        r: 3,
        tip: true,
        title: (p: CostPoint) => `${p.variant}\n${compact.format(p.x)} ${axis === 'context' ? 'tokens' : 'sequences'}: ${formatBytes(p.y)}`,
      }),
    ],
  });
}

export interface QualityPoint {
  label: string;
  /** Pooled and then trained further: drawn as a dot off the line through the pooled variants. */
  uptrained?: boolean;
  kvBytesPerToken: number;
  bitsPerByte: number;
}

export const qualityPoints = (rows: KvVariantMeasure[], label: (m: KvVariantMeasure) => string): QualityPoint[] =>
  rows.map((m) => ({ label: label(m), kvBytesPerToken: m.kvBytesPerToken, bitsPerByte: m.bitsPerByte }));

/** Quality (bits per byte, lower is better) against the cache each variant needs per token. */
export function qualityPlot(points: QualityPoint[]): BuildPlot {
  return (Plot, width, colours) => ({
    width,
    height: 260,
    marginTop: 28,
    marginLeft: 56,
    marginRight: 48,
    marginBottom: 44,
    style: STYLE,
    x: { type: 'log', base: 2, label: 'KV cache per token (float32) →', insetLeft: 24, insetRight: 24, tickFormat: (v: number) => formatBytes(v), ticks: [...new Set(points.map((p) => p.kvBytesPerToken))] },
    y: { label: '↑ bits per byte (lower is better)', grid: true, nice: true, insetTop: 8 },
    color: { domain: points.map((p) => p.label), range: colours },
    marks: [
      Plot.line(points.filter((p) => !p.uptrained), { x: 'kvBytesPerToken', y: 'bitsPerByte', stroke: 'currentColor', strokeOpacity: 0.35 }),
      Plot.dot(points, { x: 'kvBytesPerToken', y: 'bitsPerByte', fill: 'label', r: 5, tip: true, title: (p: QualityPoint) => `${p.label}: ${p.bitsPerByte.toFixed(4)} bits per byte` }),
    ],
  });
}
