/**
 * The model in this page: engine status, the compute backend (and why the faster ones were not
 * used), the loaded model's shape and size, load progress, errors in words, and the picker
 * (embedded model, TinyStories checkpoints or Llama-2-7B-Chat from the internet, or the reader's own
 * files: a llama2.c checkpoint with its tokenizer, or one GGUF file).
 * Every widget on the page shares this one engine (src/client/engine-client.ts).
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { attentionKind } from '../../src/engine/config.ts';
import type { EngineStatus, LoadedModel } from '../../src/client/engine-client.ts';
import { REMOTE_MODELS, type ModelSource } from '../../src/client/model-sources.ts';
import { formatBytes, formatCount, formatProgress, percent } from '../../src/client/format.ts';
import { isGgufBlob } from '../../src/engine/gguf/magic.ts';
import { useEngine } from '../../src/client/use-engine.ts';
import { sortDropped, type FilePair } from './model-panel/pick-files.ts';
import { messageOf } from '../../src/engine/errors.ts';
import './widget.css';
import './model-panel/model-panel.css';

const EMBEDDED = 'embedded';
const FILES = 'files';

function statusLine(s: EngineStatus): string {
  switch (s.state) {
    case 'idle':
      return s.backend
        ? 'No model loaded yet. The embedded model loads when a widget first needs it, or choose one below.'
        : 'Starting the engine and choosing a compute backend…';
    case 'loading':
      return `Loading: ${s.progress?.what ?? 'starting'}…`;
    case 'ready':
      return s.model ? `Ready: ${s.model.name} on ${s.backend}.` : 'Ready.';
    case 'error':
      return 'The engine could not load a model (see the message below).';
  }
}

function ConfigSummary({ model }: { model: LoadedModel }) {
  const c = model.config;
  return (
    <>
      <dt>Shape</dt>
      <dd data-testid="model-config">
        dimension {c.dim} · {c.nLayers} layers · {c.nHeads} query heads, {c.nKvHeads} key/value heads ({attentionKind(c)}) ·
        feed-forward {c.hiddenDim} · vocabulary {formatCount(c.vocabSize)} · context {formatCount(c.seqLen)} tokens
      </dd>
      <dt>Parameters</dt>
      <dd data-testid="model-parameters">{formatCount(model.parameters)}</dd>
      <dt>Weights</dt>
      <dd data-testid="model-weights">
        <span data-testid="model-weight-format">{model.weightFormat}</span>, {formatBytes(model.weightBytes)} on the backend
      </dd>
    </>
  );
}

export default function ModelPanel() {
  const id = useId();
  const { engine, status } = useEngine();
  const [choice, setChoice] = useState<string>(EMBEDDED);
  const [files, setFiles] = useState<FilePair<File>>({ model: null, tokenizer: null });
  // Whether the chosen model file is GGUF (then it needs no tokenizer file), from its first bytes.
  const [modelIsGguf, setModelIsGguf] = useState(false);
  useEffect(() => {
    let current = true;
    const file = files.model;
    if (!file) setModelIsGguf(false);
    else isGgufBlob(file).then((gguf) => current && setModelIsGguf(gguf), () => current && setModelIsGguf(false));
    return () => {
      current = false;
    };
  }, [files.model]);
  const [localError, setLocalError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const loading = status.state === 'loading';
  const remote = REMOTE_MODELS.find((m) => m.id === choice);
  // A choice made before this island hydrated is in the DOM only; adopt it (see Playground).
  const selectRef = useRef<HTMLSelectElement>(null);
  useEffect(() => {
    if (selectRef.current) setChoice(selectRef.current.value);
  }, []);

  const load = async () => {
    if (!engine) return;
    let source: ModelSource;
    if (choice === FILES) {
      const gguf = files.model ? await isGgufBlob(files.model).catch(() => false) : false;
      if (!files.model || (!gguf && !files.tokenizer)) {
        setLocalError('Choose a model file first: one GGUF file (.gguf), or a llama2.c checkpoint (.bin) and its tokenizer (.bin).');
        return;
      }
      source = { kind: 'files', model: files.model, tokenizer: gguf ? null : files.tokenizer };
    } else {
      source = choice === EMBEDDED ? { kind: 'embedded' } : { kind: 'url', id: choice };
    }
    setLocalError(null);
    try {
      await engine.load(source);
    } catch (e) {
      // Failures inside the worker already show through status.error; this catches the rest.
      if (!engine.status.error) setLocalError(messageOf(e));
    }
  };

  const onDrop = async (event: JSX.TargetedDragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    const dropped = [...(event.dataTransfer?.files ?? [])];
    if (!dropped.length) return;
    setChoice(FILES);
    const kinds = await Promise.all(dropped.map((f) => isGgufBlob(f).catch(() => false)));
    setFiles((current) => sortDropped(dropped, current, (f) => kinds[dropped.indexOf(f)]));
  };

  const pickFile = (slot: keyof FilePair<File>) => (event: JSX.TargetedEvent<HTMLInputElement>) => {
    const file = event.currentTarget.files?.[0] ?? null;
    setFiles((current) => ({ ...current, [slot]: file }));
  };

  const error = localError ?? status.error;
  const progress = status.progress;

  return (
    <section class="widget model-panel" aria-labelledby={`${id}-heading`} data-testid="model-panel">
      <h2 id={`${id}-heading`}>The model in this page</h2>
      <p class="model-status" role="status" aria-live="polite" data-testid="model-status" data-state={status.state}>
        {statusLine(status)}
      </p>

      <dl class="model-facts">
        <dt>Backend</dt>
        <dd>
          <span data-testid="model-backend">
            <strong>{status.backend ?? 'choosing…'}</strong>
          </span>
          {status.backend && status.backend !== 'webgpu' && status.backendReasons.length > 0 && (
            <>
              {' '}
              <span class="muted">(faster backends were not used)</span>
              <ul class="model-reasons" data-testid="model-backend-reasons" aria-label="Why the preferred backends were not used">
                {status.backendReasons.map((r) => (
                  <li key={r}>{r}</li>
                ))}
              </ul>
            </>
          )}
        </dd>
        <dt>Model</dt>
        <dd data-testid="model-name">
          {status.model ? (
            <>
              {status.model.name} <span class="muted">({status.model.origin}; tokenizer {status.model.tokenizerName})</span>
            </>
          ) : (
            'none loaded yet'
          )}
        </dd>
        {status.model && <ConfigSummary model={status.model} />}
      </dl>

      {progress && (
        <div class="model-progress" data-testid="model-progress">
          <label for={`${id}-progress`}>{progress.what}</label>
          {progress.total ? (
            <progress id={`${id}-progress`} max={progress.total} value={progress.loaded} aria-valuetext={`${percent(progress.loaded, progress.total)}%`} />
          ) : (
            <progress id={`${id}-progress`} />
          )}
          <span class="model-progress-bytes">{formatProgress(progress.loaded, progress.total)}</span>
        </div>
      )}

      {error && (
        <p class="model-error" role="alert" data-testid="model-error">
          {error}
          {status.model && status.error === error && !error.includes('cached') ? (
            <span class="muted"> The model already loaded ({status.model.name}) is still in use.</span>
          ) : null}
        </p>
      )}

      <form
        class="model-picker"
        aria-labelledby={`${id}-picker`}
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <h3 id={`${id}-picker`}>Choose a model</h3>
        <label for={`${id}-choice`}>Model</label>
        <select ref={selectRef} id={`${id}-choice`} data-testid="model-choice" value={choice} onChange={(e) => setChoice(e.currentTarget.value)}>
          <option value={EMBEDDED}>Embedded TinyStories model (offline)</option>
          <optgroup label="Downloaded from Hugging Face (needs the internet)">
            {REMOTE_MODELS.map((m) => (
              <option key={m.id} value={m.id}>
                {m.title} ({formatBytes(m.modelBytes + m.tokenizerBytes)})
              </option>
            ))}
          </optgroup>
          <option value={FILES}>My own files (GGUF or llama2.c)…</option>
        </select>
        {remote && (
          <p class="muted model-choice-note" data-testid="model-choice-note">
            {remote.title}: {remote.description}.{' '}
            {remote.requirement ? `It ${remote.requirement}. ` : ''}
            {remote.tokenizerUrl === null
              ? `Streams ${formatBytes(remote.modelBytes)} once, then the browser keeps it for next time.`
              : `Downloads ${formatBytes(remote.modelBytes)} plus a ${formatBytes(remote.tokenizerBytes)} tokenizer once; the browser keeps them for next time.`}
          </p>
        )}
        {choice === FILES && (
          <div class="model-files">
            <p class="muted">
              A GGUF file of a Llama model (<code>.gguf</code>: F32, F16, Q8_0, Q4_0 or Q6_K tensors; its tokenizer is inside), or a
              float32 llama2.c checkpoint (<code>.bin</code>, as <code>export.py --version 0</code> writes it) and its tokenizer (
              <code>tokenizer.bin</code> or <code>tok512.bin</code>). The files stay on this device; a GGUF file is read piece by
              piece, never whole.
            </p>
            <label for={`${id}-model-file`}>Model file (.gguf or .bin)</label>
            <input
              id={`${id}-model-file`}
              type="file"
              accept=".gguf,.bin,application/octet-stream"
              data-testid="model-file"
              aria-describedby={modelIsGguf ? `${id}-gguf-note` : undefined}
              onChange={pickFile('model')}
            />
            {modelIsGguf ? (
              <p class="muted" id={`${id}-gguf-note`} data-testid="model-file-kind">
                A GGUF file: its tokenizer is inside, so no tokenizer file is needed.
              </p>
            ) : (
              <>
                <label for={`${id}-tok-file`}>Tokenizer file (llama2.c checkpoints only)</label>
                <input id={`${id}-tok-file`} type="file" accept=".bin,application/octet-stream" data-testid="tokenizer-file" onChange={pickFile('tokenizer')} />
              </>
            )}
          </div>
        )}
        <div
          class={`model-drop${dragging ? ' dragging' : ''}`}
          data-testid="model-drop"
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          Or drop a GGUF file, or a checkpoint and its tokenizer, here.
          {(files.model || files.tokenizer) && (
            <span class="model-drop-files" data-testid="model-drop-files">
              {' '}
              Model: {files.model ? `${files.model.name} (${formatBytes(files.model.size)})` : 'not chosen'};{' '}
              {modelIsGguf
                ? 'tokenizer: inside the GGUF file.'
                : `tokenizer: ${files.tokenizer ? `${files.tokenizer.name} (${formatBytes(files.tokenizer.size)})` : 'not chosen'}.`}
            </span>
          )}
        </div>
        <button type="submit" data-testid="model-load" disabled={!engine || loading}>
          {loading ? 'Loading…' : 'Load'}
        </button>
      </form>

      <p class="muted model-note">
        The model runs in a background thread of this page with TensorFlow.js: on WebGPU when the browser offers it, otherwise
        WebGL, then WebAssembly, then plain JavaScript. Add <code>?backend=wasm</code> (or <code>webgpu</code>, <code>webgl</code>,{' '}
        <code>cpu</code>) to the address to use one backend only. Nothing you type or load leaves your device.
      </p>
    </section>
  );
}
