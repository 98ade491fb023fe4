/**
 * WebGPU reports what goes wrong on the device out of band: a buffer it could not allocate (out
 * of memory: the API cannot say beforehand how much the card has left), a validation error, or
 * the device lost (a driver reset, the browser reclaiming the GPU). TF.js does not listen, so the
 * work after such a fault reads back zeros or garbage without a word. The engine watches the
 * webgpu backend's device and refuses to go on, in the device's own words.
 *
 * No DOM types: the device is reached through a structural type, as in backend.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { EngineError } from './errors.ts';

interface GpuErrorLike {
  message: string;
}
/** What the engine needs of a GPUDevice. */
export interface WatchedDevice {
  addEventListener(type: 'uncapturederror', listener: (event: { error: GpuErrorLike }) => void): void;
  readonly lost: Promise<{ reason?: string; message: string }>;
  pushErrorScope(filter: 'out-of-memory' | 'validation'): void;
  popErrorScope(): Promise<GpuErrorLike | null>;
}

export interface GpuFault {
  kind: 'out-of-memory' | 'validation' | 'lost';
  message: string;
}

const faults = new WeakMap<WatchedDevice, GpuFault | null>();

/** Records the first fault the device reports (later ones follow from it). Idempotent. */
export function watchDevice(device: WatchedDevice): void {
  if (faults.has(device)) return;
  faults.set(device, null);
  const record = (fault: GpuFault) => {
    if (!faults.get(device)) faults.set(device, fault);
  };
  device.addEventListener('uncapturederror', ({ error }) => {
    const outOfMemory = error.constructor?.name === 'GPUOutOfMemoryError' || /out of memory/i.test(error.message);
    record({ kind: outOfMemory ? 'out-of-memory' : 'validation', message: firstLine(error.message) });
  });
  void device.lost.then((info) => record({ kind: 'lost', message: firstLine(info.message || info.reason || 'no reason given') }));
}

/** The fault a watched device has reported, or null. */
export function faultOf(device: WatchedDevice): GpuFault | null {
  return faults.get(device) ?? null;
}

/** The active backend's device, if it is webgpu's. */
function activeDevice(): WatchedDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as unknown as { device?: WatchedDevice }).device ?? null;
}

/** Watches the active backend's device, where it is webgpu (backend.ts, on selecting it). */
export function watchActiveDevice(): void {
  const device = activeDevice();
  if (device) watchDevice(device);
}

/**
 * Throws if the active backend's device has reported a fault: what the engine was `doing`, and
 * the device's message. Call it after a read-back, when the work before it has run.
 */
export function assertGpuHealthy(doing: string): void {
  const device = activeDevice();
  const fault = device && faultOf(device);
  if (fault) throw faultError(doing, fault);
}

/**
 * Runs `work` (a model load: hundreds of buffers, the likeliest to exhaust the card) inside
 * error scopes, so an allocation that failed is known for certain when it ends, instead of
 * whenever the device gets round to reporting it; `discard` frees the result if the GPU failed.
 */
export async function withGpuErrorScopes<T>(doing: string, work: () => Promise<T>, discard: (result: T) => void): Promise<T> {
  const device = activeDevice();
  if (!device) return work();
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let result: T | undefined;
  let failed: unknown;
  try {
    result = await work();
    // A read-back of a value made on the device submits every command still queued by TF.js.
    const probe = tf.fill([1], 0);
    await probe.data();
    probe.dispose();
  } catch (e) {
    failed = e;
  }
  const outOfMemory = await device.popErrorScope();
  const invalid = await device.popErrorScope();
  const fault: GpuFault | null = outOfMemory
    ? { kind: 'out-of-memory', message: firstLine(outOfMemory.message) }
    : invalid
      ? { kind: 'validation', message: firstLine(invalid.message) }
      : null;
  if (fault && result !== undefined) discard(result);
  if (fault) throw faultError(doing, fault);
  if (failed !== undefined) throw failed;
  return result as T;
}

function faultError(doing: string, fault: GpuFault): EngineError {
  const what = { 'out-of-memory': 'ran out of memory', validation: 'refused a command', lost: 'was lost' }[fault.kind];
  const instead = fault.kind === 'out-of-memory' ? 'a smaller model, a shorter context or another backend' : 'another backend, or start again (in a page: reload it)';
  return new EngineError(fault.kind === 'out-of-memory' ? 'out-of-memory' : 'backend-unavailable', `${doing}: the GPU ${what} (${fault.message}); try ${instead}.`);
}

const firstLine = (s: string) => s.split('\n')[0].trim();
