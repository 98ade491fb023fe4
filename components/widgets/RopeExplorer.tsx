/**
 * Chapter 3's rotary-embedding explorer. The engine worker runs the prompt once and sends every
 * layer's queries and keys before RoPE (task 'rope-qk'); this component rotates the chosen head's
 * query and key to any positions in float64 (src/explorers/rope) and shows: each pair turning as a
 * 2-D vector, the score at (m, n) next to the score with both positions shifted, and the score
 * against distance far past the trained context.
 */
import { useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import { getEngine } from '../../src/client/engine-client.ts';
import { useEngine } from '../../src/client/use-engine.ts';
import type { RopeQk } from '../../src/explorers/rope/qk.ts';
import { kvHeadOf } from '../../src/explorers/rope/qk.ts';
import { engineStatusLine } from './engine-status.ts';
import { DistancePlot } from './rope/DistancePlot.tsx';
import { PairDials } from './rope/PairDials.tsx';
import { CURVE_CONTEXTS, distanceView, formatDifference, formatScore, ropeView, type Selection } from './rope/view.ts';
import { showPiece } from './stepper/TokenStrip.tsx';
import { messageOf } from '../../src/engine/errors.ts';
import { PromptField } from './form/PromptField.tsx';
import './widget.css';
import './rope/rope.css';

const DEFAULT_PROMPT = 'Once upon a time, there was a little dog named Max. Max liked to run in the park.';
const DEBOUNCE_MS = 300;

/** The selection a fresh prompt starts with: last token's query against a key a few tokens back. */
function initialSelection(qk: RopeQk, previous: Selection | null): Selection {
  const last = qk.tokens.length - 1;
  const key = Math.max(0, last - 3);
  return {
    layer: previous && previous.layer < qk.nLayers ? previous.layer : 0,
    head: previous && previous.head < qk.nHeads ? previous.head : 0,
    queryToken: last,
    keyToken: key,
    m: last,
    n: key,
    shift: 0,
  };
}

export default function RopeExplorer() {
  const id = useId();
  const { status, loadError } = useEngine({ load: true });
  const [prompt, setPrompt] = useState(DEFAULT_PROMPT);
  const [qk, setQk] = useState<RopeQk | null>(null);
  const [qkPrompt, setQkPrompt] = useState<string | null>(null);
  const [sel, setSel] = useState<Selection | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const request = useRef(0);
  const lastPrompt = useRef<string | null>(null);

  const model = status.model;
  const modelKey = model ? `${model.name}|${model.parameters}|${model.tokenizerName}` : null;

  useEffect(() => {
    if (!modelKey) return;
    const seq = ++request.current;
    const delay = lastPrompt.current !== null && lastPrompt.current !== prompt ? DEBOUNCE_MS : 0;
    lastPrompt.current = prompt;
    const timer = setTimeout(async () => {
      if (prompt.trim() === '') {
        setError('Type a prompt: the explorer takes its queries and keys from the model reading it.');
        return;
      }
      setBusy(true);
      try {
        const result = await getEngine().task('rope-qk', { prompt }).result;
        if (seq !== request.current) return;
        setQk(result);
        setQkPrompt(prompt);
        setSel((s) => initialSelection(result, s));
        setError(null);
      } catch (e) {
        if (seq === request.current) setError(messageOf(e));
      } finally {
        if (seq === request.current) setBusy(false);
      }
    }, delay);
    return () => clearTimeout(timer);
  }, [prompt, modelKey]);

  const view = useMemo(() => (qk && sel ? ropeView(qk, sel) : null), [qk, sel]);
  // The curve depends on the content vectors only, not on the positions or the shift.
  const curveKey = sel ? `${sel.layer}|${sel.head}|${sel.queryToken}|${sel.keyToken}` : '';
  const distance = useMemo(() => (qk && view ? distanceView(qk, view) : null), [qk, curveKey]);

  const update = (patch: Partial<Selection>) => setSel((s) => (s ? { ...s, ...patch } : s));
  const seqLen = qk?.seqLen ?? 0;
  const maxShift = (CURVE_CONTEXTS - 1) * seqLen;
  const shiftedQ = sel ? sel.m + sel.shift : 0;
  const shiftedK = sel ? sel.n + sel.shift : 0;
  const pastContext = sel !== null && Math.max(shiftedQ, shiftedK) >= seqLen;

  return (
    <section
      class="widget rope"
      aria-label="Rotary embedding explorer"
      data-testid="rope-explorer"
      data-busy={busy ? 'true' : 'false'}
      data-prompt={qkPrompt ?? undefined}
      data-layer={sel ? String(sel.layer) : undefined}
      data-head={sel ? String(sel.head) : undefined}
      data-query-token={sel ? String(sel.queryToken) : undefined}
      data-key-token={sel ? String(sel.keyToken) : undefined}
      data-m={sel ? String(sel.m) : undefined}
      data-n={sel ? String(sel.n) : undefined}
      data-shift={sel ? String(sel.shift) : undefined}
    >
      <p class="widget-status rope-status" role="status" data-testid="rope-status" data-state={status.state}>
        {engineStatusLine(status, busy ? 'Running your prompt through the model to collect its queries and keys' : null)}
      </p>

      <PromptField id={`${id}-prompt`} class="rope-prompt" testId="rope-prompt" value={prompt} onText={setPrompt} />

      {(error ?? loadError) && (
        <p class="rope-error" role="alert" data-testid="rope-error">
          {error ?? loadError}
        </p>
      )}

      {qk && sel && view && (
        <>
          {qk.droppedTokens > 0 && (
            <p class="rope-note">
              The prompt is longer than the model's context of {qk.seqLen} tokens; its last {qk.droppedTokens} tokens are left out.
            </p>
          )}
          <div class="rope-controls">
            <label>
              Layer
              <select data-testid="rope-layer" value={String(sel.layer)} onChange={(e) => update({ layer: Number(e.currentTarget.value) })}>
                {Array.from({ length: qk.nLayers }, (_, l) => (
                  <option value={String(l)}>{l + 1}</option>
                ))}
              </select>
            </label>
            <label>
              Head
              <select data-testid="rope-head" value={String(sel.head)} onChange={(e) => update({ head: Number(e.currentTarget.value) })}>
                {Array.from({ length: qk.nHeads }, (_, h) => (
                  <option value={String(h)}>
                    {h + 1}
                    {qk.nKvHeads < qk.nHeads ? ` (key head ${kvHeadOf(h, qk.nHeads, qk.nKvHeads) + 1})` : ''}
                  </option>
                ))}
              </select>
            </label>
            <TokenSelect label="Query from token" testId="rope-query-token" pieces={qk.pieces} value={sel.queryToken} onPick={(t) => update({ queryToken: t, m: t })} />
            <TokenSelect label="Key from token" testId="rope-key-token" pieces={qk.pieces} value={sel.keyToken} onPick={(t) => update({ keyToken: t, n: t })} />
          </div>

          <div class="rope-sliders">
            <label for={`${id}-m`}>
              Query position <var>m</var> = <output data-testid="rope-m-value">{sel.m}</output>
            </label>
            <input id={`${id}-m`} data-testid="rope-m" type="range" min={0} max={seqLen - 1} step={1} value={sel.m} onInput={(e) => update({ m: Number(e.currentTarget.value) })} />
            <label for={`${id}-n`}>
              Key position <var>n</var> = <output data-testid="rope-n-value">{sel.n}</output>
            </label>
            <input id={`${id}-n`} data-testid="rope-n" type="range" min={0} max={seqLen - 1} step={1} value={sel.n} onInput={(e) => update({ n: Number(e.currentTarget.value) })} />
            <label for={`${id}-shift`}>
              Shift both by <var>s</var> = <output data-testid="rope-shift-value">{sel.shift}</output>
            </label>
            <input
              id={`${id}-shift`}
              data-testid="rope-shift"
              type="range"
              min={0}
              max={maxShift}
              step={1}
              value={sel.shift}
              onInput={(e) => update({ shift: Number(e.currentTarget.value) })}
            />
          </div>

          <p class="rope-legend">
            <span class="rope-swatch rope-swatch-q" aria-hidden="true" /> query of “{showPiece(qk.pieces[sel.queryToken])}” at position {shiftedQ}
            {' · '}
            <span class="rope-swatch rope-swatch-k" aria-hidden="true" /> key of “{showPiece(qk.pieces[sel.keyToken])}” at position {shiftedK}
          </p>
          <PairDials dials={view.dials} totalPairs={qk.headDim / 2} qPosition={shiftedQ} kPosition={shiftedK} />

          <dl class="rope-numbers" data-testid="rope-numbers" data-scale={String(view.scale)}>
            <dt>
              Score at (<var>m</var>, <var>n</var>) = ({sel.m}, {sel.n}), distance {sel.m - sel.n}
            </dt>
            <dd data-testid="rope-score" data-value={String(view.score)}>
              {formatScore(view.score)}
            </dd>
            <dt>
              Score at (<var>m</var> + <var>s</var>, <var>n</var> + <var>s</var>) = ({shiftedQ}, {shiftedK})
            </dt>
            <dd data-testid="rope-score-shifted" data-value={String(view.shiftedScore)}>
              {formatScore(view.shiftedScore)}
            </dd>
            <dt>Difference</dt>
            <dd data-testid="rope-score-difference" data-value={String(view.shiftedScore - view.score)}>
              {formatDifference(view.shiftedScore - view.score)}
            </dd>
          </dl>
          <p class="rope-aside">
            For scale: ‖q‖‖k‖/√d = {formatScore(view.scale)}, the largest the score could be. The page rotates in double precision, whose rounding is
            about 1e−16 of that.
          </p>
          {pastContext && (
            <p class="rope-note" data-testid="rope-past-context">
              Position {Math.max(shiftedQ, shiftedK)} is past this model's context of {seqLen}: the engine would refuse to run there, but the rotation is
              defined at any position, and the score still depends only on the distance.
            </p>
          )}

          {distance && (
            <figure class="rope-distance" data-testid="rope-distance">
              <figcaption>
                The same query and key at every distance up to {distance.curve.length - 1} ({CURVE_CONTEXTS}× the context of {seqLen}); shaded: the
                distances seen in training.
              </figcaption>
              <DistancePlot
                curve={distance.curve}
                seqLen={seqLen}
                beyond={distance.beyond}
                current={sel.m - sel.n}
                label={`Score of this query and key against distance 0 to ${distance.curve.length - 1}; the context length ${seqLen} is marked.`}
              />
              <p
                data-testid="rope-beyond"
                data-trained-min={String(distance.beyond.trainedMin)}
                data-trained-max={String(distance.beyond.trainedMax)}
                data-outside={String(distance.beyond.outside)}
                data-beyond={String(distance.beyond.beyond)}
                data-slow-pairs={String(distance.slowPairs)}
              >
                Over the distances 0 to {seqLen - 1} the model was trained on, the score of this query and key stays between {formatScore(distance.beyond.trainedMin)}{' '}
                and {formatScore(distance.beyond.trainedMax)}.{' '}
                {distance.beyond.outside === 0
                  ? `None of the ${distance.beyond.beyond} distances past the context leaves that range here: the curve goes on mixing the same cosines.`
                  : `Past the context, ${distance.beyond.outside} of ${distance.beyond.beyond} distances leave that range (by up to ${formatScore(
                      distance.beyond.largestExcursion,
                    )}), the first at distance ${distance.beyond.firstOutside}.`}{' '}
                {distance.slowPairs > 0
                  ? `${distance.slowPairs} of the head's ${qk.headDim / 2} pairs turn less than once over the trained distances, so past them they reach angles the model never saw.`
                  : `Every pair of this head turns at least once within the trained distances.`}
              </p>
            </figure>
          )}
        </>
      )}
    </section>
  );
}

/** A choice of one of the prompt's tokens (which moves its position slider there too). */
function TokenSelect(props: { label: string; testId: string; pieces: string[]; value: number; onPick: (token: number) => void }) {
  return (
    <label>
      {props.label}
      <select data-testid={props.testId} value={String(props.value)} onChange={(e) => props.onPick(Number(e.currentTarget.value))}>
        {props.pieces.map((p, i) => (
          <option value={String(i)}>
            {i}: {showPiece(p)}
          </option>
        ))}
      </select>
    </label>
  );
}
