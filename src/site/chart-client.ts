/**
 * Draws the <PaperChart> figures of a page with Observable Plot: each figure carries its
 * ChartModel as JSON; Plot is loaded (once) when the first chart comes near the viewport. Charts
 * redraw when their width changes or the colour theme switches (colours come from CSS variables).
 */
import type { ChartAxis, ChartModel } from './chart-data.ts';
import { asImage, chartColours, loadPlot, type PlotModule as Plot } from './plot-in-page.ts';
import { messageOf } from '../engine/errors.ts';

const SELECTOR = 'figure[data-testid="paper-chart"]';
const FONT_PX = 12;
const CHAR_PX = 7.4; // average label character width at FONT_PX (system-ui, generous)

interface Chart {
  figure: HTMLElement;
  canvas: HTMLElement;
  model: ChartModel;
  width: number;
}
const drawn: Chart[] = [];

/**
 * Tick labels: compact for big values (70B, 2T, 1.4M, the source's own style); plain decimals on
 * log axes (0.01, not d3's SI "10m"); Plot's default otherwise.
 */
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
function tickFormat(model: ChartModel, on: 'x' | 'y'): ((v: number) => string) | string | undefined {
  const values = model.points.map((p) => p[on]).filter((v): v is number => typeof v === 'number');
  const max = Math.max(...values.map(Math.abs));
  if (max >= 1e5) return (v: number) => compact.format(v).replace('K', 'k');
  return model[on].scale === 'log' ? '~g' : undefined;
}

function longest(values: readonly string[] | undefined): number {
  return Math.max(0, ...(values ?? []).map((v) => v.length));
}

function axisScale(axis: ChartAxis, mark: ChartModel['mark'], grid: boolean, format?: ((v: number) => string) | string): Record<string, unknown> {
  if (axis.kind === 'number') return { type: axis.scale ?? 'linear', label: axis.label, grid, nice: true, ...(format ? { tickFormat: format } : {}) };
  return { type: mark === 'bar' ? 'band' : 'point', domain: axis.domain, label: axis.label, ...(mark === 'bar' ? {} : { padding: 0.5 }) };
}

/**
 * Vertical bars whose category labels would not fit side by side (phones, long names) are drawn
 * as horizontal bars instead: the same chart with x and y swapped.
 */
export function fitModel(model: ChartModel, width: number): ChartModel {
  if (model.mark !== 'bar' || model.valueAxis !== 'y') return model;
  const cats = model.x.domain!;
  const slot = (width - 60) / Math.max(1, cats.length);
  if (longest(cats) * CHAR_PX + 8 <= slot) return model;
  return { ...model, valueAxis: 'x', x: model.y, y: model.x, points: model.points.map((p) => ({ ...p, x: p.y, y: p.x })) };
}

/** The Plot options for one chart at one width. */
export function plotOptions(Plot: Plot, chart: ChartModel, width: number, colours: string[]): Record<string, unknown> {
  const model = fitModel(chart, width);
  const { points, fill, fy, mark, valueAxis, grouped } = model;
  const colour = fill ? 'fill' : colours[0];
  const marks: unknown[] = [];
  const tip = { tip: true, title: 'tip' } as const;
  const options: Record<string, unknown> = {
    width,
    style: { fontSize: `${FONT_PX}px`, fontFamily: 'inherit', overflow: 'visible' },
    marginTop: 20,
    marginRight: 24,
    marginBottom: 40,
    ariaLabel: model.title,
    ariaDescription: model.description,
  };
  if (fill) options.color = { type: 'ordinal', domain: fill.domain, range: fill.domain!.map((_, i) => colours[i % colours.length]) };

  const labelMargin = (chars: number) => Math.min(Math.round(width * 0.45), 16 + Math.ceil(chars * CHAR_PX));
  // In ems, as Plot measures; its glyph widths run a little narrow for system-ui, hence the 1.1.
  const lineWidth = (margin: number) => Math.max(4, (margin - 20) / (FONT_PX * 1.1));
  const facetY = fy ? { fy: { domain: fy.domain, label: fy.label } } : {};
  const slotDomain = Array.from({ length: model.slots }, (_, i) => i);

  if (mark === 'bar' && valueAxis === 'x') {
    // Horizontal bars: categories down the left; grouped bars get one band per category (fy).
    const cats = model.y.domain!;
    const margin = labelMargin(longest(cats));
    options.marginLeft = margin;
    options.x = { ...axisScale(model.x, mark, true, tickFormat(model, 'x')), label: `${model.x.label} →` };
    if (grouped) {
      options.y = { type: 'band', domain: slotDomain, axis: null };
      options.fy = { domain: cats, label: null, padding: 0.15 };
      marks.push(Plot.axisFy({ anchor: 'left', label: null, lineWidth: lineWidth(margin), textOverflow: 'ellipsis', tickSize: 0 }));
      marks.push(Plot.barX(points, { x: 'x', y: 'slot', fy: 'y', fill: 'fill', ...tip }));
    } else {
      options.y = { type: 'band', domain: cats, label: null };
      Object.assign(options, facetY);
      marks.push(Plot.axisY({ label: null, lineWidth: lineWidth(margin), textOverflow: 'ellipsis', tickSize: 0 }));
      marks.push(Plot.barX(points, { x: 'x', y: 'y', fill: colour, ...(fy ? { fy: 'fy' } : {}), ...tip }));
    }
    marks.push(Plot.ruleX([0]));
  } else if (mark === 'bar') {
    // Vertical bars (their labels fit, see fitModel): categories along the bottom.
    const cats = model.x.domain!;
    options.marginLeft = 56;
    options.y = { ...axisScale(model.y, mark, true, tickFormat(model, 'y')), label: `↑ ${model.y.label}` };
    if (grouped) {
      options.x = { type: 'band', domain: slotDomain, axis: null };
      options.fx = { domain: cats, label: model.x.label, padding: 0.15 };
      marks.push(Plot.barY(points, { x: 'slot', fx: 'x', y: 'y', fill: 'fill', ...tip }));
    } else {
      options.x = { type: 'band', domain: cats, label: model.x.label };
      Object.assign(options, facetY);
      marks.push(Plot.barY(points, { x: 'x', y: 'y', fill: colour, ...(fy ? { fy: 'fy' } : {}), ...tip }));
    }
    marks.push(Plot.ruleY([0]));
  } else {
    // Dots and lines: any mix of numeric and category axes.
    const yCats = model.y.kind === 'category' ? model.y.domain : undefined;
    const margin = yCats ? labelMargin(longest(yCats)) : 56;
    options.marginLeft = margin;
    options.x = axisScale(model.x, mark, model.x.kind === 'number', tickFormat(model, 'x'));
    options.y = axisScale(model.y, mark, model.y.kind === 'number', tickFormat(model, 'y'));
    if (yCats) marks.push(Plot.axisY({ label: null, lineWidth: lineWidth(margin), textOverflow: 'ellipsis', tickSize: 0 }));
    Object.assign(options, facetY);
    const facet = fy ? { fy: 'fy' } : {};
    if (mark === 'line') {
      marks.push(Plot.line(points, { x: 'x', y: 'y', stroke: colour, ...(fill ? { z: 'fill' } : {}), strokeWidth: 2, ...facet }));
    }
    marks.push(Plot.dot(points, { x: 'x', y: 'y', fill: colour, r: 4.5, ...facet, ...tip }));
  }
  options.marks = marks;
  return options;
}

