/**
 * The GQA paper's step after pooling, on the page's model: train a pooled variant a few steps
 * (task 'kv-uptrain', a chunk of steps per request so the worker stays responsive) and measure its
 * bits per byte on the same validation stories as the table above.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { EngineClient } from '../../../src/client/engine-client.ts';
import type { KvVariantMeasure } from '../../../src/engine/kv-variant.ts';
import { UPTRAIN_RECIPE } from '../../../src/worker/tasks/uptrain-recipe.ts';
import { fetchTrainingStories } from './stories.ts';
import { parseCount, variantLabel } from './variants.ts';
import { CountInput } from '../form/CountInput.tsx';
import { messageOf } from '../../../src/engine/errors.ts';

/** Steps per request: a second or a few on wasm, so other widgets' requests are not held up long. */
const CHUNK = 5;
const DEFAULT_STEPS = 20;
const MAX_STEPS = 200;

export interface Uptrained {
  kvHeads: number;
  nHeads: number;
  steps: number;
  bitsPerByte: number;
  pooledBitsPerByte: number;
}

type State = 'idle' | 'running' | 'stopped' | 'done' | 'error';

export function Uptrain(props: {
  engine: EngineClient;
  measured: KvVariantMeasure[];
  /** The validation stories the measured rows used (the same ones evaluate the uptrained model). */
  stories: string[];
  disabled: boolean;
  onBusy(busy: boolean): void;
  onResult(u: Uptrained): void;
}) {
  const id = useId();
  const candidates = props.measured.filter((m) => m.kvHeads < m.originalKvHeads);
  const [kvHeads, setKvHeads] = useState<number>(candidates.at(-1)?.kvHeads ?? 1);
  const [stepsText, setStepsText] = useState(String(DEFAULT_STEPS));
  const steps = parseCount(stepsText, 'The number of steps', 1, MAX_STEPS);
  const [state, setState] = useState<State>('idle');
  const [progress, setProgress] = useState<{ step: number; totalSteps: number; trainLoss: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const current = useRef<{ stop(): void } | null>(null);
  const stopped = useRef(false);
  useEffect(() => () => current.current?.stop(), []);
  if (candidates.length === 0) return null;
  const chosen = candidates.find((c) => c.kvHeads === kvHeads) ?? candidates[candidates.length - 1];

  const run = async () => {
    if (!('value' in steps)) return;
    const total = steps.value;
    stopped.current = false;
    setState('running');
    setError(null);
    setProgress(null);
    props.onBusy(true);
    try {
      const trainStories = await fetchTrainingStories();
      let step = 0;
      while (step < total && !stopped.current) {
        const last = step + CHUNK >= total;
        const task = props.engine.task(
          'kv-uptrain',
          {
            ...(step === 0 ? { start: { kvHeads: chosen.kvHeads, totalSteps: total, trainStories } } : {}),
            steps: CHUNK,
            ...(last ? { evaluate: props.stories } : {}),
          },
          (p) => setProgress({ step: p.step, totalSteps: p.totalSteps, trainLoss: p.trainLoss }),
        );
        current.current = task;
        const r = await task.result;
        current.current = null;
        step = r.step;
        if (r.bitsPerByte !== null)
          props.onResult({ kvHeads: chosen.kvHeads, nHeads: chosen.nHeads, steps: r.step, bitsPerByte: r.bitsPerByte, pooledBitsPerByte: chosen.bitsPerByte });
      }
      setState(stopped.current ? 'stopped' : 'done');
    } catch (e) {
      setError(messageOf(e));
      setState('error');
    } finally {
      current.current = null;
      props.onBusy(false);
    }
  };
  const stop = () => {
    stopped.current = true;
    current.current?.stop();
  };

  return (
    <div class="attn-uptrain" data-testid="attn-uptrain" data-state={state}>
      <h4 class="attn-subheading">Uptrain a pooled variant</h4>
      <p class="attn-status">
        Trains the pooled model further, as the GQA paper does, here on this site’s teacher-written stories (not the validation
        stories), with AdamW ({UPTRAIN_RECIPE.batchSize} windows of the full context per step, peak learning rate {UPTRAIN_RECIPE.peakLr}), then
        measures bits per byte again.
      </p>
      <div class="attn-row">
        <label for={`${id}-variant`}>Variant</label>
        <select id={`${id}-variant`} data-testid="attn-uptrain-variant" value={String(chosen.kvHeads)} disabled={state === 'running'} onChange={(e) => setKvHeads(Number(e.currentTarget.value))}>
          {candidates.map((c) => (
            <option value={String(c.kvHeads)} key={c.kvHeads}>
              {variantLabel(c.nHeads, c.kvHeads)}
            </option>
          ))}
        </select>
        <label for={`${id}-steps`}>Steps</label>
        <CountInput
          id={`${id}-steps`}
          testId="attn-uptrain-steps"
          min={1}
          max={MAX_STEPS}
          value={stepsText}
          disabled={state === 'running'}
          invalid={'error' in steps}
          describedBy={'error' in steps ? `${id}-steps-error` : undefined}
          onText={setStepsText}
        />
        <button type="button" data-testid="attn-uptrain-run" disabled={state === 'running' || props.disabled || !('value' in steps)} onClick={() => void run()}>
          Uptrain
        </button>
        <button type="button" data-testid="attn-uptrain-stop" disabled={state !== 'running'} onClick={stop}>
          Stop
        </button>
      </div>
      {'error' in steps && (
        <p class="attn-error" id={`${id}-steps-error`} role="alert">
          {steps.error}
        </p>
      )}
      <div class="attn-progress" data-testid="attn-uptrain-progress" aria-live="polite">
        {state === 'running' && (
          <>
            <progress max={progress?.totalSteps ?? 1} value={progress?.step ?? 0} aria-label="Uptraining steps" />
            <span>
              {progress
                ? progress.step < progress.totalSteps
                  ? `Step ${progress.step} of ${progress.totalSteps}, training loss ${progress.trainLoss.toFixed(3)}`
                  : `Step ${progress.step} of ${progress.totalSteps}; measuring bits per byte…`
                : 'Preparing the training text…'}
            </span>
          </>
        )}
        {state === 'stopped' && <span>Stopped before the end; start again to uptrain.</span>}
      </div>
      {error && (
        <p class="attn-error" role="alert" data-testid="attn-uptrain-error">
          {error}
        </p>
      )}
    </div>
  );
}
