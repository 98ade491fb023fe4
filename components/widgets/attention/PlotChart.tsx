/**
 * An Observable Plot chart inside a Preact island: Plot is imported on first draw (not in the
 * page's first bundle), the chart redraws when its width, its data or the colour theme changes,
 * and its colours come from the theme's --chart-N variables, as the paper charts' do
 * (src/site/chart-client.ts).
 */
import { useEffect, useRef, useState } from 'preact/hooks';

type Plot = typeof import('@observablehq/plot');
let plotModule: Promise<Plot> | null = null;
const loadPlot = (): Promise<Plot> => (plotModule ??= import('@observablehq/plot'));

export type BuildPlot = (Plot: Plot, width: number, colours: string[]) => Record<string, unknown>;

function palette(el: Element): string[] {
  const style = getComputedStyle(el);
  const colours: string[] = [];
  for (let i = 1; i <= 8; i++) {
    const c = style.getPropertyValue(`--chart-${i}`).trim();
    if (c) colours.push(c);
  }
  return colours.length ? colours : ['currentColor'];
}

/** Bumps whenever the theme switches (the toggle's data-theme, or the OS setting). */
function useThemeVersion(): number {
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

export function PlotChart({ build, label, dataKey, testId }: { build: BuildPlot; label: string; dataKey: string; testId?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const theme = useThemeVersion();

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry.contentRect.width)));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const el = host.current;
    if (!el || width <= 0) return;
    let live = true;
    loadPlot()
      .then((Plot) => {
        if (!live) return;
        const plot = Plot.plot(build(Plot, width, palette(el)));
        const svg = plot instanceof SVGSVGElement ? plot : plot.querySelector('svg');
        if (svg) {
          // One image with one label (Plot's labels on inner groups are not allowed on an image's parts).
          svg.setAttribute('role', 'img');
          svg.setAttribute('aria-label', label);
          for (const part of svg.querySelectorAll('[aria-label], [aria-description], [aria-hidden]')) {
            part.removeAttribute('aria-label');
            part.removeAttribute('aria-description');
            part.removeAttribute('aria-hidden');
          }
        }
        const legend = plot.legend('color', { swatchSize: 12 });
        el.replaceChildren(...(legend ? [legend] : []), plot);
        el.dataset.state = 'drawn';
        setError(null);
      })
      .catch((e) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [width, dataKey, theme]);

  return (
    <div class="attn-chart" data-testid={testId}>
      <div ref={host} class="attn-chart-canvas" />
      {error && <p class="attn-error">The chart could not be drawn ({error}); the table has its numbers.</p>}
    </div>
  );
}
