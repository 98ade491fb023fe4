/**
 * The engine behind the worker: one backend, at most one loaded model, requests answered one at a
 * time in arrival order (TF.js has one global backend, and interleaving a load with a generation
 * would only slow both). `stop` is the exception: it acts at once on a running generation.
 * Pure of the worker itself (engine.worker.ts wires it to `self`), so Node tests drive it directly.
 */
import { selectBackend, type SelectBackendOptions } from '../engine/backend.ts';
import { backendMemoryLimits } from '../engine/device-limits.ts';
import { generate } from '../engine/generate.ts';
import { messageOf } from '../engine/errors.ts';
import { assertGpuHealthy, withGpuErrorScopes } from '../engine/gpu-faults.ts';
import { inspectForwardAsync } from '../engine/inspect.ts';
import type { LoadProgress } from '../engine/io/byte-source.ts';
import { Llama } from '../engine/llama.ts';
import { parameterCount } from '../engine/params.ts';
import {
  codeOf,
  type BackendChoice,
  type EngineReply,
  type EngineRequest,
  type EngineStatus,
  type GenerateRequestOptions,
  type InspectResult,
  type LoadedModel,
  type LoadSpec,
  type Post,
  type TokenizeResult,
} from './protocol.ts';
import { byteSourceOf, openSpec, type OpenedSpec, type SourceDeps } from './sources.ts';
import { TASKS } from './tasks/registry.ts';
import type { TaskName } from './tasks/types.ts';

export interface EngineDeps extends SourceDeps {
  /** Where the wasm backend finds its binaries (bundled with the site in the browser). */
  wasmPaths?: SelectBackendOptions['wasmPaths'];
  /** Lets queued messages (a `stop`) in between generated tokens; see macrotask(). */
  yieldToEventLoop?: () => Promise<void>;
  /** The machine's memory where known: what bounds the cpu and webgl backends in the memory plan. */
  hostMemoryBytes?: number;
}

export interface EngineState {
  readonly deps: EngineDeps;
  status: EngineStatus;
  llama: Llama | null;
  backendChoice: BackendChoice;
  backendReady: Promise<void> | null;
  /** The tail of the request queue. */
  queue: Promise<void>;
  /** Abort controllers of generations and tasks, queued or running, by request id. */
  readonly cancellable: Map<number, AbortController>;
}

export function createEngineState(deps: EngineDeps): EngineState {
  return {
    deps,
    status: { state: 'idle', backend: null, backendReasons: [], model: null, progress: null, error: null },
    llama: null,
    backendChoice: 'auto',
    backendReady: null,
    queue: Promise.resolve(),
    cancellable: new Map(),
  };
}

/**
 * Waits for the next turn of the event loop. CPU and wasm backends resolve `tensor.data()` as a
 * microtask, so without this a generation would never see the `stop` message posted meanwhile.
 */
