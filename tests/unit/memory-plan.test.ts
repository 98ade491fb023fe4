import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertFits, planMemory, uniformTensors } from '../../src/engine/memory-plan.ts';
import { presetById } from '../../src/engine/presets.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { STORIES260K } from '../support/shared.ts';
import { tinyConfig } from '../support/tiny-config.ts';
import { syntheticTensors } from '../../src/bench/synthetic-weights.ts';
import { WeightBuilder } from '../../src/engine/weights/weight-builder.ts';
import { deviceBytes, disposeWeights } from '../../src/engine/weights/llama-weights.ts';

const llama2_7b = presetById('llama2-7b')!.config;

describe('memory plan', () => {
  beforeAll(() => onBackend('cpu'));

  it('counts exactly the bytes the engine allocates for a float32 model', () => {
    const before = tf.memory().numBytes;
    const llama = loadShared(STORIES260K);
    const allocated = tf.memory().numBytes - before;
    const plan = planMemory(llama.config, uniformTensors(llama.config, 'f32'));
    llama.dispose();
    // The RoPE cos/sin tables are the model's only tensors besides its weights.
    const ropeTables = 2 * llama.config.seqLen * (llama.config.dim / llama.config.nHeads) * 4; // cos and sin, [seqLen, headSize]
    expect(plan.weightBytes + ropeTables).toBe(allocated);
  });

  it('counts exactly the bytes of a quantized model, its own packed embedding table included', () => {
    const config = tinyConfig({ sharedClassifier: false, nLayers: 2 });
    for (const format of ['q8_0', 'q4_0'] as const) {
      const before = tf.memory().numBytes;
      const builder = new WeightBuilder(config, { quant: format });
      for (const t of syntheticTensors(config, format)) builder.add(t);
      const weights = builder.finish();
      const allocated = tf.memory().numBytes - before;
      const plan = planMemory(config, uniformTensors(config, format));
      expect(plan.weightBytes).toBe(allocated);
      expect(deviceBytes(weights)).toBe(allocated);
      expect(weights.tokenEmbedding.ownBytes).toBe((32 * 64 * (format === 'q8_0' ? 36 : 20)) / 32);
      disposeWeights(weights);
    }
  });

  it('sizes Llama-2-7B at q4_0 from its shape: 6.74e9 weights at 20 bytes per 32, the embedding packed too', () => {
    const plan = planMemory(llama2_7b, uniformTensors(llama2_7b, 'q4_0'));
    const embedding = 32000 * 4096;
    const norms = 65 * 4096;
    const matrices = 6_738_415_616 - norms; // the published parameter count, the embedding included
    expect(plan.weightBytes).toBe((matrices / 32) * 20 + norms * 4);
    expect(plan.kvCacheBytes).toBe(2 * 32 * 4096 * 4096 * 4);
    // 32000 rows beat the fused 22016-row w1;w3; the embedding (first of two equal) is named.
    expect(plan.largestBuffer).toEqual({ name: 'token_embedding', bytes: (embedding / 32) * 20 });
  });

  it('counts each stack of matrices the weight builder fuses as one buffer', () => {
    // Llama 2 7B without its vocabulary: the largest buffer is then layer 0's [W1; W3].
    const config = { ...llama2_7b, vocabSize: 32 };
    const plan = planMemory(config, uniformTensors(config, 'f32'));
    expect(plan.largestBuffer).toEqual({ name: 'layers.0.w1;w3', bytes: 2 * 11008 * 4096 * 4 });
  });

  it('refuses early with the figures when the model will not fit, and passes when it does', () => {
    const plan = planMemory(llama2_7b, uniformTensors(llama2_7b, 'f32'));
    const fault = (() => {
      try {
        assertFits(plan, { label: 'WebAssembly heap', totalBytes: 4294901760 }, 'llama-2-7b.gguf');
      } catch (e) {
        return e as EngineError;
      }
    })();
    expect(fault?.code).toBe('out-of-memory');
    // 6,738,415,616 weights × 4 bytes = 25.10 GiB; 2 × 32 layers × 4096 positions × 4096 × 4 bytes = 4 GiB.
    expect(fault?.message).toMatch(/^llama-2-7b\.gguf: needs 29\.2\d GiB \(weights 25\.10 GiB, key\/value cache 4\.00 GiB, working tensors/);
    expect(fault?.message).toContain('WebAssembly heap holds 4.00 GiB');
    expect(() => assertFits(plan, { label: 'GPU', maxBufferBytes: 256 * 2 ** 20 }, 'm')).toThrow(/(token_embedding|classifier) needs one buffer of 500\.0 MiB/);
    const q4 = planMemory(llama2_7b, uniformTensors(llama2_7b, 'q4_0'));
    expect(assertFits(q4, { label: 'GPU', totalBytes: 24 * 2 ** 30, maxBufferBytes: 2 ** 31 }, 'm')).toBe(q4);
  });
});
