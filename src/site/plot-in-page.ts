/**
 * Observable Plot in the page, shared by the paper charts (chart-client.ts) and the widgets'
 * charts (components/widgets/plot.ts): Plot is loaded once, on first use (not in a page's first
 * bundle); colours come from the theme's CSS variables; a chart is one labelled image.
 */
export type PlotModule = typeof import('@observablehq/plot');

let plotModule: Promise<PlotModule> | null = null;
export const loadPlot = (): Promise<PlotModule> => (plotModule ??= import('@observablehq/plot'));

/** The site's chart palette (--chart-1…) and muted text colour, as the element sees them now. */
export function chartColours(el: Element): { series: string[]; muted: string } {
  const style = getComputedStyle(el);
  const series: string[] = [];
  for (let i = 1; i <= 8; i++) {
    const c = style.getPropertyValue(`--chart-${i}`).trim();
    if (c) series.push(c);
  }
  return { series: series.length ? series : ['currentColor'], muted: style.getPropertyValue('--muted').trim() || 'currentColor' };
}

/**
 * Plot's chart as one labelled image: the main SVG (beside a legend when there is one) gets the
 * label; Plot's labels on inner groups are not allowed inside an image (axe), and the legend's
 * swatch SVGs only repeat the legend's text.
 */
export function asImage(node: Element, label: string): void {
  const svg = node instanceof SVGSVGElement ? node : node.querySelector(':scope > svg');
  for (const el of node.querySelectorAll('[aria-label], [aria-description], [aria-hidden]')) {
    el.removeAttribute('aria-label');
    el.removeAttribute('aria-description');
    el.removeAttribute('aria-hidden');
  }
  for (const swatch of node.querySelectorAll('svg')) if (swatch !== svg) swatch.setAttribute('aria-hidden', 'true');
  if (!svg) return;
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.removeAttribute('aria-description');
}
