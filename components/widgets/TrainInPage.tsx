/**
 * Chapter 5: train a tiny Llama 2 in the page. The reader picks a size and a number of steps; the
 * engine worker builds a fresh model on the loaded model's tokenizer and trains it with the
 * project's own Trainer (the paper's recipe), on the reader's backend, in chunks of a few hundred
 * milliseconds, so the page and the other widgets stay responsive. Loss is drawn live against
 * tokens seen, over the embedded model's recorded curve; the reader can pause, resume, and sample
 * text from the model at any point.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { LogEntry } from '../../src/train/trainer.ts';
import type { TrainingLog } from '../../src/train/training-log.ts';
import type { TrainRun, TrainSample } from '../../src/worker/tasks/train-types.ts';
import { formatCount, percent } from '../../src/client/format.ts';
import { useEngine } from '../../src/client/use-engine.ts';
import { withBase } from '../../src/site/paths.ts';
import { lossPlot, type Curve } from './training/loss-plot.ts';
import { asImage, chartColours, loadPlot, useChartFrame } from './plot.ts';
import { presetChoices, TRAIN_PRESETS } from './training/presets.ts';
import { formatLoss, summarizeRun } from './training/run-summary.ts';
import { fetchTrainingLog } from './training/training-log.ts';
import { messageOf } from '../../src/engine/errors.ts';
import { CountInput } from './form/CountInput.tsx';
import './widget.css';
import './training/training.css';

type RunState = 'idle' | 'preparing' | 'running' | 'paused' | 'done' | 'error';

/** Milliseconds of training per request: short enough that a generation or an explorer's request waits at most this long. */
const CHUNK_MS = 250;
const CHUNK_MAX_STEPS = 16;
const STEP_LIMITS = { min: 10, max: 5000 } as const;
const DATA = { train: 'data/teacher-stories.txt', val: 'data/tinystories-valid-240.txt' } as const;

let texts: Promise<{ train: string; val: string }> | null = null;
/** The training and validation text, fetched once per page. */
function fetchTexts(): Promise<{ train: string; val: string }> {
  const get = async (path: string) => {
    const res = await fetch(withBase(path)).catch((e: unknown) => {
      throw new Error(`${path} could not be fetched: ${messageOf(e)}`);
    });
    if (!res.ok) throw new Error(`${path} could not be fetched: ${res.status} ${res.statusText}`.trim());
    return res.text();
  };
  texts ??= Promise.all([get(DATA.train), get(DATA.val)]).then(([train, val]) => ({ train, val }));
  texts.catch(() => (texts = null));
  return texts;
}

