/**
 * Chapter 5: the embedded model's real training run, from its log
 * (public/models/default/training-log.json, fetched when the widget is first seen). Training and
 * validation loss against tokens seen, the learning-rate schedule under it on the same x axis,
 * a token range to zoom into, and the exact values of the nearest point on hover.
 */
import { useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import type { LogEntry } from '../../src/train/trainer.ts';
import type { TrainingLog } from '../../src/train/training-log.ts';
import { formatCount } from '../../src/client/format.ts';
import { lossPlot, type Curve } from './training/loss-plot.ts';
import { asImage, chartColours, loadPlot, useChartFrame } from './plot.ts';
import { formatTokens } from './training/loss-plot.ts';
import { formatLoss } from './training/run-summary.ts';
import { describeRun, fetchTrainingLog, TRAINING_LOG_PATH } from './training/training-log.ts';
import { messageOf } from '../../src/engine/errors.ts';
import './widget.css';
import './training/training.css';

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; log: TrainingLog };

const formatLr = (v: number): string => v.toExponential(2);

export default function LossCurves() {
  const id = useId();
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  /** The zoomed range, as indices into the log's entries (inclusive). */
  const [range, setRange] = useState<[number, number] | null>(null);
  const [drawn, setDrawn] = useState(false);
  const lossRef = useRef<HTMLDivElement>(null);
  const lrRef = useRef<HTMLDivElement>(null);
  const frame = useChartFrame(lossRef);

  useEffect(() => {
    let live = true;
    fetchTrainingLog().then(
      (log) => live && setLoad({ state: 'ready', log }),
      (e: unknown) => live && setLoad({ state: 'error', message: messageOf(e) }),
    );
    return () => {
      live = false;
    };
  }, []);

  const entries = load.state === 'ready' ? load.log.entries : [];
  const [from, to] = range ?? [0, Math.max(0, entries.length - 1)];
  const inView = useMemo(() => entries.slice(from, to + 1), [entries, from, to]);

  useEffect(() => {
    if (load.state !== 'ready' || frame.width <= 0 || !lossRef.current || !lrRef.current || inView.length === 0) return;
    let live = true;
    void loadPlot().then((Plot) => {
      if (!live || !lossRef.current || !lrRef.current) return;
      const { series } = chartColours(lossRef.current);
      const xDomain: [number, number] = [inView[0].tokensSeen, Math.max(inView[inView.length - 1].tokensSeen, inView[0].tokensSeen + 1)];
      const train: Curve = {
        key: 'train',
        label: 'training loss',
        mark: 'line',
        colour: series[0],
        points: inView.map((e) => ({ tokens: e.tokensSeen, value: e.trainLoss, step: e.step })),
        describe: (p) => `training loss ${formatLoss(p.value)}`,
      };
      const val: Curve = {
        key: 'val',
        label: 'validation loss',
        mark: 'dots',
        colour: series[1 % series.length],
        points: inView.filter((e) => e.valLoss !== undefined).map((e) => ({ tokens: e.tokensSeen, value: e.valLoss!, step: e.step })),
        describe: (p) => `validation loss ${formatLoss(p.value)}`,
      };
      const lr: Curve = {
        key: 'lr',
        label: 'learning rate',
        mark: 'line',
        colour: series[2 % series.length],
        points: inView.map((e) => ({ tokens: e.tokensSeen, value: e.lr, step: e.step })),
        describe: (p) => `learning rate ${formatLr(p.value)}`,
      };
      const width = frame.width;
      const lossSvg = lossPlot(Plot, { curves: [train, val], width, height: Math.round(Math.min(360, Math.max(220, width * 0.5))), xDomain, yLabel: 'loss (nats per token)' });
      const lrSvg = lossPlot(Plot, { curves: [lr], width, height: 150, xDomain, yLabel: 'learning rate', yFromZero: true, yTickFormat: '.1e' });
      const span = `${formatTokens(xDomain[0])} to ${formatTokens(xDomain[1])} tokens`;
      asImage(lossSvg, `Training loss (line) and validation loss (dots) of the embedded model against tokens seen, ${span}.`);
      asImage(lrSvg, `The learning rate of the same run against tokens seen, ${span}: linear warmup, then cosine decay.`);
      lossRef.current.replaceChildren(lossSvg);
      lrRef.current.replaceChildren(lrSvg);
      setDrawn(true);
    });
    return () => {
      live = false;
    };
  }, [load, inView, frame.width, frame.theme]);

  const state = load.state === 'ready' ? (drawn ? 'drawn' : 'ready') : load.state;
  const log = load.state === 'ready' ? load.log : null;
  const max = entries.length - 1;
  const setFrom = (i: number) => setRange([Math.max(0, Math.min(i, to - 1)), to]);
  const setTo = (i: number) => setRange([from, Math.min(max, Math.max(i, from + 1))]);
  const valueText = (i: number) => (entries[i] ? `${formatCount(entries[i].tokensSeen)} tokens (step ${entries[i].step})` : '');

  // One tree in every state: the chart boxes stay mounted, so their width is known when the log arrives.
  return (
    <section class="widget widget-plain loss-curves tr-box" data-testid="loss-curves" data-state={state} aria-labelledby={`${id}-title`}>
      <figure class="tr-figure">
        <figcaption>
          <strong id={`${id}-title`} class="tr-title">
            The embedded model’s pretraining run
          </strong>
          {log ? <RunCaption log={log} /> : <span class="tr-muted">Fetching the training log ({TRAINING_LOG_PATH})…</span>}
        </figcaption>
        {load.state === 'error' && (
          <p class="tr-error" role="alert" data-testid="loss-curves-error">
            The loss curves cannot be drawn: {load.message}
          </p>
        )}
        {log && (
          <ul class="tr-legend" aria-label="Legend">
            <li>
              <span class="tr-swatch tr-swatch-1" aria-hidden="true" /> training loss (each step’s batch)
            </li>
            <li>
              <span class="tr-swatch tr-swatch-2 tr-swatch-dot" aria-hidden="true" /> validation loss (held-out stories, every {log.options.evalEvery} steps)
            </li>
            <li>
              <span class="tr-swatch tr-swatch-3" aria-hidden="true" /> learning rate (lower chart)
            </li>
          </ul>
        )}
        <div ref={lossRef} class="tr-chart" data-testid="loss-chart" />
        <div ref={lrRef} class="tr-chart tr-chart-lr" data-testid="lr-chart" />
      </figure>

      {log && (
        <>
          <fieldset class="tr-zoom">
            <legend>Zoom: the range of tokens shown</legend>
            <div>
              <label for={`${id}-from`}>From</label>
              <input
                id={`${id}-from`}
                type="range"
                min={0}
                max={max}
                step={1}
                value={from}
                aria-valuetext={valueText(from)}
                data-testid="loss-zoom-from"
                onInput={(e) => setFrom(Number(e.currentTarget.value))}
              />
              <output for={`${id}-from`}>{valueText(from)}</output>
            </div>
            <div>
              <label for={`${id}-to`}>To</label>
              <input
                id={`${id}-to`}
                type="range"
                min={0}
                max={max}
                step={1}
                value={to}
                aria-valuetext={valueText(to)}
                data-testid="loss-zoom-to"
                onInput={(e) => setTo(Number(e.currentTarget.value))}
              />
              <output for={`${id}-to`}>{valueText(to)}</output>
            </div>
            <button type="button" data-testid="loss-zoom-reset" disabled={range === null} onClick={() => setRange(null)}>
              Show the whole run
            </button>
          </fieldset>
          <Readout entries={inView} />
          <RunCommands log={log} />
          <p class="tr-muted tr-hint">Hover over or tap a chart to read the exact values of the nearest point.</p>
        </>
      )}
    </section>
  );
}

