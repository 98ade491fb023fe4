/**
 * An Observable Plot chart inside a Preact island (see ../plot.ts): it redraws when its width,
 * its data or the colour theme changes.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { asImage, chartColours, loadPlot, useChartFrame, type PlotModule } from '../plot.ts';
import { messageOf } from '../../../src/engine/errors.ts';

export type BuildPlot = (Plot: PlotModule, width: number, colours: string[]) => Record<string, unknown>;

export function PlotChart({ build, label, dataKey, testId }: { build: BuildPlot; label: string; dataKey: string; testId?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const { width, theme } = useChartFrame(host);

  useEffect(() => {
    const el = host.current;
    if (!el || width <= 0) return;
    let live = true;
    loadPlot()
      .then((Plot) => {
        if (!live) return;
        const plot = Plot.plot(build(Plot, width, chartColours(el).series));
        asImage(plot, label);
        const legend = plot.legend('color', { swatchSize: 12 });
        el.replaceChildren(...(legend ? [legend] : []), plot);
        el.dataset.state = 'drawn';
        setError(null);
      })
      .catch((e) => live && setError(messageOf(e)));
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
