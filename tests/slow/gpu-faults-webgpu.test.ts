/**
 * Faults the WebGPU device reports out of band (gpu-faults.ts), on SwiftShader: the engine refuses
 * to go on in the device's words instead of reading back what a failed command left. This file
 * poisons the backend's device on purpose; vitest runs it in a process of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { EngineError } from '../../src/engine/errors.ts';
import { generateAll } from '../../src/engine/generate.ts';
import { faultOf, watchDevice, withGpuErrorScopes, type WatchedDevice } from '../../src/engine/gpu-faults.ts';
import type { Llama } from '../../src/engine/llama.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { STORIES260K } from '../support/shared.ts';

const STORAGE = 0x80; // GPUBufferUsage.STORAGE
type Device = WatchedDevice & { createBuffer(d: { size: number; usage: number }): unknown; destroy(): void; limits: { maxBufferSize: number } };
const device = () => (tf.backend() as unknown as { device: Device }).device;
/** A command the device refuses: a buffer past its size limit. */
const refusedBuffer = () => device().createBuffer({ size: device().limits.maxBufferSize * 2, usage: STORAGE });

async function faultReported(): Promise<void> {
  for (let i = 0; i < 200 && !faultOf(device()); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('GPU faults on webgpu', () => {
  let llama: Llama;
  beforeAll(async () => {
    await onBackend('webgpu');
    llama = loadShared(STORIES260K);
  });
  afterAll(() => llama?.dispose());

  it('a load inside error scopes: passes when the GPU accepted everything, refuses and discards when it did not', async () => {
    const ok = await withGpuErrorScopes('loading a test', async () => tf.fill([4], 1), (t) => t.dispose());
    expect(Array.from(await ok.data())).toEqual([1, 1, 1, 1]);
    ok.dispose();
    let discarded = false;
    const failing = withGpuErrorScopes(
      'loading a test',
      async () => {
        refusedBuffer();
        return tf.fill([4], 1);
      },
      (t) => {
        discarded = true;
        t.dispose();
      },
    );
    await expect(failing).rejects.toThrow(/^loading a test: the GPU refused a command \(.*max buffer size.*\); try another backend/i);
    await expect(failing).rejects.toBeInstanceOf(EngineError);
    expect(discarded).toBe(true);
    expect(faultOf(device())).toBeNull(); // caught by the scopes: the device is still sound
  });

  it('generates normally, then refuses to go on once the device reported a fault', async () => {
    const before = await generateAll(llama, { prompt: 'Once upon a time', steps: 12, temperature: 0 });
    expect(before.tokens.length).toBe(13);
    refusedBuffer(); // outside any scope: reported to the device's uncapturederror listeners
    await faultReported();
    expect(faultOf(device())).toMatchObject({ kind: 'validation' });
    await expect(generateAll(llama, { prompt: 'Once upon a time', steps: 12, temperature: 0 })).rejects.toThrow(/^reading the prompt: the GPU refused a command/);
  });

  it('a device lost (destroyed here) is recorded as lost, with its message', async () => {
    // A device of its own: the backend's already holds the fault of the test before.
    const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<{ requestDevice(): Promise<Device> }> } } }).navigator.gpu;
    const other = await (await gpu.requestAdapter()).requestDevice();
    watchDevice(other);
    expect(faultOf(other)).toBeNull();
    other.destroy();
    await other.lost;
    await new Promise((r) => setTimeout(r, 0)); // the watcher's own .then runs after this await's
    expect(faultOf(other)).toMatchObject({ kind: 'lost', message: expect.stringMatching(/destroyed/) });
  }, 60_000);
});
