/**
 * Observable Plot inside the Preact widgets, drawn the way the site's paper charts are
 * (src/site/chart-client.ts): Plot is loaded once on first use, colours come from the page's CSS
 * variables (--chart-N, --muted), and a chart redraws when its box changes width or the colour
 * theme switches.
 */
import type { RefObject } from 'preact';
import { useEffect, useState } from 'preact/hooks';

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
 * The width of `ref`'s box and a counter that changes with the colour theme (the toggle's
 * <html data-theme>, or the OS setting): together, what a chart's drawing effect depends on
 * besides its data.
 */
export function useChartFrame(ref: RefObject<HTMLElement>): { width: number; theme: number } {
  const [width, setWidth] = useState(0);
  const [theme, setTheme] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(Math.floor(el.clientWidth));
    const resize = new ResizeObserver(([entry]) => {
      const w = Math.floor(entry.contentRect.width);
      setWidth((old) => (Math.abs(old - w) > 1 ? w : old));
    });
    resize.observe(el);
    const bump = () => setTheme((t) => t + 1);
    const themeAttr = new MutationObserver(bump);
    themeAttr.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    const media = matchMedia('(prefers-color-scheme: dark)');
    media.addEventListener('change', bump);
    return () => {
      resize.disconnect();
      themeAttr.disconnect();
      media.removeEventListener('change', bump);
    };
  }, [ref]);
  return { width, theme };
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
