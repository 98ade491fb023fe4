import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { defaultOrder, selectBackend } from '../../src/engine/backend.ts';
import { EngineError } from '../../src/engine/errors.ts';

describe('selectBackend in Node', () => {
  it('defaults to wasm then cpu', () => {
    expect(defaultOrder()).toEqual(['wasm', 'cpu']);
  });

  it('auto picks wasm', async () => {
    const report = await selectBackend();
    expect(report).toMatchObject({ name: 'wasm', requested: 'auto' });
    expect(report.attempts).toEqual([{ name: 'wasm', ok: true }]);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('explicit cpu works', async () => {
    const report = await selectBackend({ prefer: 'cpu' });
    expect(report.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(Array.from(await tf.add(tf.tensor1d([1, 2]), 1).data())).toEqual([2, 3]);
  });

  it('explicit webgpu without navigator.gpu throws backend-unavailable with a reason', async () => {
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
    const err = await selectBackend({ prefer: 'webgpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('backend-unavailable');
    expect((err as EngineError).message).toMatch(/WebGPU: navigator\.gpu is missing/);
  });

  it('explicit webgl in Node fails with a reason', async () => {
    await expect(selectBackend({ prefer: 'webgl' })).rejects.toThrow(/WebGL: no canvas/);
  });

  it('auto with a custom order falls through and records reasons', async () => {
    const report = await selectBackend({ order: ['webgpu', 'webgl', 'cpu'] });
    expect(report.name).toBe('cpu');
    expect(report.attempts.map((a) => a.ok)).toEqual([false, false, true]);
    expect(report.attempts[0].reason).toMatch(/^WebGPU: /);
  });
});
