/**
 * The messages between the page (src/client/engine-client.ts) and the engine worker
 * (src/worker/engine.worker.ts). Types and tiny pure helpers only: importing this module must
 * never pull TensorFlow.js into the page's bundle, so everything from src/engine is `import type`.
 */
import type { BackendName } from '../engine/backend.ts';
import type { LlamaConfig } from '../engine/config.ts';
import type { GeneratedToken, GenerateOptions, GenerationResult } from '../engine/generate.ts';
import type { ForwardTrace } from '../engine/inspect.ts';
import type { TaskName } from './tasks/types.ts';

/** Mirrors BACKEND_ORDER (src/engine/backend.ts) without importing TF.js into the page. */
export const BACKEND_NAMES = ['webgpu', 'webgl', 'wasm', 'cpu'] as const satisfies readonly BackendName[];

export type BackendChoice = BackendName | 'auto';

/** `?backend=webgpu|webgl|wasm|cpu` in a page URL pins the backend (e2e uses `?backend=wasm`). */
export function backendFromQuery(search: string): BackendChoice {
  const value = new URLSearchParams(search).get('backend');
  return value !== null && (BACKEND_NAMES as readonly string[]).includes(value) ? (value as BackendName) : 'auto';
}

export interface EngineStatus {
  state: 'idle' | 'loading' | 'ready' | 'error';
  backend: string | null;
  /** Why each preferred backend was not used ("WebGPU: no adapter ..."). */
  backendReasons: string[];
  model: LoadedModel | null;
  progress: { what: string; loaded: number; total: number | null } | null;
  /** The last failure in words; a failed load keeps the previous model (state stays 'ready'). */
  error: string | null;
}

export interface LoadedModel {
  name: string;
  config: LlamaConfig;
  parameters: number;
  /** Where the bytes came from, for people: "embedded", "downloaded", "from cache", "local files". */
  origin: string;
  /** The tokenizer file's name, or where the tokenizer came from ("built into the GGUF file"). */
  tokenizerName: string;
  /** How the matrices are held: "f32", "q8_0", "q4_0 (1 matrices float32: classifier)". */
  weightFormat: string;
  /** Backend memory the weights take. */
  weightBytes: number;
}

export interface InspectResult extends ForwardTrace {
  /** pieces[i]: display text of tokens[i] ("<s>" for BOS, "<0x0A>" for a byte piece). */
  pieces: string[];
}

/** One file to fetch (the spec's `cache` keeps it in the Cache API once it has loaded). */
export interface RemoteFile {
  url: string;
  name: string;
  /**
   * Fetched as a stream that goes to the engine (and the cache) as it arrives, never held whole:
   * for files too large for one ArrayBuffer (a 7B GGUF). Others are downloaded whole first.
   */
  stream?: boolean;
}

/**
 * What the worker loads: the page resolves model ids and the site's base URL into this. The
 * worker tells a GGUF model from a llama2.c checkpoint by its first bytes; a GGUF carries its own
 * tokenizer (tokenizer null), a llama2.c checkpoint needs one.
 */
export type LoadSpec =
  | { kind: 'fetch'; label: string; origin: 'embedded' | 'remote'; model: RemoteFile; tokenizer: RemoteFile | null; cache: boolean }
  | { kind: 'files'; model: Blob & { name?: string }; tokenizer: (Blob & { name?: string }) | null };

export type GenerateRequestOptions = Omit<GenerateOptions, 'signal'>;

/** Page → worker. Every request but `stop` is answered by `done` or `error` with the same id. */
export type EngineRequest =
  | { type: 'init'; id: number; backend: BackendChoice }
  | { type: 'load'; id: number; spec: LoadSpec }
  | { type: 'generate'; id: number; options: GenerateRequestOptions }
  /** Stops the generation or task whose request id is `id`; no answer of its own. */
  | { type: 'stop'; id: number }
  /** A named job of src/worker/tasks (explorers, in-page training); answers `progress` while it runs. */
  | { type: 'task'; id: number; name: TaskName; args: unknown }
  | { type: 'inspect'; id: number; prompt: string; position: number }
  | { type: 'tokenize'; id: number; text: string }
  /** Display text of token ids (e.g. the top logits), as `pieces` in InspectResult. */
  | { type: 'pieces'; id: number; ids: number[] };

export interface TokenizeResult {
  ids: number[];
  pieces: string[];
}

/** What `done` carries for each request type. */
export interface ResultOf {
  init: EngineStatus;
  load: LoadedModel;
  generate: GenerationResult;
  inspect: InspectResult;
  tokenize: TokenizeResult;
  pieces: string[];
  task: unknown;
}

/** Worker → page. `status` is broadcast on every change; the rest answer one request. */
export type EngineReply =
  | { type: 'status'; status: EngineStatus }
  | { type: 'token'; id: number; token: GeneratedToken }
  | { type: 'progress'; id: number; data: unknown }
  | { type: 'done'; id: number; result: ResultOf[keyof ResultOf] }
  | { type: 'error'; id: number; message: string; code: string | null };

/** postMessage with a transfer list (the worker's `self.postMessage`, or a test's collector). */
export type Post = (reply: EngineReply, transfer?: Transferable[]) => void;

export function codeOf(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}
