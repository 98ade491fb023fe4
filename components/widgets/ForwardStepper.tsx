/**
 * Chapter 2's forward-pass stepper: type a prompt, pick a position, and walk through one full
 * forward pass of the real model at that position, operation by operation, with each step's
 * equation, the tensor it produced and the residual stream's norm. The model runs in the page's
 * engine worker (getEngine().inspect); this component only draws what the worker recorded.
 */
import { useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import { getEngine, type InspectResult } from '../../src/client/engine-client.ts';
import { useEngine } from '../../src/client/use-engine.ts';
import { engineStatusLine } from './engine-status.ts';
import { Equation } from './stepper/Equation.tsx';
import { Heatmap } from './stepper/Heatmap.tsx';
import { Legend } from './stepper/Legend.tsx';
import { LogitsView } from './stepper/LogitsView.tsx';
import { Sparkline } from './stepper/Sparkline.tsx';
import { TokenStrip, showPiece } from './stepper/TokenStrip.tsx';
import { scaleMaxFor } from './stepper/colour.ts';
import { dimsFromTrace, gridFor, type Grid } from './stepper/layout.ts';
import { KEY_ACTIONS, carryOver, navigate, type NavAction, type StepRef } from './stepper/navigation.ts';
import { residualAt, residualSeries } from './stepper/residual.ts';
import { STEP_INFO, stepLabel } from './stepper/steps.ts';
import { formatValue, topTokens, valuesAttribute, vectorStats } from './stepper/values.ts';
import { messageOf } from '../../src/engine/errors.ts';
import { PromptField } from './form/PromptField.tsx';
import './widget.css';
import './stepper/stepper.css';

const DEFAULT_PROMPT = 'Once upon a time';
/** Typing waits this long after the last key before running the model again. */
const DEBOUNCE_MS = 300;
const TOP_K = 10;

function shapeText(grid: Grid, step: string, length: number): string {
  if (step === 'attention_scores' || step === 'attention_probs') return `${grid.rows} heads × ${grid.cols} positions`;
  if (grid.cols * grid.rows === length && grid.binSize === 1 && ['q', 'k', 'v', 'q_rope', 'k_rope', 'attention_heads'].includes(step))
    return `${grid.rows} heads × ${grid.cols} values`;
  return grid.binSize > 1 ? `${length} values, drawn ${grid.binSize} to a cell` : `${length} values`;
}

export default function ForwardStepper() {
  const id = useId();
  const { status, loadError } = useEngine({ load: true });
  const [prompt, setPrompt] = useState(DEFAULT_PROMPT);
  /** Null: the prompt's last token (the one whose forward pass predicts what comes next). */
  const [position, setPosition] = useState<number | null>(null);
  const [trace, setTrace] = useState<InspectResult | null>(null);
  const [tracePrompt, setTracePrompt] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [index, setIndex] = useState(0);
  const [named, setNamed] = useState<ReadonlyMap<number, string>>(new Map());
  const request = useRef(0);
  const lastPrompt = useRef<string | null>(null);
  const place = useRef<StepRef | undefined>(undefined);

  const model = status.model;
  const modelKey = model ? `${model.name}|${model.parameters}|${model.tokenizerName}` : null;
  const seqLen = model?.config.seqLen ?? Infinity;

  // Run the model whenever the prompt, the position or the loaded model changes; only the latest
  // request's answer is shown.
  useEffect(() => {
    if (!modelKey) return;
    const seq = ++request.current;
    const delay = lastPrompt.current !== null && lastPrompt.current !== prompt ? DEBOUNCE_MS : 0;
    lastPrompt.current = prompt;
    const timer = setTimeout(async () => {
      setBusy(true);
      try {
        const engine = getEngine();
        const { ids } = await engine.tokenize(prompt);
        const limit = Math.min(ids.length, seqLen);
        const at = position === null || position >= limit ? limit - 1 : position;
        const result = await engine.inspect(prompt, at);
        if (seq !== request.current) return;
        setTrace(result);
        setTracePrompt(prompt);
        setError(null);
        setIndex((i) => carryOver(place.current, i, result.steps));
      } catch (e) {
        if (seq === request.current) setError(messageOf(e));
      } finally {
        if (seq === request.current) setBusy(false);
      }
    }, delay);
    return () => clearTimeout(timer);
  }, [prompt, position, modelKey]);

  const steps = trace?.steps ?? [];
  const current = steps[Math.min(index, steps.length - 1)];
  useEffect(() => {
    if (current) place.current = { step: current.step, layer: current.layer };
  }, [current]);

  const dims = useMemo(() => (trace ? dimsFromTrace(trace.steps) : null), [trace]);
  const residuals = useMemo(() => (trace ? residualSeries(trace.steps) : []), [trace]);
  const nLayers = useMemo(() => steps.reduce((m, s) => (s.layer !== null && s.layer + 1 > m ? s.layer + 1 : m), 0), [trace]);
  const grid = useMemo(
    () => (current ? gridFor(current.step, current.shape, current.values, dims, trace?.pieces.slice(0, (trace?.position ?? 0) + 1)) : null),
    [current, dims],
  );
  const stats = useMemo(() => (current ? vectorStats(current.values) : null), [current]);
  const top = useMemo(() => (current?.step === 'logits' ? topTokens(current.values, TOP_K) : []), [current]);

  // Pieces of the prompt's own tokens come with the trace; others need the engine to name them.
  const promptPieces = useMemo(() => new Map(trace ? trace.tokens.map((t, i) => [t, trace.pieces[i]] as const) : []), [trace]);
  const pieceOf = (tokenId: number) => promptPieces.get(tokenId) ?? named.get(tokenId);
  useEffect(() => {
    const unknown = top.map((t) => t.id).filter((t) => pieceOf(t) === undefined);
    if (unknown.length === 0) return;
    let live = true;
    getEngine()
      .pieces(unknown)
      .then((pieces) => live && setNamed((m) => new Map([...m, ...unknown.map((t, i) => [t, pieces[i]] as const)])))
      .catch(() => {}); // the table then shows "token <id>"
    return () => {
      live = false;
    };
  }, [top]);
  // Another model means other pieces for the same ids.
  useEffect(() => setNamed(new Map()), [modelKey]);

  const go = (action: NavAction) => setIndex((i) => navigate(steps, Math.min(i, steps.length - 1), action));

  const onKeyDown = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement | null;
    if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const action = KEY_ACTIONS[e.key];
    if (!action || steps.length === 0) return;
    e.preventDefault();
    go(action);
  };

  const shownIndex = Math.min(index, steps.length - 1);
  const residualIndex = residualAt(residuals, shownIndex);
  const layerAttr = current?.layer === null || current === undefined ? '' : String(current.layer);
  const info = current ? STEP_INFO[current.step] : null;

  return (
    <section
      class="widget stepper"
      aria-label="Forward pass stepper"
      tabIndex={0}
      onKeyDown={onKeyDown}
      data-testid="stepper"
      data-busy={busy ? 'true' : 'false'}
      data-prompt={tracePrompt ?? undefined}
      data-position={trace ? String(trace.position) : undefined}
    >
      <p class="widget-status stepper-status" role="status" data-testid="stepper-status" data-state={status.state}>
        {engineStatusLine(status, busy ? 'Running the forward pass' : null)}
      </p>

      <PromptField
        id={`${id}-prompt`}
        class="stepper-prompt"
        testId="stepper-prompt"
        value={prompt}
        onText={(text) => {
          setPrompt(text);
          setPosition(null);
        }}
      />

      {trace && (
        <>
          <p class="stepper-hint">
            The model reads the tokens below (BOS first). Pick one: its forward pass predicts the token after it.
            {trace.tokens.length > seqLen ? ` Only the first ${seqLen} fit in this model's context.` : ''}
          </p>
          <TokenStrip
            pieces={trace.pieces}
            ids={trace.tokens}
            position={trace.position}
            limit={Math.min(trace.tokens.length, seqLen)}
            onPick={setPosition}
          />
        </>
      )}

      {(error ?? loadError) && (
        <p class="stepper-error" role="alert" data-testid="stepper-error">
          {error ?? loadError}
        </p>
      )}

      {trace && current && info && grid && stats && (
        <div class="stepper-body">
          <div class="stepper-nav">
            <button type="button" data-testid="stepper-prev-layer" onClick={() => go('prev-layer')} aria-keyshortcuts="[">
              ⇤ Layer
            </button>
            <button
              type="button"
              data-testid="stepper-prev"
              onClick={() => go('prev')}
              disabled={shownIndex === 0}
              aria-keyshortcuts="ArrowLeft k"
            >
              ← Previous
            </button>
            <span class="stepper-counter" data-testid="stepper-counter" data-index={String(shownIndex)} data-count={String(steps.length)}>
              operation {shownIndex + 1} of {steps.length}
            </span>
            <button
              type="button"
              data-testid="stepper-next"
              onClick={() => go('next')}
              disabled={shownIndex === steps.length - 1}
              aria-keyshortcuts="ArrowRight j"
            >
              Next →
            </button>
            <button type="button" data-testid="stepper-next-layer" onClick={() => go('next-layer')} aria-keyshortcuts="]">
              Layer ⇥
            </button>
          </div>
          <p class="stepper-keys">
            Keys, when the stepper has focus: <kbd>→</kbd> or <kbd>j</kbd> next operation, <kbd>←</kbd> or <kbd>k</kbd> previous,{' '}
            <kbd>]</kbd> next layer, <kbd>[</kbd> previous layer, <kbd>Home</kbd>/<kbd>End</kbd> first/last. On a heatmap, arrow keys move
            between cells.
          </p>

          <p class="stepper-step-name" data-testid="stepper-step-name" data-step={current.step} data-layer={layerAttr} aria-live="polite">
            <strong>{stepLabel(current.step, current.layer, nLayers)}</strong>
            <span class="stepper-where">
              {' '}
              at position {trace.position}, token <span class="stepper-piece">{showPiece(trace.pieces[trace.position])}</span>
            </span>
          </p>
          <p class="stepper-about">{info.about}</p>
          <Equation tex={info.tex} />

          <figure
            class="stepper-values"
            data-testid="stepper-values"
            data-step={current.step}
            data-layer={layerAttr}
            data-shape={JSON.stringify(current.shape)}
            data-values={valuesAttribute(current.values)}
            data-length={String(current.values.length)}
          >
            <figcaption>
              <code>{current.step}</code>: {shapeText(grid, current.step, current.values.length)}. Norm {formatValue(stats.norm)}, min{' '}
              {formatValue(stats.min)}, max {formatValue(stats.max)}.
            </figcaption>
            <Heatmap grid={grid} scaleMax={scaleMaxFor(current.step, current.values)} label={info.title} />
            <Legend max={scaleMaxFor(current.step, current.values)} />
          </figure>

          {current.step === 'logits' && <LogitsView top={top} pieceOf={pieceOf} />}

          {residuals.length > 0 && (
            <div class="stepper-residual">
              <p>
                Residual stream here ({residuals[residualIndex].label}): ‖x‖ ={' '}
                <strong data-testid="stepper-residual-norm" data-norm={String(residuals[residualIndex].norm)}>
                  {formatValue(residuals[residualIndex].norm)}
                </strong>
              </p>
              <Sparkline points={residuals} current={residualIndex} />
            </div>
          )}
        </div>
      )}
    </section>
  );
}