function RunCaption({ log }: { log: TrainingLog }) {
  const run = describeRun(log);
  const c = log.config;
  return (
    <span class="tr-muted" data-testid="loss-curves-source">
      {' '}
      Source: <code>{TRAINING_LOG_PATH}</code>, the log the project’s trainer wrote: {formatCount(run.steps)} steps, {formatCount(run.tokens)} tokens seen in
      batches of {log.options.batchSize} windows of {c.seqLen} tokens, a {c.dim}-wide, {c.nLayers}-layer model with a {formatCount(c.vocabSize)}-token
      vocabulary, trained on the {run.backend} backend on {run.machine}
      {log.continuedFrom ? `, in two runs: the second continued from the first one's weights after step ${formatCount(log.continuedFrom.steps)}` : ''}.
    </span>
  );
}

/** The exact commands, in order: a resumed run lists each session (and any change of plan). */
function RunCommands({ log }: { log: TrainingLog }) {
  if (!log.commands?.length) return null;
  return (
    <details class="tr-commands" data-testid="loss-curves-commands">
      <summary>
        The {log.commands.length === 1 ? 'command' : `${log.commands.length} commands`} that trained it
      </summary>
      <ol>
        {log.commands.map((c, i) => (
          <li key={i}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
    </details>
  );
}

/** The values at the right edge of the view: for a reader, and for the test against the log. */
function Readout({ entries }: { entries: LogEntry[] }) {
  const last = entries[entries.length - 1];
  if (!last) return null;
  const lastVal = [...entries].reverse().find((e) => e.valLoss !== undefined);
  return (
    <p class="tr-readout" data-testid="loss-readout" aria-live="polite">
      At the right edge, step <span data-testid="loss-last-step">{last.step}</span> ({formatCount(last.tokensSeen)} tokens): training loss{' '}
      <span data-testid="loss-last-train">{formatLoss(last.trainLoss)}</span>
      {lastVal && (
        <>
          , validation loss <span data-testid="loss-last-val">{formatLoss(lastVal.valLoss!)}</span> (step {lastVal.step})
        </>
      )}
      , learning rate {formatLr(last.lr)}.
    </p>
  );
}
