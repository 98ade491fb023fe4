/**
 * The page's handle on its one engine. Every widget calls getEngine(); the first call starts the
 * worker (src/worker/engine.worker.ts), which picks the backend and keeps the model, so widgets
 * share one model and the main thread never runs a tensor op. Requests are numbered messages
 * (src/worker/protocol.ts); this side keeps a mirror of the worker's status for subscribers.
 */
import type { GeneratedToken, GenerationResult } from '../engine/generate.ts';
import {
  backendFromQuery,
  type BackendChoice,
  type EngineReply,
  type EngineRequest,
  type EngineStatus,
  type InspectResult,
  type LoadSpec,
  type ResultOf,
  type TokenizeResult,
  type GenerateRequestOptions,
} from '../worker/protocol.ts';
import type { TaskArgs, TaskName, TaskProgress, TaskResult } from '../worker/tasks/types.ts';
import { loadSpecFor, type ModelSource } from './model-sources.ts';

export type { EngineStatus, InspectResult, LoadedModel, TokenizeResult } from '../worker/protocol.ts';
export type { ModelSource } from './model-sources.ts';
export { REMOTE_MODELS } from './model-sources.ts';

export interface EngineClient {
  readonly status: EngineStatus;
  /** Called at once with the current status and again on every change; returns the unsubscribe. */
  subscribe(fn: (s: EngineStatus) => void): () => void;
  /** Loads the embedded model if no model is loaded (waits for a load already under way). */
  ensureLoaded(): Promise<void>;
  /** Rejects with a readable message; the previous model stays loaded and usable. */
  load(source: ModelSource): Promise<void>;
  generate(
    opts: GenerateRequestOptions,
    onToken: (t: GeneratedToken) => void,
  ): { result: Promise<GenerationResult>; stop(): void };
  /** The forward pass at `position` of BOS + the prompt's tokens. */
  inspect(prompt: string, position: number): Promise<InspectResult>;
  /** The ids the model sees for `text`, BOS first, with each token's display text. */
  tokenize(text: string): Promise<TokenizeResult>;
  /** Display text of any token ids (beyond the contract; ForwardStepper names top logits with it). */
  pieces(ids: number[]): Promise<string[]>;
  /** Runs a named job of src/worker/tasks on the loaded model; `stop` aborts it. */
  task<N extends TaskName>(
    name: N,
    args: TaskArgs<N>,
    onProgress?: (p: TaskProgress<N>) => void,
  ): { result: Promise<TaskResult<N>>; stop(): void };
}

/** A failure the worker reported: `message` is for people, `code` (EngineError codes) for code. */
export class EngineRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'EngineRequestError';
  }
}

/** The part of a Worker the client uses; tests pass an in-process stand-in. */
export interface EnginePort {
  postMessage(msg: EngineRequest, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<EngineReply>) => void) | null;
  onerror?: ((event: ErrorEvent) => void) | null;
}

interface Pending {
  resolve(value: unknown): void;
  reject(e: Error): void;
  onToken?: (t: GeneratedToken) => void;
  onProgress?: (data: unknown) => void;
}

const INITIAL_STATUS: EngineStatus = { state: 'idle', backend: null, backendReasons: [], model: null, progress: null, error: null };

export interface EngineClientOptions {
  /** Absolute URL of the site's root, where models/default/ is served. */
  siteRoot: string;
  backend: BackendChoice;
}

class WorkerEngineClient implements EngineClient {
  status: EngineStatus = INITIAL_STATUS;
  private readonly listeners = new Set<(s: EngineStatus) => void>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** The load in flight, so ensureLoaded waits for it instead of starting another. */
  private currentLoad: Promise<void> | null = null;

  constructor(
    private readonly port: EnginePort,
    private readonly options: EngineClientOptions,
  ) {
    port.onmessage = (event) => this.receive(event.data);
    port.onerror = (event) => this.fail(`The engine could not start: ${event.message || 'the worker script failed to load'}`);
    void this.request('init', { backend: options.backend }).catch(() => {
      // Already shown through the status (error + reason); widgets see it there.
    });
  }

  subscribe(fn: (s: EngineStatus) => void): () => void {
    this.listeners.add(fn);
    fn(this.status);
    return () => this.listeners.delete(fn);
  }

