// WebGPU in Node through Dawn. Without a GPU this runs on SwiftShader from Debian's chromium.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { hasVulkanDriver, installNodeWebGPU } from '../../src/node/webgpu.ts';
import { selectBackend } from '../../src/engine/backend.ts';

const ROOT = resolve(import.meta.dirname, '../..');
// The environment without Vulkan settings, taken before installNodeWebGPU() changes process.env.
const BASE_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('VK_') && k !== 'LLAMA_WEBGPU_SWIFTSHADER'),
);

/** Runs installNodeWebGPU in a fresh process with `env` added; returns the ICD and adapter it got. */
function adapterInChild(env: Record<string, string>): { icd: string | null; adapter: string | null } {
  const code = `
    import { installNodeWebGPU } from './src/node/webgpu.ts';
    await installNodeWebGPU();
    const a = await navigator.gpu.requestAdapter();
    console.log(JSON.stringify({ icd: process.env.VK_ICD_FILENAMES ?? null, adapter: a ? a.info.architecture : null }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: { ...BASE_ENV, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'], // Dawn prints Vulkan warnings on stderr
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

describe('WebGPU in Node (webgpu package / Dawn)', () => {
  afterAll(() => {
    // Release the Dawn device so the worker exits promptly.
    if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  });

  it('selectBackend({prefer: webgpu}) works after installNodeWebGPU', async () => {
    await installNodeWebGPU();
    const report = await selectBackend({ prefer: 'webgpu' });
    expect(report).toEqual({ name: 'webgpu', requested: 'webgpu', attempts: [{ name: 'webgpu', ok: true }] });
    expect(tf.getBackend()).toBe('webgpu');
    const info = (tf.backend() as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
    console.info(`WebGPU adapter: ${info?.vendor ?? '?'} ${info?.architecture ?? '?'}`);
  });

  it('matMul on webgpu equals the cpu result within 1e-5', async () => {
    const a = Float32Array.from({ length: 8 * 16 }, (_, i) => Math.sin(i) * 0.5);
    const b = Float32Array.from({ length: 16 * 4 }, (_, i) => Math.cos(i * 0.7) * 0.5);
    const product = async () => {
      const y = tf.matMul(tf.tensor2d(a, [8, 16]), tf.tensor2d(b, [16, 4]));
      return { data: await y.data(), backend: tf.getBackend() };
    };
    const gpu = await product();
    await selectBackend({ prefer: 'cpu' });
    const cpu = await product();
    expect([gpu.backend, cpu.backend]).toEqual(['webgpu', 'cpu']);
    expect(gpu.data.length).toBe(32);
    for (let i = 0; i < cpu.data.length; i++) expect(Math.abs(gpu.data[i] - cpu.data[i])).toBeLessThan(1e-5);
  });

  it('an explicitly configured Vulkan driver is left alone', () => {
    expect(hasVulkanDriver({ VK_ICD_FILENAMES: '/nonexistent.json' })).toBe(true);
    expect(adapterInChild({ VK_ICD_FILENAMES: '/nonexistent.json' })).toEqual({ icd: '/nonexistent.json', adapter: null });
  });

  it('LLAMA_WEBGPU_SWIFTSHADER=1 forces SwiftShader', () => {
    expect(adapterInChild({ VK_ICD_FILENAMES: '/nonexistent.json', LLAMA_WEBGPU_SWIFTSHADER: '1' })).toEqual({
      icd: '/usr/lib/chromium/vk_swiftshader_icd.json',
      adapter: 'swiftshader',
    });
  });
});
