/**
 * Picks the TensorFlow.js backend: tries webgpu, webgl, wasm, cpu in order and records why each
 * preferred one was skipped, so the page can say "wasm — WebGPU unavailable: ...".
 * Backend modules are imported on demand so a page only downloads the one it uses.
 * No DOM types: browser objects are reached through `globalThis` with structural types.
 */
import * as tf from '@tensorflow/tfjs-core';
import { EngineError, messageOf } from './errors.ts';
import { watchActiveDevice } from './gpu-faults.ts';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BACKEND_ORDER: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason?: string;
}

export interface BackendReport {
  name: BackendName;
  requested: BackendName | 'auto';
  attempts: BackendAttempt[];
}

export interface SelectBackendOptions {
  prefer?: BackendName | 'auto';
  /** Candidates for 'auto'; defaults to defaultOrder(). */
  order?: BackendName[];
  /** Where the wasm backend finds its .wasm files (a prefix, or file name → URL). */
  wasmPaths?: string | Record<string, string>;
  /**
   * Allow the threaded wasm build in a page or worker (default false). It needs cross-origin
   * isolation, and it breaks once bundled: it starts its workers from its factory's source text,
   * whose identifiers the minifier has renamed ("ReferenceError: e is not defined").
   */
  wasmThreads?: boolean;
  /** Give up on one candidate after this long (a hung requestAdapter, a stalled download). */
  attemptTimeoutMs?: number;
}

const DEFAULT_ATTEMPT_TIMEOUT_MS = 60_000;

const LABEL: Record<BackendName, string> = {
  webgpu: 'WebGPU',
  webgl: 'WebGL',
  wasm: 'WebAssembly',
  cpu: 'CPU',
};

interface GpuLike {
  requestAdapter(options?: unknown): Promise<unknown>;
}
interface GlLike {
  getExtension(name: 'WEBGL_lose_context'): { loseContext(): void } | null;
}
interface CanvasLike {
  getContext(kind: string): unknown;
}
type Globals = {
  window?: unknown;
  document?: { createElement?(tag: string): CanvasLike };
  WorkerGlobalScope?: unknown;
  navigator?: { gpu?: GpuLike };
  OffscreenCanvas?: new (w: number, h: number) => CanvasLike;
  WebAssembly?: unknown;
};
const g = globalThis as unknown as Globals;

/** True in a page or a Web Worker; false in Node (which has `navigator` since v21, but no window). */
export function isBrowserLike(): boolean {
  return typeof g.window !== 'undefined' || typeof g.WorkerGlobalScope !== 'undefined';
}

/** Browser and worker: all four. Node: wasm then cpu (WebGPU in Node only when asked for). */
export function defaultOrder(): BackendName[] {
  return isBrowserLike() ? [...BACKEND_ORDER] : ['wasm', 'cpu'];
}

/** Cheap checks before downloading a backend module; returns a reason when it cannot work. */
async function precheck(name: BackendName): Promise<string | undefined> {
  switch (name) {
    case 'webgpu': {
      const gpu = g.navigator?.gpu;
      if (!gpu) {
        return isBrowserLike()
          ? 'navigator.gpu is missing (browser without WebGPU or flag off)'
          : 'navigator.gpu is missing (in Node, call installNodeWebGPU() from src/node/webgpu.ts first)';
      }
      try {
        const adapter = await gpu.requestAdapter();
        if (!adapter) return 'no adapter (GPU blocklisted, disabled or absent)';
      } catch (e) {
        return `requestAdapter failed: ${messageOf(e)}`;
      }
      return undefined;
    }
    case 'webgl': {
      let canvas: CanvasLike | undefined;
      try {
        if (g.OffscreenCanvas) canvas = new g.OffscreenCanvas(1, 1);
        else if (typeof g.window !== 'undefined') canvas = g.document?.createElement?.('canvas');
      } catch {
        canvas = undefined;
      }
      if (!canvas) return 'no canvas in this environment';
      try {
        const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as GlLike | null;
        if (!gl) return 'context creation failed';
        gl.getExtension('WEBGL_lose_context')?.loseContext(); // free the probe's context now
      } catch (e) {
        return `context creation failed: ${messageOf(e)}`;
      }
      return undefined;
    }
    case 'wasm':
      return typeof g.WebAssembly === 'undefined' ? 'WebAssembly is not supported' : undefined;
    case 'cpu':
      return undefined;
  }
}

async function loadModule(name: BackendName, opts: SelectBackendOptions): Promise<void> {
  switch (name) {
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return;
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      return;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Must precede the backend's first initialisation; later calls are ignored by tfjs.
      if (opts.wasmPaths !== undefined) wasm.setWasmPaths(opts.wasmPaths);
      if (isBrowserLike() && !opts.wasmThreads) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      return;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
  }
}

/** Tries one backend; resolves to a reason on failure, undefined on success. */
async function tryBackend(name: BackendName, opts: SelectBackendOptions): Promise<string | undefined> {
  const pre = await precheck(name);
  if (pre) return pre;
  try {
    await loadModule(name, opts);
  } catch (e) {
    return `could not load the backend module: ${messageOf(e)}`;
  }
  if (!tf.findBackendFactory(name)) {
    // The webgpu module registers itself only if navigator.gpu existed when it was first imported.
    return 'backend not registered (its module was loaded before the platform supported it)';
  }
  try {
    if (!(await tf.setBackend(name))) return 'initialisation failed (see the console for details)';
    await tf.ready();
  } catch (e) {
    return `initialisation failed: ${messageOf(e)}`;
  }
  if (tf.getBackend() !== name) return `tf.getBackend() is ${tf.getBackend()}`;
  watchActiveDevice(); // webgpu: its faults are reported out of band (gpu-faults.ts)
  return undefined;
}

async function withTimeout(attempt: Promise<string | undefined>, ms: number): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer after ${Math.round(ms / 1000)} s`), ms);
  });
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendReport> {
  const requested = opts.prefer ?? 'auto';
  const candidates = requested === 'auto' ? (opts.order ?? defaultOrder()) : [requested];
  const attempts: BackendAttempt[] = [];
  const timeoutMs = opts.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  for (const name of candidates) {
    const reason = await withTimeout(tryBackend(name, opts), timeoutMs);
    if (reason === undefined) {
      attempts.push({ name, ok: true });
      return { name, requested, attempts };
    }
    attempts.push({ name, ok: false, reason: `${LABEL[name]}: ${reason}` });
  }
  const why = attempts.map((a) => a.reason).join('; ');
  throw new EngineError(
    'backend-unavailable',
    requested === 'auto'
      ? `no TensorFlow.js backend could be initialised: ${why || 'no candidates'}`
      : `backend ${requested} is unavailable: ${why}`,
  );
}

/** One line for people: "wasm — WebGPU unavailable: navigator.gpu is missing ...". */
export function describeBackend(report: BackendReport): string {
  const skipped = report.attempts.filter((a) => !a.ok).map((a) => a.reason);
  return skipped.length ? `${report.name} — ${skipped.join('; ')}` : report.name;
}