  async ensureLoaded(): Promise<void> {
    while (this.currentLoad) await this.currentLoad.catch(() => {});
    if (this.status.model) return;
    await this.load({ kind: 'embedded' });
  }

  load(source: ModelSource): Promise<void> {
    let spec: LoadSpec;
    try {
      spec = loadSpecFor(source, this.options.siteRoot);
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this.request('load', { spec }).then(() => {});
    const tracked = run.finally(() => {
      if (this.currentLoad === tracked) this.currentLoad = null;
    });
    this.currentLoad = tracked;
    return tracked;
  }

  generate(opts: GenerateRequestOptions, onToken: (t: GeneratedToken) => void) {
    return this.stoppable(() => this.send('generate', { options: opts }, { onToken }));
  }

  task<N extends TaskName>(name: N, args: TaskArgs<N>, onProgress?: (p: TaskProgress<N>) => void) {
    return this.stoppable(() => {
      const { id, promise } = this.send('task', { name, args }, { onProgress: onProgress as (data: unknown) => void });
      return { id, promise: promise as Promise<TaskResult<N>> };
    });
  }

  /** Sends after the model is loaded; `stop` works before and after the request is sent. */
  private stoppable<T>(start: () => { id: number; promise: Promise<T> }): { result: Promise<T>; stop(): void } {
    let id: number | null = null;
    let stopped = false;
    const result = (async () => {
      await this.ensureLoaded();
      const sent = start();
      id = sent.id;
      if (stopped) this.port.postMessage({ type: 'stop', id: sent.id });
      return sent.promise;
    })();
    return {
      result,
      stop: () => {
        stopped = true;
        if (id !== null) this.port.postMessage({ type: 'stop', id });
      },
    };
  }

  async inspect(prompt: string, position: number): Promise<InspectResult> {
    await this.ensureLoaded();
    return this.request('inspect', { prompt, position });
  }

  async tokenize(text: string): Promise<TokenizeResult> {
    await this.ensureLoaded();
    return this.request('tokenize', { text });
  }

  async pieces(ids: number[]): Promise<string[]> {
    await this.ensureLoaded();
    return this.request('pieces', { ids });
  }

  private request<T extends keyof ResultOf>(type: T, body: DistributiveOmit<Extract<EngineRequest, { type: T }>, 'type' | 'id'>): Promise<ResultOf[T]> {
    return this.send(type, body).promise;
  }

  private send<T extends keyof ResultOf>(
    type: T,
    body: DistributiveOmit<Extract<EngineRequest, { type: T }>, 'type' | 'id'>,
    listeners: Pick<Pending, 'onToken' | 'onProgress'> = {},
  ): { id: number; promise: Promise<ResultOf[T]> } {
    const id = this.nextId++;
    const promise = new Promise<ResultOf[T]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...listeners });
    });
    this.port.postMessage({ type, id, ...body } as EngineRequest);
    return { id, promise };
  }

  private receive(reply: EngineReply): void {
    if (reply.type === 'status') {
      this.setStatus(reply.status);
      return;
    }
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    if (reply.type === 'token') {
      pending.onToken?.(reply.token);
      return;
    }
    if (reply.type === 'progress') {
      pending.onProgress?.(reply.data);
      return;
    }
    this.pending.delete(reply.id);
    if (reply.type === 'done') pending.resolve(reply.result);
    else pending.reject(new EngineRequestError(reply.message, reply.code));
  }

  /** The worker itself died: nothing pending will ever be answered. */
  private fail(message: string): void {
    this.setStatus({ ...this.status, state: 'error', progress: null, error: message });
    for (const p of this.pending.values()) p.reject(new EngineRequestError(message, null));
    this.pending.clear();
  }

  private setStatus(status: EngineStatus): void {
    this.status = status;
    for (const fn of this.listeners) fn(status);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function createEngineClient(port: EnginePort, options: EngineClientOptions): EngineClient {
  return new WorkerEngineClient(port, options);
}

let engine: EngineClient | null = null;

/** The page's engine, created (and its worker started) on the first call. Browser only. */
export function getEngine(): EngineClient {
  if (!engine) {
    const worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'llama-engine' });
    const siteRoot = new URL(import.meta.env.BASE_URL, window.location.href).href;
    engine = createEngineClient(worker as unknown as EnginePort, { siteRoot, backend: backendFromQuery(window.location.search) });
  }
  return engine;
}
