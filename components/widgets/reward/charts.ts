/**
 * Plot options for the chapter 9 widgets, as pure functions of the data (Plot is passed in, so
 * this module never touches the DOM; the components call Plot.plot with the result).
 */
import { lossCurves, rankingLoss } from '../../../src/train/reward/ranking-loss.ts';
import { RATING_LABELS, RATINGS, type Rating } from '../../../src/train/reward/ratings.ts';
import type { MarginVariant } from './paper-margins.ts';
import type { PlotModule as Plot } from '../plot.ts';

/** The gaps the loss chart spans: wide enough to show the largest margin's elbow and a flat tail. */
export const DELTA_RANGE = { from: -4, to: 6 } as const;
const CURVE_POINTS = 121;
const FONT = { fontSize: '12px', fontFamily: 'inherit', overflow: 'visible' } as const;

const ratingDomain = RATINGS.map((r) => RATING_LABELS[r]);

/**
 * A panel's title inside its top-right corner: facet labels beside the panels would need a wide
 * right margin that a phone does not have. Outlined in the page colour so bars behind stay legible.
 */
function panelTitles(Plot: Plot, titles: string[]) {
  return Plot.text(
    titles.map((t) => ({ t })),
    { fy: 't', text: 't', frameAnchor: 'top-right', dx: -4, dy: 4, fontWeight: 600, fill: 'currentColor', stroke: 'var(--bg)', strokeWidth: 4, paintOrder: 'stroke' },
  );
}

function ratingColour(colours: string[]) {
  return { type: 'ordinal', domain: ratingDomain, range: ratingDomain.map((_, i) => colours[i % colours.length]), legend: true } as const;
}

export interface LossChartInput {
  variants: MarginVariant[];
  delta: number;
  width: number;
  colours: string[];
}

/** Loss against Δ, one line per rating, one panel per margin variant, the chosen Δ marked. */
export function lossChartOptions(Plot: Plot, { variants, delta, width, colours }: LossChartInput): Record<string, unknown> {
  const curves = variants.flatMap((v) =>
    lossCurves(v.margins, DELTA_RANGE.from, DELTA_RANGE.to, CURVE_POINTS).map((p) => ({ ...p, label: RATING_LABELS[p.rating], variant: v.label })),
  );
  const marks = variants.flatMap((v) => RATINGS.map((r) => ({ variant: v.label, label: RATING_LABELS[r], delta, loss: rankingLoss(delta, v.margins[r]) })));
  return {
    width,
    height: 40 + variants.length * 190,
    style: FONT,
    marginLeft: 48,
    marginRight: 16,
    marginTop: 24,
    x: { domain: [DELTA_RANGE.from, DELTA_RANGE.to], label: 'reward difference Δ = r(chosen) − r(rejected) →', grid: true },
    y: { domain: [0, rankingLoss(DELTA_RANGE.from, Math.max(...variants.flatMap((v) => RATINGS.map((r) => v.margins[r]))))], label: '↑ loss', grid: true },
    fy: { domain: variants.map((v) => v.label), label: null, axis: null },
    color: ratingColour(colours),
    marks: [
      Plot.ruleX([delta], { stroke: 'currentColor', strokeDasharray: '4 3' }),
      Plot.line(curves, { x: 'delta', y: 'loss', z: 'label', stroke: 'label', fy: 'variant', strokeWidth: 2 }),
      Plot.dot(marks, { x: 'delta', y: 'loss', fill: 'label', fy: 'variant', r: 4 }),
      panelTitles(Plot, variants.map((v) => v.label)),
    ],
  };
}

export interface HistogramInput {
  deltas: { rating: Rating; delta: number }[];
  margins: Record<Rating, number>;
  width: number;
  colours: string[];
}

/** Held-out pairs' Δ, one histogram per rating; zero (a tie) and the rating's margin marked. */
export function histogramOptions(Plot: Plot, { deltas, margins, width, colours }: HistogramInput): Record<string, unknown> {
  const rows = deltas.map((d) => ({ label: RATING_LABELS[d.rating], delta: d.delta }));
  const lo = Math.min(0, ...deltas.map((d) => d.delta));
  const hi = Math.max(0, ...deltas.map((d) => d.delta), ...RATINGS.map((r) => margins[r]));
  const marginRows = RATINGS.map((r) => ({ label: RATING_LABELS[r], margin: margins[r] }));
  return {
    width,
    height: 40 + RATINGS.length * 80,
    style: FONT,
    marginLeft: 48,
    marginRight: 24,
    x: { domain: [lo, hi], nice: true, label: 'Δ on held-out pairs (right of 0: ranked correctly) →' },
    y: { label: '↑ pairs', grid: true, ticks: 3 },
    fy: { domain: ratingDomain, label: null, axis: null },
    color: ratingColour(colours),
    marks: [
      // Plot's types do not infer the mark options through binX here; these are RectY options.
      Plot.rectY(rows, Plot.binX({ y: 'count' }, { x: 'delta', fill: 'label', fy: 'label', thresholds: 24, inset: 0.5 } as Record<string, unknown>)),
      Plot.ruleX([0], { stroke: 'currentColor' }),
      Plot.ruleX(marginRows, { x: 'margin', fy: 'label', stroke: 'currentColor', strokeDasharray: '4 3' }),
      Plot.ruleY([0]),
      panelTitles(Plot, ratingDomain),
    ],
  };
}
