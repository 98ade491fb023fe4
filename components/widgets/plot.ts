/**
 * Observable Plot inside the Preact widgets, drawn the way the site's paper charts are
 * (src/site/plot-in-page.ts), and redrawn when a chart's box changes width or the colour theme
 * switches (useChartFrame).
 */
import type { RefObject } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export { asImage, chartColours, loadPlot, type PlotModule } from '../../src/site/plot-in-page.ts';

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
