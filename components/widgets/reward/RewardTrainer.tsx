/**
 * Chapter 9's reward model, trained in the page: the loaded model's backbone (its classifier
 * removed) reads each story and each corrupted copy once, then a scalar head on the last token's
 * final-norm hidden state is trained with the margin ranking loss, in short chunks in the engine
 * worker (tasks reward-start / -encode / -steps / -eval), so the page and other widgets stay
 * responsive and Stop simply sends no more chunks. Accuracy per rating on held-out stories is
 * shown beside the paper's Table 8.
 */
import { useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import { getEngine, type EngineStatus } from '../../../src/client/engine-client.ts';
import { withBase } from '../../../src/site/paths.ts';
import type { Evaluation } from '../../../src/train/reward/reward-run.ts';
import { EDIT_SHARE } from '../../../src/train/reward/corrupt.ts';
import { RATING_LABELS, RATINGS } from '../../../src/train/reward/ratings.ts';
import type { RewardStartResult } from '../../../src/worker/tasks/reward-types.ts';
import { formatBytes } from '../calculator/format.ts';
import { histogramOptions } from './charts.ts';
import { table8Rows, trainingVariants } from './paper-margins.ts';
import { asImage, chartColours, loadPlot, useChartFrame } from '../plot.ts';
import { messageOf } from '../../../src/engine/errors.ts';
import { CountInput } from '../form/CountInput.tsx';
import '../widget.css';
import './reward.css';

export const STORIES_PATH = 'data/tinystories-valid-240.txt';
/** Texts per encode task: a few seconds of backbone work at most, so other requests wait little. */
const ENCODE_CHUNK = 16;
/** Head steps per task, each followed by an evaluation on the held-out pairs. */
const STEP_CHUNK = 25;
const DEFAULT_STEPS = 200;
const MAX_STEPS = 2000;

type Phase = 'idle' | 'starting' | 'encoding' | 'training' | 'stopped' | 'done';

const percent = (x: number) => `${(100 * x).toFixed(1)}`;

function engineLine(status: EngineStatus | null): string {
  if (!status || status.state === 'idle') return 'Starting the engine…';
  if (status.state === 'loading') {
    const p = status.progress;
    return p ? `Loading ${p.what}: ${formatBytes(p.loaded)}${p.total ? ` of ${formatBytes(p.total)}` : ''}…` : 'Loading the model…';
  }
  if (status.state === 'error' && !status.model) return `The model could not be loaded: ${status.error ?? 'unknown error'}`;
  return status.model ? `Backbone: ${status.model.name} (width ${status.model.config.dim}) on ${status.backend ?? 'an unknown backend'}.` : 'No model loaded.';
}

export default function RewardTrainer() {
  const id = useId();
  const variants = useMemo(() => trainingVariants(), []);
  const paperRows = useMemo(() => table8Rows(), []);
  const [status, setStatus] = useState<EngineStatus | null>(null);
  const [variantId, setVariantId] = useState('large');
  const [target, setTarget] = useState(String(DEFAULT_STEPS));
  const [phase, setPhase] = useState<Phase>('idle');
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<RewardStartResult | null>(null);
  const [encoded, setEncoded] = useState(0);
  const [step, setStep] = useState(0);
  const [trainLoss, setTrainLoss] = useState<number | null>(null);
  const [evaluation, setEvaluation] = useState<Evaluation | null>(null);
  /** The margins the worker's run uses (a change of choice takes effect on the next Train). */
  const [runVariant, setRunVariant] = useState<string | null>(null);
  const stopRequested = useRef(false);
  const running = useRef<{ stop(): void } | null>(null);
  const stories = useRef<string | null>(null);
  const canvas = useRef<HTMLDivElement>(null);
  const { width, theme } = useChartFrame(canvas);

  /** False in the server-rendered HTML: the buttons work only once the island has hydrated. */
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => {
    setHydrated(true);
    return getEngine().subscribe(setStatus);
  }, []);
  const modelKey = status?.model ? `${status.model.name}|${status.model.parameters}|${status.model.tokenizerName}` : null;
  // Another model: the worker's run no longer matches it; the next Train starts afresh.
  useEffect(() => {
    setRunVariant(null);
    setInfo(null);
    setEvaluation(null);
    setEncoded(0);
    setStep(0);
    setTrainLoss(null);
  }, [modelKey]);

  const steps = Number(target);
  const stepsValid = Number.isInteger(steps) && steps >= 1 && steps <= MAX_STEPS;
  const busy = phase === 'starting' || phase === 'encoding' || phase === 'training';
  const variant = variants.find((v) => v.id === variantId)!;
  const trainedWith = variants.find((v) => v.id === runVariant) ?? null;

  async function task<T>(handle: { result: Promise<T>; stop(): void }): Promise<T> {
    running.current = handle;
    try {
      return await handle.result;
    } finally {
      running.current = null;
    }
  }

  async function train(): Promise<void> {
    if (!stepsValid) return;
    const engine = getEngine();
    stopRequested.current = false;
    setError(null);
    try {
      let total = info?.texts ?? 0;
      let done = encoded;
      let at = step;
      if (runVariant !== variantId || !info) {
        setPhase('starting');
        await engine.ensureLoaded();
        if (stories.current === null) {
          const res = await fetch(withBase(STORIES_PATH));
          if (!res.ok) throw new Error(`The stories could not be fetched (${res.status} ${res.statusText}).`);
          stories.current = await res.text();
        }
        const started = await task(engine.task('reward-start', { stories: stories.current, margins: variant.margins }));
        setInfo(started);
        setRunVariant(variantId);
        setEvaluation(null);
        setTrainLoss(null);
        total = started.texts;
        done = started.encoded;
        at = 0;
        setEncoded(done);
        setStep(0);
      }
      if (done < total) setPhase('encoding');
      while (done < total && !stopRequested.current) {
        const r = await task(engine.task('reward-encode', { count: ENCODE_CHUNK }, (p) => setEncoded(p.encoded)));
        done = r.encoded;
        setEncoded(done);
      }
      if (done === total && at === 0 && !stopRequested.current) setEvaluation(await task(engine.task('reward-eval', {})));
      if (done === total) setPhase('training');
      while (done === total && at < steps && !stopRequested.current) {
        const r = await task(engine.task('reward-steps', { steps: Math.min(STEP_CHUNK, steps - at) }));
        at = r.step;
        setStep(at);
        setTrainLoss(r.log.reduce((a, l) => a + l.loss, 0) / r.log.length);
        setEvaluation(await task(engine.task('reward-eval', {})));
      }
      setPhase(done === total && at >= steps ? 'done' : 'stopped');
    } catch (e) {
      setError(messageOf(e));
      setPhase('stopped');
    }
  }

  function stop(): void {
    stopRequested.current = true;
    running.current?.stop();
  }

  function startOver(): void {
    setRunVariant(null); // the next Train calls reward-start: a fresh head, the features kept
    setStep(0);
    setEvaluation(null);
    setTrainLoss(null);
    setPhase('idle');
  }

  useEffect(() => {
    const el = canvas.current;
    if (!el || width <= 0 || !evaluation || !trainedWith) return;
    let live = true;
    loadPlot()
      .then((Plot) => {
        if (!live) return;
        const plot = Plot.plot(histogramOptions(Plot, { deltas: evaluation.deltas, margins: { ...trainedWith.margins }, width, colours: chartColours(el).series }));
        asImage(plot, `Histograms of the reward difference on held-out pairs, one per rating, after ${evaluation.step} steps. The table gives each rating's accuracy and mean difference.`);
        el.replaceChildren(plot);
      })
      .catch((e) => live && setError(`The histogram could not be drawn: ${messageOf(e)}`));
    return () => {
      live = false;
    };
  }, [evaluation, width, theme, trainedWith]);

  const canResume = !!info && runVariant === variantId && phase === 'stopped';
  const trainLabel = canResume ? 'Resume' : phase === 'done' && runVariant === variantId ? 'Train more' : 'Train';

  return (
    <section class="widget widget-plain" aria-label="Train a reward model" data-testid="reward-trainer" data-hydrated={hydrated ? 'true' : 'false'} data-phase={phase} data-step={String(step)}>
      <p class="rw-status" role="status" data-testid="rt-engine">
        {engineLine(status)}
      </p>

      <div class="rw-controls">
        <fieldset class="rw-choice" disabled={busy}>
          <legend>Train with</legend>
          {variants.map((v) => (
            <label key={v.id}>
              <input type="radio" name={`${id}-margins`} value={v.id} checked={variantId === v.id} data-testid={`rt-margins-${v.id}`} onChange={() => setVariantId(v.id)} />{' '}
              {v.label}
            </label>
          ))}
        </fieldset>
        <div class="rw-field">
          <label for={`${id}-steps`}>Train until step</label>
          <CountInput
            id={`${id}-steps`}
            testId="rt-steps"
            min={1}
            max={MAX_STEPS}
            value={target}
            disabled={busy}
            invalid={!stepsValid}
            describedBy={`${id}-steps-help`}
            onText={setTarget}
          />
          <small id={`${id}-steps-help`}>{stepsValid ? `${STEP_CHUNK} steps per chunk, evaluated after each.` : `Enter a whole number from 1 to ${MAX_STEPS}.`}</small>
        </div>
        <div class="rw-buttons">
          <button type="button" data-testid="rt-train" onClick={() => void train()} disabled={!hydrated || busy || !stepsValid}>
            {trainLabel}
          </button>
          <button type="button" data-testid="rt-stop" onClick={stop} disabled={!busy}>
            Stop
          </button>
          <button type="button" data-testid="rt-restart" onClick={startOver} disabled={busy || !info}>
            Start over
          </button>
        </div>
      </div>

      <div class="rw-progress" aria-live="polite" data-testid="rt-progress">
        {phase === 'starting' && <p>{status?.model ? 'Building the preference pairs…' : 'Loading the model first (see above)…'}</p>}
        {info && encoded < info.texts && (
          <p>
            <label for={`${id}-encode`}>
              The backbone has read {encoded} of {info.texts} texts{phase === 'stopped' ? ' (stopped: Resume goes on)' : ''}.
            </label>{' '}
            <progress id={`${id}-encode`} max={info.texts} value={encoded} />
          </p>
        )}
        {info && encoded === info.texts && (
          <p>
            <label for={`${id}-train`}>
              Step <span data-testid="rt-step">{step}</span> of {stepsValid ? steps : '?'}
              {trainLoss !== null && <>; minibatch loss {trainLoss.toFixed(3)}</>}
              {phase === 'stopped' ? ' (stopped)' : phase === 'done' ? ' (done)' : ''}.
            </label>{' '}
            <progress id={`${id}-train`} max={stepsValid ? steps : step || 1} value={step} />
          </p>
        )}
      </div>
      {error && (
        <p class="rw-error" role="alert" data-testid="rt-error">
          {error}
        </p>
      )}

      <p class="rw-note" data-testid="rt-damage">
        Rejected texts, by rating:{' '}
        {RATINGS.map((r) => `${RATING_LABELS[r].toLowerCase()}: ${EDIT_SHARE[r] > 0 ? `${Math.round(100 * EDIT_SHARE[r])}% of the words edited` : 'one word edited'}`).join('; ')}.
      </p>
      {info && (
        <p class="rw-note" data-testid="rt-info">
          {info.trainPairs} training pairs (stories {info.options.first}–{info.options.firstHeldOut - 1}) and {info.heldOutPairs} held-out pairs (stories{' '}
          {info.options.firstHeldOut}–{info.options.last}); the head has {info.dim} weights.
        </p>
      )}

      {evaluation && trainedWith && (
        <>
          <p class="rw-note" data-testid="rt-summary">
            This page's reward model on the held-out pairs after {evaluation.step} steps ({trainedWith.label.toLowerCase()}): loss{' '}
            {evaluation.loss.toFixed(3)}, accuracy {percent(evaluation.accuracy)}%. Below, per rating, beside the paper's Table 8.
          </p>
          <div class="rw-table-wrap" role="region" aria-label="Accuracy per rating beside Table 8" tabIndex={0}>
            <table class="rw-table" data-testid="rt-accuracy" data-step={String(evaluation.step)} data-loss={String(evaluation.loss)} data-accuracy={String(evaluation.accuracy)}>
              <caption>Accuracy per rating (%)</caption>
              <thead>
                <tr>
                  <th scope="col">Model and test set</th>
                  {RATINGS.map((r) => (
                    <th scope="col" key={r}>
                      {RATING_LABELS[r]}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                <tr class="rw-ours">
                  <th scope="row">This page: accuracy</th>
                  {evaluation.perRating.map((s) => (
                    <td key={s.rating} data-testid="rt-acc" data-rating={s.rating} data-value={String(s.accuracy)} data-pairs={String(s.pairs)}>
                      {percent(s.accuracy)}
                    </td>
                  ))}
                </tr>
                <tr class="rw-ours">
                  <th scope="row">This page: mean Δ</th>
                  {evaluation.perRating.map((s) => (
                    <td key={s.rating} data-testid="rt-mean" data-rating={s.rating} data-value={String(s.meanDelta)}>
                      {s.meanDelta.toFixed(2)}
                    </td>
                  ))}
                </tr>
                {paperRows.map((row) => (
                  <tr key={row.label}>
                    <th scope="row">Paper: {row.label}</th>
                    {RATINGS.map((r) => (
                      <td key={r}>{row.printed[r]}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {/* Always in the page: the width observer keeps watching this one element. */}
      <figure class="rw-figure" hidden={!evaluation}>
        <div class="rw-chart" ref={canvas} data-testid="rt-histogram" />
        <figcaption>
          Reward differences of the held-out pairs. Solid line: a tie; dashed: the rating's margin in this run. Pairs right of the solid line are ranked
          correctly.
        </figcaption>
      </figure>

      {info && (
        <details class="rw-examples">
          <summary>The four rejected versions of one held-out story</summary>
          <p>
            <strong>Chosen:</strong> {info.examples[0]?.chosen}
          </p>
          <ul>
            {info.examples.map((ex) => (
              <li key={ex.rating}>
                <strong>
                  {RATING_LABELS[ex.rating]} ({ex.edits} {ex.edits === 1 ? 'edit' : 'edits'}):
                </strong>{' '}
                {ex.rejected}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
