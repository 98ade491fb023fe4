/**
 * The page's one engine, in a dedicated module worker so that loading a model and running it never
 * block the page. All logic lives in handler.ts; this file only wires it to the worker's messages
 * and supplies what exists only here: the bundled wasm binaries, XHR downloads and the Cache API.
 */
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '@tensorflow/tfjs-core';
import { createEngineState, handleRequest } from './handler.ts';
import type { EngineReply, EngineRequest } from './protocol.ts';
import { xhrDownload } from './xhr-download.ts';

// Production mode: no debug checks on every op (the CLI and tests run the same way).
tf.enableProdMode();

const scope = self as unknown as DedicatedWorkerGlobalScope;

const state = createEngineState({
  // Served by the site itself, so the wasm fallback works offline (see components/ModelPanel).
  wasmPaths: {
    'tfjs-backend-wasm.wasm': new URL(wasmPlain, scope.location.href).href,
    'tfjs-backend-wasm-simd.wasm': new URL(wasmSimd, scope.location.href).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL(wasmThreaded, scope.location.href).href,
  },
  // Small files whole over XHR (see there why); large ones (marked `stream`) stream over fetch.
  download: xhrDownload,
  // Chromium's estimate in GiB (rounded down, at most 8): bounds what the cpu and webgl backends may
  // be asked to hold; absent elsewhere, and then only WebGPU's and WebAssembly's own limits apply.
  hostMemoryBytes: deviceMemoryBytes(),
  // Absent on insecure origins (plain http other than localhost): then nothing is cached.
  caches: typeof caches === 'undefined' ? null : caches,
});

function deviceMemoryBytes(): number | undefined {
  const gib = (navigator as WorkerNavigator & { deviceMemory?: number }).deviceMemory;
  return typeof gib === 'number' && gib > 0 ? gib * 2 ** 30 : undefined;
}

const post = (reply: EngineReply, transfer: Transferable[] = []) => scope.postMessage(reply, transfer);

scope.onmessage = (event: MessageEvent<EngineRequest>) => {
  void handleRequest(state, event.data, post);
};
