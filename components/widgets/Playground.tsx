/**
 * Chapter 12's playground: a prompt and the sampling settings, Generate and Stop, and the output
 * token by token as the worker streams it. Each token is coloured by the probability the model
 * gave it, and its top alternatives show on hover and on keyboard focus (arrow keys move between
 * tokens). The first Generate loads the embedded model if no model is loaded yet. In chat mode the
 * prompt is wrapped in the Llama 2-Chat format (src/engine/chat-format.ts), shown as the model reads it.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { chatText, looksLikeChatModel, type ChatSpec } from '../../src/engine/chat-format.ts';
import type { GeneratedToken, GenerationResult } from '../../src/engine/generate.ts';
import { BOS_ID, EOS_ID } from '../../src/engine/tokenizer/special-ids.ts';
import type { LoadedModel } from '../../src/worker/protocol.ts';
import { formatProbability, formatProgress, percent } from '../../src/client/format.ts';
import { GENERATION_DEFAULTS } from '../../src/engine/generation-defaults.ts';
import { useEngine } from '../../src/client/use-engine.ts';
import { BANDS, bandOf, readablePiece, visibleText } from './playground/tokens.ts';
import { messageOf } from '../../src/engine/errors.ts';
import './widget.css';
import './playground/playground.css';

type RunState = 'idle' | 'running' | 'done' | 'error';

interface Settings {
  prompt: string;
  /** Chat mode only; blank means no system block. */
  system: string;
  temperature: string;
  topP: string;
  topK: string;
  seed: string;
  steps: string;
}

const INITIAL: Settings = {
  prompt: 'Once upon a time',
  system: '',
  temperature: String(GENERATION_DEFAULTS.temperature),
  topP: String(GENERATION_DEFAULTS.topP),
  topK: '0',
  seed: '42',
  steps: String(GENERATION_DEFAULTS.steps),
};

/** The reader's message as a one-turn Llama 2-Chat dialogue. */
const chatOf = (s: Settings): ChatSpec => ({ system: s.system.trim() === '' ? undefined : s.system, turns: [{ user: s.prompt }] });

/** The settings as engine options, or the first thing wrong with them in words. */
function parseSettings(s: Settings, chat: boolean) {
  const num = (v: string, what: string, min: number, max: number, integer = false): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new Error(`${what} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}.`);
    }
    return n;
  };
  if (chat) chatText(chatOf(s)); // refuses an empty message in words before the worker is asked
  return {
    prompt: chat ? chatOf(s) : s.prompt,
    temperature: num(s.temperature, 'Temperature', 0, 2),
    topP: num(s.topP, 'Top-p', 0, 1),
    topK: num(s.topK, 'Top-k', 0, 1_000_000, true),
    seed: num(s.seed, 'Seed', 0, 2 ** 53 - 1, true),
    steps: num(s.steps, 'Steps', 1, 1_000_000, true),
    alternatives: GENERATION_DEFAULTS.alternatives,
  };
}

function speedLine(state: RunState, tokens: GeneratedToken[], result: GenerationResult | null, startedAt: number): string {
  const generated = tokens.filter((t) => !t.fromPrompt).length;
  if (result) {
    const why = { steps: 'reached the step limit', bos: 'the model ended the story', eos: 'the model ended its answer', aborted: 'stopped' }[result.stopReason];
    return `${generated} new tokens at ${result.tokensPerSecond.toFixed(1)} tokens/s (prompt: ${result.promptTokens} tokens at ${result.prefillTokensPerSecond.toFixed(0)} tokens/s); ${why}.`;
  }
  if (state === 'running' && generated > 0) {
    const seconds = (performance.now() - startedAt) / 1000;
    return `${generated} new tokens, ${(generated / Math.max(seconds, 1e-3)).toFixed(1)} tokens/s so far…`;
  }
  if (state !== 'running') return '';
  // A long prompt is read in chunks (engine/prefill.ts): its tokens arrive chunk by chunk.
  const read = tokens.length - 1; // after BOS
  return read > 0 ? `Reading the prompt: ${read} tokens so far…` : 'Running the prompt…';
}