export function macrotask(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

function setStatus(state: EngineState, patch: Partial<EngineStatus>, post: Post): void {
  state.status = { ...state.status, ...patch };
  post({ type: 'status', status: state.status });
}

function ensureBackend(state: EngineState, post: Post): Promise<void> {
  state.backendReady ??= (async () => {
    try {
      const report = await selectBackend({ prefer: state.backendChoice, wasmPaths: state.deps.wasmPaths });
      const reasons = report.attempts.filter((a) => !a.ok).map((a) => a.reason ?? `${a.name}: unavailable`);
      if (report.requested !== 'auto') reasons.push(`${report.requested} was requested in the page address (?backend=${report.requested})`);
      setStatus(state, { backend: report.name, backendReasons: reasons }, post);
    } catch (e) {
      state.backendReady = null; // a later request may try again
      setStatus(state, { state: state.llama ? 'ready' : 'error', error: messageOf(e) }, post);
      throw e;
    }
  })();
  return state.backendReady;
}

function requireModel(state: EngineState): Llama {
  if (!state.llama) throw new Error('No model is loaded yet: load one first.');
  return state.llama;
}

/** Display text of a token: the special tokens by their usual names, other pieces as stored. */
function displayPiece(llama: Llama, id: number): string {
  if (id === llama.tokenizer.bosId) return '<s>';
  if (id === llama.tokenizer.eosId) return '</s>';
  return llama.tokenizer.pieceText(id);
}

function describeModel(llama: Llama, opened: OpenedSpec): LoadedModel {
  return {
    name: opened.label,
    config: { ...llama.config },
    parameters: parameterCount(llama.config),
    origin: opened.origin,
    tokenizerName: opened.tokenizer?.name ?? 'built into the GGUF file',
    weightFormat: llama.weightFormatDescription,
    weightBytes: llama.weightBytes,
  };
}

/** A GGUF file streams its tensors to the backend once its memory plan fits; a llama2.c one loads whole. */
function loadOpened(state: EngineState, files: OpenedSpec, onProgress: (p: LoadProgress) => void): Promise<Llama> {
  const model = { model: files.model.source, modelName: files.model.name, modelBytes: files.model.bytes, onProgress };
  if (files.format === 'gguf') return Llama.loadGguf({ ...model, limits: backendMemoryLimits(state.deps.hostMemoryBytes) });
  return Llama.load({
    ...model,
    model: byteSourceOf(files.model.source),
    tokenizer: byteSourceOf(files.tokenizer.source),
    tokenizerName: files.tokenizer.name,
    tokenizerBytes: files.tokenizer.bytes,
  });
}

async function load(state: EngineState, spec: LoadSpec, post: Post): Promise<LoadedModel> {
  await ensureBackend(state, post);
  setStatus(state, { state: 'loading', error: null, progress: { what: 'Opening the model files', loaded: 0, total: null } }, post);
  try {
    const files = await openSpec(spec, state.deps, (what, loaded, total) => setStatus(state, { progress: { what, loaded, total } }, post));
    const activity = (p: LoadProgress) => (p.name === files.tokenizer?.name ? files.tokenizer : files.model).activity;
    let llama: Llama;
    try {
      const opening = () =>
        loadOpened(state, files, (p) => {
          const total = p.totalBytes !== undefined && p.totalBytes >= p.loadedBytes ? p.totalBytes : null;
          setStatus(state, { progress: { what: activity(p), loaded: p.loadedBytes, total } }, post);
        });
      llama = await withGpuErrorScopes(`loading ${files.model.name}`, opening, (l) => l.dispose());
    } catch (e) {
      await files.model.discard();
      throw e;
    }
    const notes = (await Promise.all([files.tokenizer?.keep() ?? null, files.model.keep()])).filter((n) => n !== null);
    state.llama?.dispose();
    state.llama = llama;
    const model = describeModel(llama, files);
    setStatus(state, { state: 'ready', model, progress: null, error: notes.length ? notes.join('; ') : null }, post);
    return model;
  } catch (e) {
    // The previous model, if any, was never touched: it stays loaded and usable.
    setStatus(state, { state: state.llama ? 'ready' : 'error', progress: null, error: messageOf(e) }, post);
    throw e;
  }
}

async function runGeneration(
  state: EngineState,
  id: number,
  options: GenerateRequestOptions,
  signal: AbortSignal,
  post: Post,
) {
  const it = generate(requireModel(state), { ...options, signal });
  const pause = state.deps.yieldToEventLoop ?? macrotask;
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    post({ type: 'token', id, token: r.value });
    await pause();
  }
}

async function inspect(state: EngineState, prompt: string, position: number): Promise<{ result: InspectResult; transfer: Transferable[] }> {
  const llama = requireModel(state);
  const tokens = llama.tokenizer.encode(prompt, { bos: true });
  if (position >= llama.config.seqLen) {
    throw new Error(`position ${position} is past this model's context of ${llama.config.seqLen} tokens`);
  }
  const trace = await inspectForwardAsync(llama, tokens, position);
  // Transfer instead of copying; a buffer shared by two arrays may be listed only once.
  const buffers = new Set<ArrayBuffer>();
  for (const s of trace.steps) {
    const v = s.values;
    if (v.byteOffset !== 0 || v.byteLength !== v.buffer.byteLength || buffers.has(v.buffer as ArrayBuffer)) s.values = v.slice();
    buffers.add(s.values.buffer as ArrayBuffer);
  }
  return { result: { ...trace, pieces: tokens.map((t) => displayPiece(llama, t)) }, transfer: [...buffers] };
}

