/**
 * Observable Plot inside Preact widgets: the module loaded once on demand, colours from the
 * page's CSS variables (--chart-N, as PaperChart uses), and a counter that changes when the
 * colour theme does, so charts redraw in the new colours.
 */
import { useEffect, useState } from 'preact/hooks';

export type Plot = typeof import('@observablehq/plot');

let plotModule: Promise<Plot> | null = null;
export const loadPlot = (): Promise<Plot> => (plotModule ??= import('@observablehq/plot'));

export function chartColours(el: Element, count: number): string[] {
  const style = getComputedStyle(el);
  return Array.from({ length: count }, (_, i) => style.getPropertyValue(`--chart-${i + 1}`).trim() || 'currentColor');
}

/** Bumps on a theme switch (the toggle's <html data-theme>, or the OS setting). */
export function useThemeVersion(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const bump = () => setVersion((v) => v + 1);
    const observer = new MutationObserver(bump);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    const media = matchMedia('(prefers-color-scheme: dark)');
    media.addEventListener('change', bump);
    return () => {
      observer.disconnect();
      media.removeEventListener('change', bump);
    };
  }, []);
  return version;
}

/** Width of an element, kept up to date. */
export function useWidth(ref: { current: HTMLElement | null }): number {
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver((entries) => setWidth(Math.floor(entries[0].contentRect.width)));
    observer.observe(el);
    setWidth(Math.floor(el.clientWidth));
    return () => observer.disconnect();
  }, []);
  return width;
}

/**
 * Plot's chart as one labelled image: the main SVG (beside a legend when there is one) gets the
 * label; Plot's labels on inner groups are not allowed on an image's parts, and the legend's
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
