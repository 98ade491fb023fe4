/**
 * What the active backend can hold, for the memory plan (memory-plan.ts). WebGPU states its
 * largest buffer but not its total memory; the WebAssembly heap is capped at 4 GiB by 32-bit
 * addressing; host backends are bounded by the machine's memory, which only the caller knows
 * (Node's os.totalmem, a browser's navigator.deviceMemory).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MemoryLimits } from './memory-plan.ts';

/** The wasm backend's heap maximum (its Emscripten build's getHeapMax()). */
export const WASM_HEAP_BYTES = 4294901760;

interface WebGpuBackendWithDevice {
  device?: { limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number } };
}

export function backendMemoryLimits(hostMemoryBytes?: number): MemoryLimits {
  const name = tf.getBackend();
  if (name === 'wasm') return { label: 'WebAssembly heap', totalBytes: WASM_HEAP_BYTES };
  if (name === 'webgpu') {
    const limits = (tf.backend() as unknown as WebGpuBackendWithDevice).device?.limits;
    const sizes = [limits?.maxBufferSize, limits?.maxStorageBufferBindingSize].filter((n): n is number => n !== undefined);
    return { label: 'WebGPU device', maxBufferBytes: sizes.length ? Math.min(...sizes) : undefined };
  }
  return { label: `${name} backend's host memory`, totalBytes: hostMemoryBytes };
}
