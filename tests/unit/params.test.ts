import { describe, expect, it } from 'vitest';
import { parseLlama2c } from '../../src/engine/checkpoint/llama2c.ts';
import { checkpointTensors } from '../../src/engine/checkpoint/checkpoint.ts';
import { kvCacheBytes, kvCacheBytesPerToken, parameterCount } from '../../src/engine/params.ts';
import { PRESETS, presetById } from '../../src/engine/presets.ts';
import { sharedBytes, STORIES260K } from '../support/shared.ts';

const config = (id: string) => presetById(id)!.config;

describe('parameter counts from the config', () => {
  // The published counts of the released checkpoints (embedding, blocks, norms, classifier).
  it.each([
    ['llama2-7b', 6_738_415_616],
    ['llama2-13b', 13_015_864_320],
    ['llama2-70b', 68_976_648_192],
  ])('%s has %d parameters', (id, expected) => {
    expect(parameterCount(config(id))).toBe(expected);
  });

  it('counts every stored float of a real checkpoint', () => {
    const ck = parseLlama2c(sharedBytes(STORIES260K), 'stories260K.bin');
    const stored = checkpointTensors(ck).reduce((n, t) => n + t.data.length, 0);
    expect(parameterCount(ck.config)).toBe(stored);
    expect(stored).toBe(260_032); // MANIFEST.md
  });

  it('Llama 1 and 2 share shapes except context (and GQA at 34B/70B), per Table 1', () => {
    expect(config('llama2-7b')).toEqual({ ...config('llama1-7b'), seqLen: 4096 });
    expect(PRESETS.filter((p) => p.config.nKvHeads < p.config.nHeads).map((p) => p.id)).toEqual(['llama2-34b', 'llama2-70b']);
  });
});

describe('KV-cache size', () => {
  it('is 2 · layers · kv_dim elements per token', () => {
    // 7B, float16: 2 · 32 · 4096 · 2 bytes = 512 KiB per token, 2 GiB for the 4k context.
    expect(kvCacheBytesPerToken(config('llama2-7b'))).toBe(524_288);
    expect(kvCacheBytes(config('llama2-7b'), 4096)).toBe(2 * 1024 ** 3);
    // 70B with GQA (8 kv heads of 128): 2 · 80 · 1024 · 2 bytes.
    expect(kvCacheBytesPerToken(config('llama2-70b'))).toBe(327_680);
  });
});
