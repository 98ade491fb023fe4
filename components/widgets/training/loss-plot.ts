/**
 * The loss-against-tokens chart both training widgets draw: lines (training loss, the recorded
 * run) and dots (validation loss) on one pair of axes, and a pointer tip with the exact values of
 * the nearest point. Each curve's marks carry the class `curve-<key>`, so tests can find them.
 */
import type { PlotModule } from '../plot.ts';

/** Token counts on an axis: 4M, 250k, 512. */
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
export const formatTokens = (v: number): string => compact.format(v).replace('K', 'k');

export interface CurvePoint {
  tokens: number;
  value: number;
  step: number;
}

export interface Curve {
  key: string;
  label: string;
  points: CurvePoint[];
  mark: 'line' | 'dots';
  colour: string;
  dashed?: boolean;
  /** What the tip says about a point of this curve ("training loss 2.788"). */
  describe(p: CurvePoint): string;
}

export interface LossPlotOptions {
  curves: Curve[];
  width: number;
  height: number;
  xDomain: [number, number];
  yLabel: string;
  /** y from 0 (the learning rate) rather than fitted to the data (losses). */
  yFromZero?: boolean;
  yTickFormat?: string;
}

export function lossPlot(Plot: PlotModule, o: LossPlotOptions): ReturnType<PlotModule['plot']> {
  const marks: unknown[] = [];
  const tipped: (CurvePoint & { text: string })[] = [];
  for (const c of o.curves) {
    const className = `curve-${c.key}`;
    if (c.mark === 'line') {
      marks.push(Plot.line(c.points, { x: 'tokens', y: 'value', stroke: c.colour, strokeWidth: 2, className, ...(c.dashed ? { strokeDasharray: '6,4' } : {}) }));
    } else {
      marks.push(Plot.dot(c.points, { x: 'tokens', y: 'value', fill: c.colour, r: 3.5, className }));
    }
    for (const p of c.points) tipped.push({ ...p, text: c.describe(p) });
  }
  marks.push(
    Plot.tip(
      tipped,
      Plot.pointer({ x: 'tokens', y: 'value', title: (p: { text: string; step: number; tokens: number }) => `${p.text}\nstep ${p.step}, ${formatTokens(p.tokens)} tokens seen` }),
    ),
  );
  return Plot.plot({
    width: o.width,
    height: o.height,
    marginLeft: 52,
    marginRight: 20,
    marginTop: 16,
    marginBottom: 36,
    style: { fontSize: '12px', fontFamily: 'inherit', overflow: 'visible' },
    x: { domain: o.xDomain, label: 'tokens seen →', tickFormat: formatTokens, grid: true, ticks: Math.max(2, Math.floor(o.width / 90)) },
    y: { label: `↑ ${o.yLabel}`, grid: true, nice: true, ...(o.yFromZero ? { zero: true } : {}), ...(o.yTickFormat ? { tickFormat: o.yTickFormat } : {}) },
    marks,
  } as Parameters<PlotModule['plot']>[0]);
}