async function draw(chart: Chart): Promise<void> {
  const { figure, canvas, model } = chart;
  const width = Math.floor(canvas.clientWidth);
  if (width <= 0) return;
  const Plot = await loadPlot();
  chart.width = width;
  const plot = Plot.plot(plotOptions(Plot, model, width, chartColours(figure).series));
  // The description joins the label: aria-description is not widely supported.
  asImage(plot, `${model.title}. ${model.description}`);
  const parts: Element[] = [];
  if (model.fill) {
    const legend = plot.legend('color', { label: model.fill.label, swatchSize: 12 });
    if (legend) {
      legend.classList.add('chart-legend');
      parts.push(legend);
    }
  }
  parts.push(plot);
  canvas.replaceChildren(...parts);
  figure.dataset.state = 'drawn';
}

function fail(chart: Chart, e: unknown): void {
  chart.figure.dataset.state = 'error';
  const p = document.createElement('p');
  p.className = 'chart-error';
  p.textContent = `The chart could not be drawn (${messageOf(e)}); its numbers are in ${chart.model.tableName}.`;
  chart.canvas.replaceChildren(p);
}

function redrawAll(): void {
  for (const chart of drawn) void draw(chart).catch((e) => fail(chart, e));
}

let started = false;

/** Finds the page's charts and draws each when it first comes near the viewport. */
export function initCharts(): void {
  const figures = [...document.querySelectorAll<HTMLElement>(SELECTOR)].filter((f) => f.dataset.state === 'waiting');
  if (figures.length === 0) return;
  const charts = new Map<Element, Chart>();
  for (const figure of figures) {
    const data = figure.querySelector('script[type="application/json"]');
    const canvas = figure.querySelector<HTMLElement>('.chart-canvas');
    if (!data?.textContent || !canvas) continue;
    figure.dataset.state = 'pending';
    charts.set(figure, { figure, canvas, model: JSON.parse(data.textContent) as ChartModel, width: 0 });
  }

  const resize = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const chart = drawn.find((c) => c.canvas === entry.target);
      if (chart && Math.abs(Math.floor(entry.contentRect.width) - chart.width) > 1) void draw(chart).catch((e) => fail(chart, e));
    }
  });
  const seen = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        seen.unobserve(entry.target);
        const chart = charts.get(entry.target);
        if (!chart) continue;
        drawn.push(chart);
        draw(chart)
          .then(() => resize.observe(chart.canvas))
          .catch((e) => fail(chart, e));
      }
    },
    { rootMargin: '300px 0px' },
  );
  for (const figure of charts.keys()) seen.observe(figure);

  if (!started) {
    started = true;
    // Colours follow the theme: the toggle sets <html data-theme>, the OS setting applies otherwise.
    new MutationObserver(redrawAll).observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', redrawAll);
  }
}
