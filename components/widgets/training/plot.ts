/**
 * Observable Plot for the training widgets, drawn the way the site's paper charts are
 * (src/site/chart-client.ts): Plot is loaded on first use, colours come from the page's CSS
 * variables, and a chart redraws when its box changes width or the colour theme switches.
 */
import { useEffect, useState } from 'preact/hooks';
import type { RefObject } from 'preact';

export type PlotModule = typeof import('@observablehq/plot');

let plotModule: Promise<PlotModule> | null = null;
export const loadPlot = (): Promise<PlotModule> => (plotModule ??= import('@observablehq/plot'));

/** The site's chart palette (--chart-1…) and text colours, as the element sees them now. */
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
 * The width of `ref`'s box and a counter that changes with the colour theme: together, what a
 * chart's drawing effect depends on besides its data.
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
 * One image with one name for assistive technology: Plot labels inner groups, which axe does not
 * allow inside an image (the same fix as the paper charts').
 */
export function asImage(plot: Element, label: string): void {
  const svg = plot instanceof SVGSVGElement ? plot : plot.querySelector('svg');
  if (!svg) return;
  svg.setAttribute('role', 'img');
  svg.removeAttribute('aria-description');
  svg.setAttribute('aria-label', label);
  for (const el of svg.querySelectorAll('[aria-label], [aria-description], [aria-hidden]')) {
    el.removeAttribute('aria-label');
    el.removeAttribute('aria-description');
    el.removeAttribute('aria-hidden');
  }
}

/** Token counts on an axis: 4M, 250k, 512. */
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
export const formatTokens = (v: number): string => compact.format(v).replace('K', 'k');