/** Why the loaded (or about to load) model will not follow the chat format, or null for a chat model. */
function notChatModelNote(model: LoadedModel | null): string | null {
  if (!model) {
    return 'No model is loaded yet: Generate loads the embedded story model, which is not a chat model. It has never seen [INST] or <<SYS>>, so it will treat them as story text; try it anyway to see what the format looks like to a model.';
  }
  const vocabSize = model.config.vocabSize;
  if (looksLikeChatModel({ name: model.name, vocabSize })) return null;
  const why = vocabSize !== 32000 ? `its vocabulary has ${vocabSize.toLocaleString('en-US')} pieces, not Llama 2’s 32,000` : 'its name does not say “chat”';
  return `${model.name} is not a Llama 2-Chat model (${why}). It was not fine-tuned on this format, so do not expect it to answer; you can still try it.`;
}

function TokenDetails({ token, id }: { token: GeneratedToken; id: string }) {
  const p = token.logprob === null ? null : Math.exp(token.logprob);
  return (
    <div class="pg-details" id={id} role="tooltip" data-testid="playground-token-details">
      <p>
        <strong>“{readablePiece(visibleText(token.text, token.id))}”</strong> (token {token.id}, position {token.position})
        {token.position === 0
          ? ': the start-of-text token every sequence begins with.'
          : token.fromPrompt && (token.id === BOS_ID || token.id === EOS_ID)
            ? `: the ${token.id === BOS_ID ? 'start' : 'end'}-of-text token, which the chat format puts around every turn.`
            : p === null
              ? '.'
              : token.fromPrompt
                ? `: from the prompt; the model gave it ${formatProbability(p)}.`
                : `: the model gave it ${formatProbability(p)}.`}
      </p>
      {token.top.length > 0 && (
        <table>
          <caption>The model’s top {token.top.length} choices here</caption>
          <thead>
            <tr>
              <th scope="col">Token</th>
              <th scope="col">Probability</th>
            </tr>
          </thead>
          <tbody>
            {token.top.map((a) => (
              <tr key={a.id} class={a.id === token.id ? 'chosen' : undefined}>
                <td>
                  <code>“{readablePiece(a.piece)}”</code>
                  {a.id === token.id ? ' (chosen)' : ''}
                </td>
                <td>{formatProbability(Math.exp(a.logprob))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export default function Playground() {
  const id = useId();
  const { engine, status } = useEngine();
  const [settings, setSettings] = useState<Settings>(INITIAL);
  const [chat, setChat] = useState(false);
  const [state, setState] = useState<RunState>('idle');
  const [tokens, setTokens] = useState<GeneratedToken[]>([]);
  const [result, setResult] = useState<GenerationResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The token whose details show (hovered or focused), and the one in the tab order. */
  const [shown, setShown] = useState<number | null>(null);
  const [focusable, setFocusable] = useState(0);
  const [startedAt, setStartedAt] = useState(0);
  const [tipAt, setTipAt] = useState<{ top: number; left: number }>({ top: 0, left: 0 });
  const stopRef = useRef<(() => void) | null>(null);
  const outputRef = useRef<HTMLDivElement>(null);
  // Tokens arrive faster than the screen refreshes: collect them and render once per frame.
  const pending = useRef<GeneratedToken[]>([]);
  const frame = useRef(0);

  useEffect(() => () => stopRef.current?.(), []);

  // Whatever the reader typed before this island hydrated is in the DOM but not in the state;
  // adopt it now, or the next render would put the server-rendered defaults back.
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    const typed: Partial<Settings> = {};
    formRef.current?.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('[data-field]').forEach((el) => {
      typed[el.dataset.field as keyof Settings] = el.value;
    });
    setSettings((s) => ({ ...s, ...typed }));
  }, []);

  const flush = () => {
    frame.current = 0;
    const batch = pending.current;
    pending.current = [];
    if (batch.length) setTokens((t) => [...t, ...batch]);
  };

  const run = async () => {
    if (!engine || state === 'running') return;
    let options: ReturnType<typeof parseSettings>;
    try {
      options = parseSettings(settings, chat);
    } catch (e) {
      setError((e as Error).message);
      setState('error');
      return;
    }
    setError(null);
    setResult(null);
    setTokens([]);
    setShown(null);
    setFocusable(0);
    pending.current = [];
    setState('running');
    setStartedAt(performance.now());
    const handle = engine.generate(options, (t) => {
      pending.current.push(t);
      frame.current ||= requestAnimationFrame(flush);
    });
    stopRef.current = handle.stop;
    try {
      const r = await handle.result;
      cancelAnimationFrame(frame.current);
      flush();
      setResult(r);
      setState('done');
    } catch (e) {
      cancelAnimationFrame(frame.current);
      flush();
      setError(messageOf(e));
      setState('error');
    } finally {
      stopRef.current = null;
    }
  };

  const show = (i: number, el: HTMLElement) => {
    setShown(i);
    // Under the token, kept inside the output box.
    const box = outputRef.current;
    const width = box?.clientWidth ?? 320;
    setTipAt({ top: el.offsetTop + el.offsetHeight + 4, left: Math.max(0, Math.min(el.offsetLeft, width - 280)) });
  };

  const onKeyDown = (event: JSX.TargetedKeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'Escape') {
      setShown(null);
      return;
    }
    const moves: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    let next: number | null = null;
    if (event.key in moves) next = focusable + moves[event.key];
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = tokens.length - 1;
    if (next === null || !tokens.length) return;
    event.preventDefault();
    next = Math.max(0, Math.min(tokens.length - 1, next));
    setFocusable(next);
    outputRef.current?.querySelector<HTMLElement>(`[data-index="${next}"]`)?.focus();
  };

  const field = (key: keyof Settings) => ({
    id: `${id}-${key}`,
    'data-field': key,
    value: settings[key],
    onInput: (e: JSX.TargetedEvent<HTMLInputElement | HTMLTextAreaElement>) => {
      const value = e.currentTarget.value;
      setSettings((s) => ({ ...s, [key]: value }));
    },
  });

  const running = state === 'running';
  const seqLen = status.model?.config.seqLen;
  const tipId = `${id}-tip`;
  const loadingModel = running && status.state === 'loading' && status.progress;
  const chatNote = chat ? notChatModelNote(status.model) : null;
  let formatted: { text: string } | { refused: string } | null = null;
  if (chat) {
    try {
      formatted = { text: chatText(chatOf(settings)) };
    } catch (e) {
      formatted = { refused: (e as Error).message };
    }
  }

  return (
    <section class="widget widget-plain playground" aria-labelledby={`${id}-heading`} data-testid="playground" data-state={state}>
      <h2 id={`${id}-heading`}>Playground</h2>
      <form
        ref={formRef}
        class="pg-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label class="pg-prompt-label" for={`${id}-prompt`}>
          Prompt
        </label>
        {/* Uncontrolled: Preact sets a textarea's value even while hydrating, which would wipe what
            the reader typed before the island woke up; the effect above adopts that text instead. */}
        <textarea class="pg-prompt" rows={3} data-testid="playground-prompt" {...field('prompt')} value={undefined} defaultValue={INITIAL.prompt} />
        <div class="pg-chat">
          <label class="pg-check">
            <input type="checkbox" data-testid="playground-chat" checked={chat} aria-describedby={`${id}-chat-hint`} onChange={(e) => setChat(e.currentTarget.checked)} />
            Chat format (Llama 2-Chat)
          </label>
          <small id={`${id}-chat-hint`}>wraps the prompt as the paper’s chat models were fine-tuned to read it; stops at the end-of-text token</small>
          {chat && (
            <>
              <label for={`${id}-system`}>System prompt (optional)</label>
              <textarea class="pg-prompt" rows={2} data-testid="playground-system" {...field('system')} />
              {chatNote && (
                <p class="pg-note" data-testid="playground-chat-note">
                  {chatNote}
                </p>
              )}
              <h3>What the model reads</h3>
              {formatted && 'text' in formatted ? (
                <pre class="pg-formatted" data-testid="playground-chat-prompt">
                  {formatted.text}
                </pre>
              ) : (
                <p class="pg-error" data-testid="playground-chat-refused">
                  {formatted?.refused}
                </p>
              )}
            </>
          )}
        </div>
        <div class="pg-settings">
          <div>
            <label for={`${id}-temperature`}>Temperature</label>
            <input type="number" min={0} max={2} step={0.05} data-testid="playground-temperature" aria-describedby={`${id}-temperature-hint`} {...field('temperature')} />
            <small id={`${id}-temperature-hint`}>0 = greedy: always the most likely token</small>
          </div>
          <div>
            <label for={`${id}-topP`}>Top-p</label>
            <input type="number" min={0} max={1} step={0.05} data-testid="playground-top-p" aria-describedby={`${id}-topP-hint`} {...field('topP')} />
            <small id={`${id}-topP-hint`}>sample from the smallest set holding this much probability; 1 = all</small>
          </div>
          <div>
            <label for={`${id}-topK`}>Top-k</label>
            <input type="number" min={0} step={1} data-testid="playground-top-k" aria-describedby={`${id}-topK-hint`} {...field('topK')} />
            <small id={`${id}-topK-hint`}>keep only the k most likely tokens; 0 = off</small>
          </div>
          <div>
            <label for={`${id}-seed`}>Seed</label>
            <input type="number" min={0} step={1} data-testid="playground-seed" aria-describedby={`${id}-seed-hint`} {...field('seed')} />
            <small id={`${id}-seed-hint`}>same seed and settings, same story</small>
          </div>
          <div>
            <label for={`${id}-steps`}>Steps</label>
            <input type="number" min={1} max={seqLen} step={1} data-testid="playground-steps" aria-describedby={`${id}-steps-hint`} {...field('steps')} />
            <small id={`${id}-steps-hint`}>
              positions to run, prompt included (at most the context{seqLen ? `, ${seqLen}` : ''})
            </small>
          </div>
        </div>
        <div class="pg-buttons">
          <button type="submit" data-testid="playground-run" disabled={!engine || running}>
            Generate
          </button>
          <button type="button" data-testid="playground-stop" disabled={!running} onClick={() => stopRef.current?.()}>
            Stop
          </button>
        </div>
      </form>

      {loadingModel && (
        <div class="pg-loading" data-testid="playground-progress">
          <label for={`${id}-progress`}>Loading the model first: {loadingModel.what}</label>
          {loadingModel.total ? (
            <progress id={`${id}-progress`} max={loadingModel.total} value={loadingModel.loaded} aria-valuetext={`${percent(loadingModel.loaded, loadingModel.total)}%`} />
          ) : (
            <progress id={`${id}-progress`} />
          )}
          <span>{formatProgress(loadingModel.loaded, loadingModel.total)}</span>
        </div>
      )}

      {error && (
        <p class="pg-error" role="alert" data-testid="playground-error">
          {error}
        </p>
      )}

      <h3 id={`${id}-output-heading`}>Output</h3>
      <div
        ref={outputRef}
        class="pg-output"
        data-testid="playground-output"
        role="group"
        aria-labelledby={`${id}-output-heading`}
        aria-describedby={`${id}-keys`}
        aria-busy={running}
        onKeyDown={onKeyDown}
        onMouseLeave={() => setShown(null)}
      >
        {tokens.length === 0 && <span class="pg-empty">{running ? '…' : 'Press Generate to write a story.'}</span>}
        {tokens.map((t, i) => {
          const special = t.id === BOS_ID || t.id === EOS_ID;
          const band = t.logprob === null || special ? null : bandOf(t.logprob);
          const cls = ['pg-token', special ? 'pg-bos' : t.fromPrompt ? 'pg-prompt-token' : `pg-${band?.id ?? 'none'}`].join(' ');
          return (
            <span
              key={i}
              class={cls}
              data-index={i}
              data-token-id={t.id}
              data-logprob={t.logprob ?? undefined}
              data-prompt={t.fromPrompt ? '' : undefined}
              tabIndex={i === focusable ? 0 : -1}
              aria-describedby={shown === i ? tipId : undefined}
              onMouseEnter={(e) => show(i, e.currentTarget)}
              onFocus={(e) => {
                setFocusable(i);
                show(i, e.currentTarget);
              }}
              onBlur={() => setShown((s) => (s === i ? null : s))}
            >
              {visibleText(t.text, t.id)}
            </span>
          );
        })}
        {shown !== null && tokens[shown] && (
          <div class="pg-tip" style={{ top: `${tipAt.top}px`, left: `${tipAt.left}px` }}>
            <TokenDetails token={tokens[shown]} id={tipId} />
          </div>
        )}
      </div>
      <p id={`${id}-keys`} class="pg-hint">
        Hover over a token, or focus the output and use the arrow keys, to see the model’s alternatives.
      </p>

      <p class="pg-speed" data-testid="playground-speed">
        {speedLine(state, tokens, result, startedAt)}
      </p>
      {/* Announced once per run, not on every token: the live speed line would be read out endlessly. */}
      <p class="pg-sr-only" aria-live="polite">
        {state === 'done' ? `Finished. ${speedLine(state, tokens, result, startedAt)}` : ''}
      </p>

      <ul class="pg-legend" aria-label="Colour legend: probability the model gave each generated token">
        <li>
          <span class="pg-swatch pg-prompt-token">prompt</span> given to the model
        </li>
        {BANDS.map((b) => (
          <li key={b.id}>
            <span class={`pg-swatch pg-${b.id}`}>{b.id}</span> {b.label}
          </li>
        ))}
      </ul>
    </section>
  );
}