function tokenize(state: EngineState, text: string): TokenizeResult {
  const llama = requireModel(state);
  const ids = llama.tokenizer.encode(text, { bos: true });
  return { ids, pieces: ids.map((t) => displayPiece(llama, t)) };
}

function pieces(state: EngineState, ids: number[]): string[] {
  const llama = requireModel(state);
  return ids.map((t) => {
    if (!Number.isInteger(t) || t < 0 || t >= llama.config.vocabSize) throw new Error(`token id ${t} is outside this model's vocabulary (0..${llama.config.vocabSize - 1})`);
    return displayPiece(llama, t);
  });
}

async function runTask(state: EngineState, id: number, name: TaskName, args: unknown, signal: AbortSignal, post: Post) {
  const load = TASKS[name] as (() => Promise<(ctx: unknown, args: unknown) => Promise<{ result: unknown; transfer?: Transferable[] }>>) | undefined;
  if (!load) throw new Error(`unknown task "${String(name)}"`);
  const run = await load();
  return run(
    {
      model: () => requireModel(state),
      signal,
      progress: (data: unknown, transfer?: Transferable[]) => post({ type: 'progress', id, data }, transfer),
      pause: state.deps.yieldToEventLoop ?? macrotask,
    },
    args,
  );
}

/**
 * Runs `work` after every earlier request, answering `done` or `error`: an error too if the GPU
 * reported a fault meanwhile, since the result was read back from its work (gpu-faults.ts).
 */
function enqueue(state: EngineState, id: number, post: Post, work: () => Promise<{ result: unknown; transfer?: Transferable[] }>): Promise<void> {
  const run = async () => {
    try {
      const { result, transfer } = await work();
      assertGpuHealthy('this request');
      post({ type: 'done', id, result } as EngineReply, transfer);
    } catch (e) {
      post({ type: 'error', id, message: messageOf(e), code: codeOf(e) });
    }
  };
  state.queue = state.queue.then(run);
  return state.queue;
}

/** Like enqueue, with an abort signal registered now, so a stop sent while it waits in the queue counts. */
function enqueueCancellable(
  state: EngineState,
  id: number,
  post: Post,
  work: (signal: AbortSignal) => Promise<{ result: unknown; transfer?: Transferable[] }>,
): Promise<void> {
  const controller = new AbortController();
  state.cancellable.set(id, controller);
  return enqueue(state, id, post, async () => {
    try {
      return await work(controller.signal);
    } finally {
      state.cancellable.delete(id);
    }
  });
}

/**
 * Handles one request; resolves once it has been answered (tests await this, the worker need not).
 * Never rejects: failures are answered as `error` messages.
 */
export function handleRequest(state: EngineState, msg: EngineRequest, post: Post): Promise<void> {
  switch (msg.type) {
    case 'stop':
      state.cancellable.get(msg.id)?.abort();
      return Promise.resolve();
    case 'init':
      if (!state.backendReady) state.backendChoice = msg.backend;
      return enqueue(state, msg.id, post, async () => {
        await ensureBackend(state, post);
        return { result: state.status };
      });
    case 'load':
      return enqueue(state, msg.id, post, async () => ({ result: await load(state, msg.spec, post) }));
    case 'generate':
      return enqueueCancellable(state, msg.id, post, async (signal) => ({ result: await runGeneration(state, msg.id, msg.options, signal, post) }));
    case 'task':
      return enqueueCancellable(state, msg.id, post, (signal) => runTask(state, msg.id, msg.name, msg.args, signal, post));
    case 'inspect':
      return enqueue(state, msg.id, post, async () => inspect(state, msg.prompt, msg.position));
    case 'tokenize':
      return enqueue(state, msg.id, post, async () => ({ result: tokenize(state, msg.text) }));
    case 'pieces':
      return enqueue(state, msg.id, post, async () => ({ result: pieces(state, msg.ids) }));
    default: {
      const unknown = msg as { id?: number; type?: string };
      post({ type: 'error', id: unknown.id ?? -1, message: `unknown request type ${String(unknown.type)}`, code: 'bad-argument' });
      return Promise.resolve();
    }
  }
}