export default function TrainInPage() {
  const id = useId();
  const { engine, status } = useEngine();
  const [presetId, setPresetId] = useState(TRAIN_PRESETS[0].id);
  const [stepsText, setStepsText] = useState('300');
  const [state, setState] = useState<RunState>('idle');
  const [prep, setPrep] = useState<{ what: string; done: number; total: number } | null>(null);
  const [run, setRun] = useState<TrainRun | null>(null);
  const [rows, setRows] = useState<LogEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [recorded, setRecorded] = useState<TrainingLog | null>(null);
  const [recordedError, setRecordedError] = useState<string | null>(null);
  const [wholeRecord, setWholeRecord] = useState(false);
  const [prompt, setPrompt] = useState('Once upon a time');
  const [sample, setSample] = useState<TrainSample | null>(null);
  const [sampling, setSampling] = useState(false);
  const [sampleError, setSampleError] = useState<string | null>(null);

  /** Whether the chunk loop should ask for another chunk; the loop's promise, so resume waits for it. */
  const wanted = useRef(false);
  const loop = useRef<Promise<void> | null>(null);
  const stopChunk = useRef<(() => void) | null>(null);
  const session = useRef<number | null>(null);
  const samples = useRef(0);
  const chartRef = useRef<HTMLDivElement>(null);
  const frame = useChartFrame(chartRef);

  useEffect(() => {
    fetchTrainingLog().then(setRecorded, (e: unknown) => setRecordedError(messageOf(e)));
  }, []);

  const engineRef = useRef(engine);
  engineRef.current = engine;
  // Leaving the page (or this island unmounting) frees the worker's model and optimizer state.
  useEffect(
    () => () => {
      wanted.current = false;
      stopChunk.current?.();
      if (session.current !== null) void engineRef.current?.task('train-stop', { session: session.current }).result.catch(() => {});
    },
    [],
  );

  const runChunks = async (s: number) => {
    if (!engine) return;
    try {
      while (wanted.current) {
        const handle = engine.task('train-steps', { session: s, maxSteps: CHUNK_MAX_STEPS, budgetMs: CHUNK_MS });
        stopChunk.current = handle.stop;
        const chunk = await handle.result;
        stopChunk.current = null;
        if (session.current !== s) return; // reset meanwhile
        if (chunk.rows.length) setRows((r) => [...r, ...chunk.rows]);
        if (chunk.done) {
          wanted.current = false;
          setState('done');
        }
      }
    } catch (e) {
      if (session.current !== s) return;
      wanted.current = false;
      setError(messageOf(e));
      setState('error');
    }
  };

  const startLoop = (s: number) => {
    wanted.current = true;
    setState('running');
    const previous = loop.current ?? Promise.resolve();
    loop.current = previous.then(() => runChunks(s));
  };

  const start = async () => {
    if (!engine || state === 'preparing' || state === 'running') return;
    const preset = TRAIN_PRESETS.find((p) => p.id === presetId) ?? TRAIN_PRESETS[0];
    const steps = Number(stepsText);
    if (stepsText.trim() === '' || !Number.isInteger(steps) || steps < STEP_LIMITS.min || steps > STEP_LIMITS.max) {
      setError(`Steps must be a whole number from ${STEP_LIMITS.min} to ${STEP_LIMITS.max}.`);
      setState('error');
      return;
    }
    await reset();
    setError(null);
    setState('preparing');
    setPrep({ what: 'Fetching the training and validation stories', done: 0, total: 1 });
    try {
      const data = await fetchTexts();
      const handle = engine.task('train-start', { shape: preset.shape, options: presetChoices(preset, steps), trainText: data.train, valText: data.val }, setPrep);
      const started = await handle.result;
      session.current = started.session;
      setRun(started);
      setPrep(null);
      startLoop(started.session);
    } catch (e) {
      setPrep(null);
      setError(messageOf(e));
      setState('error');
    }
  };

  const pause = () => {
    wanted.current = false;
    setState('paused');
  };

  const resume = () => {
    if (session.current === null) return;
    setError(null);
    startLoop(session.current);
  };

  const reset = async () => {
    wanted.current = false;
    stopChunk.current?.();
    const s = session.current;
    session.current = null;
    setRows([]);
    setRun(null);
    setSample(null);
    setSampleError(null);
    setState('idle');
    if (s !== null && engine) await engine.task('train-stop', { session: s }).result.catch(() => {});
  };

  const takeSample = async () => {
    if (!engine || session.current === null || !run) return;
    setSampling(true);
    setSampleError(null);
    try {
      const r = await engine.task('train-sample', { session: session.current, prompt, steps: run.config.seqLen, temperature: 0.8, seed: 1 + samples.current++ }).result;
      setSample(r);
    } catch (e) {
      setSampleError(messageOf(e));
    } finally {
      setSampling(false);
    }
  };

  const summary = summarizeRun(rows);

  // The live chart: this run over the recorded one, loss against tokens seen.
  useEffect(() => {
    const el = chartRef.current;
    if (!el || frame.width <= 0 || (!summary && !recorded)) return;
    let live = true;
    void loadPlot().then((Plot) => {
      if (!live || !chartRef.current) return;
      const { series } = chartColours(el);
      const ownEnd = Math.max(summary?.tokensSeen ?? 0, run ? 20 * run.options.batchSize * run.config.seqLen : 0);
      const recordedEnd = recorded ? recorded.entries[recorded.entries.length - 1].tokensSeen : 0;
      const end = wholeRecord || !summary ? Math.max(ownEnd, recordedEnd) : ownEnd;
      const curves: Curve[] = [];
      if (recorded) {
        curves.push({
          key: 'recorded',
          label: 'the embedded model’s run',
          mark: 'line',
          colour: series[7 % series.length],
          dashed: true,
          points: recorded.entries.filter((e) => e.tokensSeen <= end).map((e) => ({ tokens: e.tokensSeen, value: e.trainLoss, step: e.step })),
          describe: (p) => `embedded model’s run: training loss ${formatLoss(p.value)}`,
        });
      }
      curves.push(
        {
          key: 'train',
          label: 'this run, training loss',
          mark: 'line',
          colour: series[0],
          points: rows.map((e) => ({ tokens: e.tokensSeen, value: e.trainLoss, step: e.step })),
          describe: (p) => `this run: training loss ${formatLoss(p.value)}`,
        },
        {
          key: 'val',
          label: 'this run, validation loss',
          mark: 'dots',
          colour: series[1 % series.length],
          points: rows.filter((e) => e.valLoss !== undefined).map((e) => ({ tokens: e.tokensSeen, value: e.valLoss!, step: e.step })),
          describe: (p) => `this run: validation loss ${formatLoss(p.value)}`,
        },
      );
      const width = frame.width;
      const plot = lossPlot(Plot, { curves, width, height: Math.round(Math.min(320, Math.max(200, width * 0.45))), xDomain: [0, Math.max(end, 1)], yLabel: 'loss (nats per token)' });
      asImage(
        plot,
        summary
          ? `Loss against tokens seen: this run at step ${summary.step}, training loss ${formatLoss(summary.trainLoss)}, drawn over the embedded model’s recorded run (dashed).`
          : 'Loss against tokens seen of the embedded model’s recorded run (dashed); this run’s curves appear here once it starts.',
      );
      chartRef.current.replaceChildren(plot);
    });
    return () => {
      live = false;
    };
  }, [rows, recorded, wholeRecord, frame.width, frame.theme, run]);

  const preset = TRAIN_PRESETS.find((p) => p.id === presetId) ?? TRAIN_PRESETS[0];
  const busy = state === 'preparing' || state === 'running';
  const loadingModel = state === 'preparing' && status.state === 'loading' && status.progress;
  const vocabDiffers = run && recorded && run.config.vocabSize !== recorded.config.vocabSize;

  return (
    <section class="widget widget-plain train-in-page tr-box" data-testid="train-in-page" data-state={state} aria-labelledby={`${id}-heading`}>
      <h4 id={`${id}-heading`} class="tr-title">
        Train a tiny Llama 2 in this page
      </h4>
      {/* noValidate: the widget's own message says what is wrong, in the page, for every browser. */}
      <form
        class="tr-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <div>
          <label for={`${id}-preset`}>Model size</label>
          <select id={`${id}-preset`} data-testid="train-preset" value={presetId} disabled={busy} onChange={(e) => setPresetId(e.currentTarget.value)}>
            {TRAIN_PRESETS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
          <small>
            {preset.shape.nHeads} query heads sharing {preset.shape.nKvHeads} key/value heads; batches of {preset.batchSize} windows; peak learning rate {preset.peakLr}
          </small>
        </div>
        <div>
          <label for={`${id}-steps`}>Steps</label>
          <CountInput
            id={`${id}-steps`}
            testId="train-steps-input"
            min={STEP_LIMITS.min}
            max={STEP_LIMITS.max}
            value={stepsText}
            disabled={busy}
            describedBy={`${id}-steps-hint`}
            onText={setStepsText}
          />
          <small id={`${id}-steps-hint`}>the schedule warms up over the first 5% and decays to 10% of the peak by the last step</small>
        </div>
        <div class="tr-buttons">
          <button type="submit" class="tr-primary" data-testid="train-start" disabled={!engine || busy}>
            {run ? 'Start again' : 'Start training'}
          </button>
          {state === 'running' ? (
            <button type="button" data-testid="train-pause" onClick={pause}>
              Pause
            </button>
          ) : (
            <button type="button" data-testid="train-resume" disabled={!(state === 'paused' || (state === 'error' && session.current !== null))} onClick={resume}>
              Resume
            </button>
          )}
          <button type="button" data-testid="train-reset" disabled={!run || state === 'preparing'} onClick={() => void reset()}>
            Reset
          </button>
        </div>
      </form>

      {state === 'preparing' && prep && !loadingModel && (
        <div class="tr-progress" data-testid="train-progress">
          <label for={`${id}-prep`}>{prep.what}</label>
          <progress id={`${id}-prep`} max={prep.total} value={prep.done} aria-valuetext={`${percent(prep.done, Math.max(1, prep.total))}%`} />
        </div>
      )}
      {loadingModel && (
        <div class="tr-progress" data-testid="train-progress">
          <label for={`${id}-model`}>Loading the model first (the run uses its tokenizer): {loadingModel.what}</label>
          {loadingModel.total ? <progress id={`${id}-model`} max={loadingModel.total} value={loadingModel.loaded} /> : <progress id={`${id}-model`} />}
        </div>
      )}
      {error && (
        <p class="tr-error" role="alert" data-testid="train-error">
          {error}
        </p>
      )}

      {run && (
        <p class="tr-muted" data-testid="train-run">
          A fresh model of {formatCount(run.parameters)} parameters (dim {run.config.dim}, {run.config.nLayers} layer{run.config.nLayers > 1 ? 's' : ''}, context{' '}
          {run.config.seqLen}, the loaded model’s {formatCount(run.config.vocabSize)}-token vocabulary), on {formatCount(run.trainTokens)} tokens of{' '}
          {formatCount(run.trainStories)} stories, validated on {formatCount(run.valTokens)} tokens of held-out ones; backend: {status.backend ?? 'unknown'}.
        </p>
      )}

      <dl class="tr-stats" data-testid="train-stats">
        <div>
          <dt>Step</dt>
          <dd>
            <span data-testid="train-stat-step">{summary?.step ?? 0}</span> of {run?.options.steps ?? (Number(stepsText) || '–')}
          </dd>
        </div>
        <div>
          <dt>Tokens seen</dt>
          <dd data-testid="train-stat-tokens">{formatCount(summary?.tokensSeen ?? 0)}</dd>
        </div>
        <div>
          <dt>Training loss</dt>
          <dd>
            <span data-testid="train-stat-loss">{summary ? formatLoss(summary.trainLoss) : '–'}</span>
            {summary && (
              <small>
                {' '}
                (first step: <span data-testid="train-stat-first-loss">{formatLoss(summary.firstTrainLoss)}</span>)
              </small>
            )}
          </dd>
        </div>
        <div>
          <dt>Validation loss</dt>
          <dd>
            <span data-testid="train-stat-val">{summary?.valLoss != null ? formatLoss(summary.valLoss) : '–'}</span>
            {summary?.valStep != null && <small> (step {summary.valStep})</small>}
          </dd>
        </div>
        <div>
          <dt>Speed</dt>
          <dd data-testid="train-stat-speed">{summary ? `${summary.tokensPerSecond.toFixed(0)} tokens/s` : '–'}</dd>
        </div>
      </dl>
      <p class="tr-sr-only" aria-live="polite">
        {state === 'done' && summary ? `Training finished at step ${summary.step}: training loss ${formatLoss(summary.trainLoss)}.` : state === 'paused' ? 'Paused.' : ''}
      </p>

      <figure class="tr-figure">
        <ul class="tr-legend" aria-label="Legend">
          <li>
            <span class="tr-swatch tr-swatch-1" aria-hidden="true" /> this run: training loss
          </li>
          <li>
            <span class="tr-swatch tr-swatch-2 tr-swatch-dot" aria-hidden="true" /> this run: validation loss
          </li>
          <li>
            <span class="tr-swatch tr-swatch-8 tr-swatch-dashed" aria-hidden="true" /> the embedded model’s recorded run (training loss)
          </li>
        </ul>
        <div ref={chartRef} class="tr-chart" data-testid="train-chart" />
        <figcaption class="tr-muted">
          Both runs on the same axes: loss against tokens seen. The recorded run is a larger model taking larger steps
          {recorded ? ` (${recorded.options.batchSize} × ${recorded.config.seqLen} tokens per step)` : ''}, so compare where the curves stand at the same number of
          tokens.
          {vocabDiffers && ' The loaded model’s vocabulary differs from the recorded run’s, so their losses are not measured over the same tokens.'}
          {recordedError && ` The recorded curve is missing: ${recordedError}`}
        </figcaption>
      </figure>
      <label class="tr-check">
        <input type="checkbox" data-testid="train-whole-record" checked={wholeRecord} onChange={(e) => setWholeRecord(e.currentTarget.checked)} /> Show the whole
        recorded run
      </label>

      <div class="tr-sample">
        <label for={`${id}-prompt`}>Sample from the model being trained, starting with</label>
        <div class="tr-sample-row">
          <input id={`${id}-prompt`} type="text" value={prompt} data-testid="train-sample-prompt" onInput={(e) => setPrompt(e.currentTarget.value)} />
          <button type="button" data-testid="train-sample-button" disabled={!run || sampling} onClick={() => void takeSample()}>
            {sampling ? 'Sampling…' : 'Sample text'}
          </button>
        </div>
        {sampleError && (
          <p class="tr-error" role="alert" data-testid="train-sample-error">
            {sampleError}
          </p>
        )}
        {sample && (
          <blockquote class="tr-sample-text" data-testid="train-sample-text" data-step={sample.step}>
            <p>
              <strong>At step {sample.step}:</strong> {sample.text}
            </p>
          </blockquote>
        )}
      </div>
    </section>
  );
}
