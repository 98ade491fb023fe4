/**
 * The score of the chosen query and key against their distance, with Observable Plot: the
 * trained offsets (0..seqLen − 1) shaded, the range of scores seen there as two dashed rules
 * across the whole axis, and the scores past the context that leave that range marked. Colours
 * come from the theme's CSS variables; the chart redraws on resize and on a theme change.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { BeyondContext } from '../../../src/explorers/rope/distance.ts';
import { loadPlot } from '../plot.ts';
import { messageOf } from '../../../src/engine/errors.ts';

interface Props {
  curve: Float64Array;
  seqLen: number;
  beyond: BeyondContext;
  /** The distance m − n of the current selection, marked on the curve (if within it). */
  current: number;
  label: string;
}

function colours(el: Element) {
  const style = getComputedStyle(el);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return { line: v('--chart-1', 'currentColor'), outside: v('--chart-2', 'currentColor'), fg: v('--fg', 'currentColor'), muted: v('--muted', 'gray') };
}

export function DistancePlot({ curve, seqLen, beyond, current, label }: Props) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let live = true;
    let width = 0;
    const draw = async () => {
      const w = Math.floor(el.clientWidth);
      if (w <= 0) return;
      const Plot = await loadPlot();
      if (!live) return;
      width = w;
      const c = colours(el);
      const points = Array.from(curve, (score, d) => ({ d, score }));
      const outside = points.filter((p) => p.d >= seqLen && (p.score > beyond.trainedMax || p.score < beyond.trainedMin));
      const here = current >= 0 && current < curve.length ? [{ d: current, score: curve[current] }] : [];
      const plot = Plot.plot({
        width: w,
        height: 260,
        marginLeft: 52,
        marginRight: 16,
        style: { fontSize: '12px', fontFamily: 'inherit', overflow: 'visible' },
        x: { label: 'distance m − n (positions) →', domain: [0, curve.length - 1] },
        y: { label: '↑ score', grid: true, nice: true },
        marks: [
          Plot.rectY([{ x1: 0, x2: seqLen - 1 }], { x1: 'x1', x2: 'x2', y1: beyond.trainedMin, y2: beyond.trainedMax, fill: c.muted, fillOpacity: 0.15 }),
          Plot.ruleY([beyond.trainedMin, beyond.trainedMax], { stroke: c.muted, strokeDasharray: '4 3' }),
          Plot.ruleX([seqLen], { stroke: c.fg, strokeWidth: 1.5 }),
          Plot.text([{ d: seqLen }], { x: 'd', frameAnchor: 'top', text: () => ' context length', textAnchor: 'start', fill: c.fg, dy: 2 }),
          Plot.line(points, { x: 'd', y: 'score', stroke: c.line, strokeWidth: 1.25 }),
          Plot.dot(outside, { x: 'd', y: 'score', fill: c.outside, r: 1.8 }),
          Plot.dot(here, { x: 'd', y: 'score', stroke: c.fg, fill: c.line, r: 5 }),
        ],
      });
      plot.setAttribute('role', 'img');
      plot.setAttribute('aria-label', label);
      for (const inner of plot.querySelectorAll('[aria-label], [aria-description], [aria-hidden]')) {
        inner.removeAttribute('aria-label');
        inner.removeAttribute('aria-description');
        inner.removeAttribute('aria-hidden');
      }
      el.replaceChildren(plot);
      el.dataset.state = 'drawn';
    };
    const redraw = () => void draw().catch((e) => {
      el.dataset.state = 'error';
      el.textContent = `The chart could not be drawn (${messageOf(e)}); the numbers are in the text below it.`;
    });
    redraw();
    const resize = new ResizeObserver(() => {
      if (Math.abs(Math.floor(el.clientWidth) - width) > 1) redraw();
    });
    resize.observe(el);
    const theme = new MutationObserver(redraw);
    theme.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    const scheme = matchMedia('(prefers-color-scheme: dark)');
    scheme.addEventListener('change', redraw);
    return () => {
      live = false;
      resize.disconnect();
      theme.disconnect();
      scheme.removeEventListener('change', redraw);
    };
  }, [curve, seqLen, beyond, current, label]);
  return <div class="rope-plot" ref={box} data-testid="rope-plot" data-state="waiting" />;
}
