/**
 * Chapter 4's explorer of MHA, GQA and MQA. Three parts on one shape:
 *  1. which query heads share which key/value head, for the loaded model or any preset, with any
 *     valid number of kv heads;
 *  2. what a decode step reads (weights + KV cache) and what the cache occupies, as the context or
 *     the batch grows, for the MHA / GQA / MQA versions of that shape (src/engine/decode-cost.ts);
 *  3. the GQA paper's conversion run on the loaded model in the engine worker: kv heads mean-pooled
 *     down to one, each variant measured on the validation stories (task 'kv-variant').
 * Parts 1 and 2 are cheap pure functions on the main thread; part 3 never runs on the page.
 */
import { useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import type { LlamaConfig } from '../../src/engine/config.ts';
import type { KvVariantMeasure } from '../../src/engine/kv-variant.ts';
import { poolableKvHeads, possibleKvHeads, withKvHeads } from '../../src/engine/kv-groups.ts';
import { WEIGHT_FORMATS, type WeightFormat } from '../../src/engine/params.ts';
import { PRESETS } from '../../src/engine/presets.ts';
import type { DecodeSetting } from '../../src/engine/decode-cost.ts';
import { useEngine } from '../../src/client/use-engine.ts';
import { formatBytes } from './calculator/format.ts';
import { HeadDiagram } from './attention/HeadDiagram.tsx';
import { Uptrain, type Uptrained } from './attention/Uptrain.tsx';
import { PlotChart } from './attention/PlotChart.tsx';
import { AXIS_LABEL, METRIC_LABEL, costPlot, qualityPlot, qualityPoints } from './attention/charts.ts';
import { DEFAULT_STORIES, MAX_STORIES, SAMPLE_PROMPT, SAMPLE_STEPS, fetchValidationStories } from './attention/stories.ts';
import { costRows, costSeries, parseCount, variantLabel, variantsToCompare, type CostAxis, type CostMetric } from './attention/variants.ts';
import { messageOf } from '../../src/engine/errors.ts';
import { CountInput } from './form/CountInput.tsx';
import './widget.css';
import './attention/attention.css';

const LOADED = 'loaded';
const DEFAULT_PRESET = 'llama2-70b';
const KV_ELEMENTS = { float16: 2, int8: 1, float32: 4 } as const;
type KvElement = keyof typeof KV_ELEMENTS;
const MAX_CONTEXT = 1 << 20;
const MAX_BATCH = 4096;

type RunState = 'idle' | 'running' | 'stopping' | 'stopped' | 'done' | 'error';
interface Progress {
  kvHeads: number;
  variant: number;
  variants: number;
  storiesDone: number;
  stories: number;
}

export default function AttentionVariants() {
  const id = useId();
  // The loaded model is one of the shapes to explore: loaded (the site's model unless the reader
  // picked another) once the widget is on screen; a failure shows in the status line.
  const { engine, status } = useEngine({ load: true });
  const loaded = status.model;
  const loadedKey = loaded ? `${loaded.name}|${loaded.parameters}|${loaded.tokenizerName}` : null;

  // ---- Parts 1 and 2: a shape, its kv-head count, and the decode setting
  const [modelId, setModelId] = useState(DEFAULT_PRESET);
  const config: LlamaConfig | null = modelId === LOADED ? (loaded?.config ?? null) : (PRESETS.find((p) => p.id === modelId)?.config ?? null);
  const [picked, setPicked] = useState<number | null>(null);
  const kvHeads = config && picked !== null && config.nHeads % picked === 0 ? picked : (config?.nKvHeads ?? 1);
  const [contextText, setContextText] = useState('4096');
  const [batchText, setBatchText] = useState('1');
  const [weightFormat, setWeightFormat] = useState<WeightFormat>('float16');
  const [kvElement, setKvElement] = useState<KvElement>('float16');
  const [axis, setAxis] = useState<CostAxis>('context');
  const [metric, setMetric] = useState<CostMetric>('totalPerToken');

  const context = parseCount(contextText, 'The context length', 1, MAX_CONTEXT);
  const batch = parseCount(batchText, 'The batch size', 1, MAX_BATCH);
  const setting: DecodeSetting | null =
    'value' in context && 'value' in batch ? { context: context.value, batch: batch.value, weightFormat, kvElementBytes: KV_ELEMENTS[kvElement] } : null;
  const variants = useMemo(() => (config ? variantsToCompare(config, kvHeads) : []), [config, kvHeads]);
  const rows = config && setting ? costRows(variants, setting) : [];
  const points = useMemo(() => (setting ? costSeries(variants, setting, axis, metric) : []), [variants, setting?.context, setting?.batch, weightFormat, kvElement, axis, metric]);

  const chooseModel = (value: string) => {
    setModelId(value);
    setPicked(null);
  };

  // ---- Part 3: the conversion, measured in the worker
  const [storiesText, setStoriesText] = useState(String(DEFAULT_STORIES));
  const stories = parseCount(storiesText, 'The number of stories', 1, MAX_STORIES);
  const [run, setRun] = useState<RunState>('idle');
  const [progress, setProgress] = useState<Progress | null>(null);
  const [results, setResults] = useState<KvVariantMeasure[]>([]);
  const [runError, setRunError] = useState<string | null>(null);
  const [measuredStories, setMeasuredStories] = useState(0);
  const current = useRef<{ stop(): void } | null>(null);
  const stopRequested = useRef(false);
  const [measuredTexts, setMeasuredTexts] = useState<string[]>([]);
  const [uptrained, setUptrained] = useState<Uptrained[]>([]);
  const [uptraining, setUptraining] = useState(false);

  // Another model loaded: its results do not apply any more.
  useEffect(() => {
    setResults([]);
    setUptrained([]);
    setProgress(null);
    if (run !== 'running' && run !== 'stopping') setRun('idle');
  }, [loadedKey]);
  useEffect(() => () => current.current?.stop(), []);

  const measure = async () => {
    if (!engine || !('value' in stories) || run === 'running' || run === 'stopping' || uptraining) return;
    stopRequested.current = false;
    setRun('running');
    setRunError(null);
    setResults([]);
    setUptrained([]);
    setProgress(null);
    try {
      await engine.ensureLoaded();
      const model = engine.status.model;
      if (!model) throw new Error(engine.status.error ?? 'no model is loaded');
      const counts = poolableKvHeads(model.config);
      const texts = await fetchValidationStories(stories.value);
      setMeasuredStories(texts.length);
      setMeasuredTexts(texts);
      for (const [i, g] of counts.entries()) {
        if (stopRequested.current) break;
        setProgress({ kvHeads: g, variant: i + 1, variants: counts.length, storiesDone: 0, stories: texts.length });
        const task = engine.task('kv-variant', { kvHeads: g, stories: texts, prompt: SAMPLE_PROMPT, steps: SAMPLE_STEPS }, (p) =>
          setProgress({ kvHeads: g, variant: i + 1, variants: counts.length, storiesDone: p.storiesDone, stories: p.stories }),
        );
        current.current = task;
        const measured = await task.result;
        current.current = null;
        if (!measured) break;
        setResults((r) => [...r, measured]);
      }
      setRun(stopRequested.current ? 'stopped' : 'done');
    } catch (e) {
      setRunError(messageOf(e));
      setRun('error');
    } finally {
      current.current = null;
    }
  };
  const stop = () => {
    stopRequested.current = true;
    setRun('stopping');
    current.current?.stop();
  };

  const busy = run === 'running' || run === 'stopping';
  const original = results.find((r) => r.kvHeads === r.originalKvHeads);
  const resultLabel = (m: KvVariantMeasure) => variantLabel(m.nHeads, m.kvHeads);
  const quality = [
    ...qualityPoints(results, resultLabel),
    ...uptrained.map((u) => ({
      label: `${variantLabel(u.nHeads, u.kvHeads)} + ${u.steps} steps`,
      kvBytesPerToken: results.find((r) => r.kvHeads === u.kvHeads)?.kvBytesPerToken ?? 0,
      bitsPerByte: u.bitsPerByte,
      uptrained: true,
    })),
  ];
  const families = [...new Set(PRESETS.map((p) => p.family))];

  return (
    <section class="widget attn" aria-label="Attention variants explorer" data-testid="attn">
      <div class="attn-row">
        <label for={`${id}-model`}>Model</label>
        <select id={`${id}-model`} data-testid="attn-model" value={modelId} onChange={(e) => chooseModel(e.currentTarget.value)}>
          <option value={LOADED} disabled={!loaded}>
            {loaded ? `Loaded model: ${loaded.name}` : 'Loaded model (loading…)'}
          </option>
          {families.map((family) => (
            <optgroup label={family} key={family}>
              {PRESETS.filter((p) => p.family === family).map((p) => (
                <option value={p.id} key={p.id}>
                  {p.label}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
        <label for={`${id}-kv`}>Key/value heads</label>
        <select id={`${id}-kv`} data-testid="attn-kv-heads" value={String(kvHeads)} disabled={!config} onChange={(e) => setPicked(Number(e.currentTarget.value))}>
          {config &&
            possibleKvHeads(config).map((g) => (
              <option value={String(g)} key={g}>
                {variantLabel(config.nHeads, g)}
                {g === config.nKvHeads ? ', as released' : ''}
              </option>
            ))}
        </select>
      </div>

      {config ? (
        <HeadDiagram config={withKvHeads(config, kvHeads)} testId="attn-diagram" />
      ) : (
        <p class="attn-status">The loaded model’s shape appears here once it has loaded.</p>
      )}

      <h3 class="attn-heading">What one decode step reads</h3>
      <div class="attn-fields">
        <div class="attn-field">
          <label for={`${id}-context`}>Context length (tokens)</label>
          <CountInput
            id={`${id}-context`}
            testId="attn-context"
            min={1}
            max={MAX_CONTEXT}
            value={contextText}
            invalid={'error' in context}
            describedBy={'error' in context ? `${id}-cost-error` : undefined}
            onText={setContextText}
          />
        </div>
        <div class="attn-field">
          <label for={`${id}-batch`}>Batch size (sequences)</label>
          <CountInput
            id={`${id}-batch`}
            testId="attn-batch"
            min={1}
            max={MAX_BATCH}
            value={batchText}
            invalid={'error' in batch}
            describedBy={'error' in batch ? `${id}-cost-error` : undefined}
            onText={setBatchText}
          />
        </div>
        <div class="attn-field">
          <label for={`${id}-wf`}>Weights stored as</label>
          <select id={`${id}-wf`} data-testid="attn-weight-format" value={weightFormat} onChange={(e) => setWeightFormat(e.currentTarget.value as WeightFormat)}>
            {(Object.keys(WEIGHT_FORMATS) as WeightFormat[]).map((f) => (
              <option value={f} key={f}>
                {f}
              </option>
            ))}
          </select>
        </div>
        <div class="attn-field">
          <label for={`${id}-kvf`}>KV cache stored as</label>
          <select id={`${id}-kvf`} data-testid="attn-kv-format" value={kvElement} onChange={(e) => setKvElement(e.currentTarget.value as KvElement)}>
            {(Object.keys(KV_ELEMENTS) as KvElement[]).map((f) => (
              <option value={f} key={f}>
                {f} ({KV_ELEMENTS[f]} byte{KV_ELEMENTS[f] === 1 ? '' : 's'})
              </option>
            ))}
          </select>
        </div>
      </div>
      {!setting && (
        <p class="attn-error" id={`${id}-cost-error`} role="alert" data-testid="attn-cost-error">
          {'error' in context ? context.error : ''} {'error' in batch ? batch.error : ''}
        </p>
      )}

      {config && setting && (
        <>
          <div class="attn-table-wrap" tabIndex={0} role="region" aria-label="Decode cost per variant">
            <table class="attn-table" data-testid="attn-cost">
              <caption>
                Per generated token at {setting.context.toLocaleString('en-US')} tokens of context, {setting.batch} sequence
                {setting.batch === 1 ? '' : 's'} per step
              </caption>
              <thead>
                <tr>
                  <th scope="col">Variant</th>
                  <th scope="col">Weights read</th>
                  <th scope="col">KV cache read</th>
                  <th scope="col">Total read</th>
                  <th scope="col">KV-cache memory</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(({ variant, traffic }) => (
                  <tr key={variant.kvHeads} data-testid="attn-cost-row" data-kv-heads={variant.kvHeads}>
                    <th scope="row">{variant.label}</th>
                    <td data-bytes={traffic.weightsPerToken}>{formatBytes(traffic.weightsPerToken)}</td>
                    <td data-bytes={traffic.kvPerToken}>{formatBytes(traffic.kvPerToken)}</td>
                    <td data-bytes={traffic.totalPerToken}>{formatBytes(traffic.totalPerToken)}</td>
                    <td data-testid="attn-kv-memory" data-bytes={traffic.kvCacheMemory}>
                      {formatBytes(traffic.kvCacheMemory)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>

          <div class="attn-fields">
            <div class="attn-field">
              <label for={`${id}-axis`}>Chart along</label>
              <select id={`${id}-axis`} data-testid="attn-axis" value={axis} onChange={(e) => setAxis(e.currentTarget.value as CostAxis)}>
                {(Object.keys(AXIS_LABEL) as CostAxis[]).map((a) => (
                  <option value={a} key={a}>
                    {AXIS_LABEL[a]}
                  </option>
                ))}
              </select>
            </div>
            <div class="attn-field">
              <label for={`${id}-metric`}>Chart shows</label>
              <select id={`${id}-metric`} data-testid="attn-metric" value={metric} onChange={(e) => setMetric(e.currentTarget.value as CostMetric)}>
                {(Object.keys(METRIC_LABEL) as CostMetric[]).map((m) => (
                  <option value={m} key={m}>
                    {METRIC_LABEL[m]}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <PlotChart
            testId="attn-cost-chart"
            build={costPlot(points, variants.map((v) => v.label), axis, metric, axis === 'context' ? setting.context : setting.batch)}
            dataKey={JSON.stringify([modelId, kvHeads, setting, axis, metric])}
            label={`${METRIC_LABEL[metric]} against ${AXIS_LABEL[axis]}, one line per variant (${variants.map((v) => v.label).join(', ')}), both axes logarithmic; the table above has the numbers at the chosen point.`}
          />
        </>
      )}

      <h3 class="attn-heading">Convert the loaded model</h3>
      <p class="attn-status" data-testid="attn-model-status">
        {loaded
          ? `${loaded.name} on ${status.backend ?? 'an unknown backend'}: ${loaded.config.nHeads} query heads, ${loaded.config.nKvHeads} key/value heads. It can be pooled to ${poolableKvHeads(loaded.config).join(', ')} kv heads.`
          : status.state === 'error'
            ? `The model could not be loaded: ${status.error ?? 'unknown error'}`
            : status.state === 'loading' && status.progress
              ? `Loading ${status.progress.what}: ${formatBytes(status.progress.loaded)}${status.progress.total ? ` of ${formatBytes(status.progress.total)}` : ''}…`
              : 'Loading the model…'}
      </p>
      <div class="attn-row">
        <label for={`${id}-stories`}>Validation stories</label>
        <CountInput
          id={`${id}-stories`}
          testId="attn-stories"
          min={1}
          max={MAX_STORIES}
          value={storiesText}
          disabled={busy}
          invalid={'error' in stories}
          describedBy={'error' in stories ? `${id}-stories-error` : undefined}
          onText={setStoriesText}
        />
        <button type="button" data-testid="attn-measure" disabled={busy || uptraining || !engine || !('value' in stories)} onClick={() => void measure()}>
          Measure every variant
        </button>
        <button type="button" data-testid="attn-stop" disabled={run !== 'running'} onClick={stop}>
          Stop
        </button>
      </div>
      {'error' in stories && (
        <p class="attn-error" id={`${id}-stories-error`} role="alert">
          {stories.error}
        </p>
      )}
      <div class="attn-progress" data-testid="attn-progress" data-state={run} aria-live="polite">
        {busy && progress && (
          <>
            <progress
              max={progress.variants * progress.stories}
              value={(progress.variant - 1) * progress.stories + progress.storiesDone}
              aria-label="Measuring the pooled variants"
            />
            <span>
              {run === 'stopping' ? 'Stopping after this story… ' : ''}Variant {progress.variant} of {progress.variants} ({progress.kvHeads} kv head
              {progress.kvHeads === 1 ? '' : 's'}): {progress.storiesDone < progress.stories ? `story ${progress.storiesDone + 1} of ${progress.stories}` : 'generating a sample'}
            </span>
          </>
        )}
        {busy && !progress && <span>Loading the model and the validation stories…</span>}
        {run === 'stopped' && <span>Stopped: the variants measured so far are below.</span>}
        {run === 'done' && (
          <span>
            Measured {results.length} variant{results.length === 1 ? '' : 's'} on the first {measuredStories} validation stories.
          </span>
        )}
      </div>
      {runError && (
        <p class="attn-error" role="alert" data-testid="attn-error">
          {runError}
        </p>
      )}

      {results.length > 0 && (
        <>
          <div class="attn-table-wrap" tabIndex={0} role="region" aria-label="Measured variants">
            <table class="attn-table" data-testid="attn-results">
              <caption>
                The loaded model with its key/value heads mean-pooled, no further training ({measuredStories} stories,{' '}
                {results[0].bytes.toLocaleString('en-US')} bytes)
              </caption>
              <thead>
                <tr>
                  <th scope="col">Variant</th>
                  <th scope="col">Bits per byte</th>
                  <th scope="col">KV cache per token</th>
                  <th scope="col">KV cache, full context</th>
                  <th scope="col">Decode speed</th>
                </tr>
              </thead>
              <tbody>
                {results.map((m) => (
                  <tr
                    key={m.kvHeads}
                    data-testid="attn-result-row"
                    data-kv-heads={m.kvHeads}
                    data-bits-per-byte={m.bitsPerByte}
                    data-kv-bytes-per-token={m.kvBytesPerToken}
                    data-kv-bytes-full-context={m.kvBytesFullContext}
                    data-cache-bytes={m.cacheBytesMeasured}
                    data-cache-positions={m.cachePositionsAllocated}
                  >
                    <th scope="row">
                      {resultLabel(m)}
                      {m.kvHeads === m.originalKvHeads ? ', as trained' : ''}
                    </th>
                    <td>
                      {m.bitsPerByte.toFixed(4)}
                      {original && m !== original ? ` (${m.bitsPerByte >= original.bitsPerByte ? '+' : ''}${(m.bitsPerByte - original.bitsPerByte).toFixed(4)})` : ''}
                    </td>
                    <td>{formatBytes(m.kvBytesPerToken)}</td>
                    <td>{formatBytes(m.kvBytesFullContext)}</td>
                    <td>{m.tokensPerSecond.toFixed(0)} tokens/s</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {results.length > 1 && (
            <PlotChart
              testId="attn-quality-chart"
              build={qualityPlot(quality)}
              dataKey={JSON.stringify(quality)}
              label={`Bits per byte against KV-cache bytes per token for the pooled variants: ${quality.map((q) => `${q.label} ${q.bitsPerByte.toFixed(3)}`).join('; ')}.`}
            />
          )}
          {engine && !busy && (
            <Uptrain
              engine={engine}
              measured={results}
              stories={measuredTexts}
              disabled={busy}
              onBusy={setUptraining}
              onResult={(u) => setUptrained((list) => [...list, u])}
            />
          )}
          {uptrained.length > 0 && (
            <div class="attn-table-wrap" tabIndex={0} role="region" aria-label="Uptrained variants">
              <table class="attn-table" data-testid="attn-uptrained">
                <caption>Uptrained variants, on the same validation stories</caption>
                <thead>
                  <tr>
                    <th scope="col">Variant</th>
                    <th scope="col">Steps</th>
                    <th scope="col">Bits per byte, pooled</th>
                    <th scope="col">After uptraining</th>
                    {original && <th scope="col">As trained</th>}
                  </tr>
                </thead>
                <tbody>
                  {uptrained.map((u, i) => (
                    <tr key={i} data-testid="attn-uptrained-row" data-kv-heads={u.kvHeads} data-steps={u.steps} data-bits-per-byte={u.bitsPerByte} data-pooled-bits-per-byte={u.pooledBitsPerByte}>
                      <th scope="row">{variantLabel(u.nHeads, u.kvHeads)}</th>
                      <td>{u.steps}</td>
                      <td>{u.pooledBitsPerByte.toFixed(4)}</td>
                      <td>{u.bitsPerByte.toFixed(4)}</td>
                      {original && <td>{original.bitsPerByte.toFixed(4)}</td>}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h4 class="attn-subheading">Greedy samples (prompt “{SAMPLE_PROMPT}”)</h4>
          <dl class="attn-samples" data-testid="attn-samples">
            {results.map((m) => (
              <div key={m.kvHeads}>
                <dt>{resultLabel(m)}</dt>
                <dd data-kv-heads={m.kvHeads}>{m.sample}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </section>
  );
}
