/**
 * Chapter 9's margin explorer: the binary ranking loss −log σ(Δ − m(r)) against the reward
 * difference Δ, for each preference rating, under Table 27's small and large margins. A slider
 * moves Δ; the table reads off each rating's loss and how hard it still pushes (dL/dΔ).
 */
import { useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import { rankingLoss, rankingLossSlope } from '../../src/train/reward/ranking-loss.ts';
import { RATING_LABELS, RATINGS } from '../../src/train/reward/ratings.ts';
import { DELTA_RANGE, lossChartOptions } from './reward/charts.ts';
import { marginVariants } from './reward/paper-margins.ts';
import { asImage, chartColours, loadPlot, useChartFrame } from './plot.ts';
import { messageOf } from '../../src/engine/errors.ts';
import './widget.css';
import './reward/reward.css';

const fmt = (x: number) => x.toFixed(3);

export default function RewardMargins() {
  const id = useId();
  const all = useMemo(() => marginVariants(), []);
  const [delta, setDelta] = useState(0);
  const [shown, setShown] = useState<string>('both');
  const variants = shown === 'both' ? all : all.filter((v) => v.id === shown);
  const canvas = useRef<HTMLDivElement>(null);
  const { width, theme } = useChartFrame(canvas);
  const [chartError, setChartError] = useState<string | null>(null);

  useEffect(() => {
    const el = canvas.current;
    if (!el || width <= 0) return;
    let live = true;
    loadPlot()
      .then((Plot) => {
        if (!live) return;
        const plot = Plot.plot(lossChartOptions(Plot, { variants, delta, width, colours: chartColours(el).series }));
        asImage(
          plot,
          `Ranking loss against the reward difference for each rating, ${variants.map((v) => v.label).join(' and ')}; Δ = ${delta.toFixed(1)} marked. The table below gives the values.`,
        );
        el.replaceChildren(plot);
        el.dataset.state = 'drawn';
        setChartError(null);
      })
      .catch((e) => live && setChartError(messageOf(e)));
    return () => {
      live = false;
    };
  }, [width, delta, shown, theme]);

  return (
    <section class="widget widget-plain" aria-label="Ranking loss with margins" data-testid="reward-margins">
      <div class="rw-controls">
        <div class="rw-slider">
          <label for={`${id}-delta`}>
            Reward difference Δ = r(chosen) − r(rejected): <output data-testid="rm-delta-value">{delta.toFixed(1)}</output>
          </label>
          <input
            id={`${id}-delta`}
            data-testid="rm-delta"
            type="range"
            min={DELTA_RANGE.from}
            max={DELTA_RANGE.to}
            step={0.1}
            value={delta}
            onInput={(e) => setDelta(Number(e.currentTarget.value))}
          />
        </div>
        <fieldset class="rw-choice">
          <legend>Margins (Table 27)</legend>
          {[{ id: 'both', label: 'Both' }, ...all].map((v) => (
            <label key={v.id}>
              <input type="radio" name={`${id}-variant`} value={v.id} checked={shown === v.id} data-testid={`rm-show-${v.id}`} onChange={() => setShown(v.id)} />{' '}
              {v.label}
            </label>
          ))}
        </fieldset>
      </div>

      <div class="rw-chart" ref={canvas} data-testid="rm-chart" />
      {chartError && <p class="rw-error" role="alert">The chart could not be drawn ({chartError}); the table has the numbers.</p>}

      <p class="rw-note">The slope dL/dΔ = −σ(m − Δ) says how hard training still pushes the gap wider; m is the rating's margin.</p>
      <div class="rw-table-wrap" role="region" aria-label="Loss and slope per rating" tabIndex={0}>
        <table class="rw-table" data-testid="rm-readout">
          <caption>Loss and slope at Δ = {delta.toFixed(1)}</caption>
          <thead>
            <tr>
              <th scope="col">Rating</th>
              {variants.map((v) => (
                <th scope="col" key={v.id} colSpan={3}>
                  {v.label}
                </th>
              ))}
            </tr>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Rating</span>
              </th>
              {variants.map((v) => [
                <th scope="col" key={`${v.id}-m`}>m</th>,
                <th scope="col" key={`${v.id}-l`}>loss</th>,
                <th scope="col" key={`${v.id}-s`}>slope</th>,
              ])}
            </tr>
          </thead>
          <tbody>
            {RATINGS.map((r) => (
              <tr key={r} data-testid="rm-row" data-rating={r}>
                <th scope="row">{RATING_LABELS[r]}</th>
                {variants.map((v) => {
                  const loss = rankingLoss(delta, v.margins[r]);
                  const slope = rankingLossSlope(delta, v.margins[r]);
                  return [
                    <td key={`${v.id}-m`}>{v.printed[r]}</td>,
                    <td key={`${v.id}-l`} data-testid="rm-loss" data-variant={v.id} data-value={String(loss)}>
                      {fmt(loss)}
                    </td>,
                    <td key={`${v.id}-s`} data-testid="rm-slope" data-variant={v.id} data-value={String(slope)}>
                      {fmt(slope)}
                    </td>,
                  ];
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
