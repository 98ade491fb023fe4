// Chapter 4's uptraining task (src/worker/tasks/kv-uptrain.ts) on the embedded model, on wasm:
// the MQA variant made by mean-pooling, trained a few steps in two chunks as the page sends them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateStories, splitStories } from '../../src/engine/evaluate.ts';
import { pooledLlama } from '../../src/engine/kv-variant.ts';
import { Llama } from '../../src/engine/llama.ts';
import type { TaskContext } from '../../src/worker/tasks/context.ts';
import { kvUptrain } from '../../src/worker/tasks/kv-uptrain.ts';
import type { TaskProgress } from '../../src/worker/tasks/types.ts';
import { onBackend } from '../support/engine.ts';

const ROOT = join(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p));

describe('uptraining a pooled variant (kv-uptrain task, wasm)', () => {
  beforeAll(() => onBackend('wasm'));

  it('continues across chunks, stops at the run’s length, and wins back quality the pooling lost', async () => {
    const llama = Llama.fromBytes(new Uint8Array(read('public/models/default/model.bin')), 'model.bin', new Uint8Array(read('public/models/default/tokenizer.bin')), 'tokenizer.bin');
    const progress: TaskProgress<'kv-uptrain'>[] = [];
    const ctx = (signal = new AbortController().signal): TaskContext<TaskProgress<'kv-uptrain'>> => ({
      model: () => llama,
      signal,
      progress: (p) => progress.push(p),
      pause: () => new Promise((ok) => setTimeout(ok, 0)),
    });
    // Evaluation stories from the validation slice; training text from the project's teacher stories.
    const evalStories = splitStories(read('public/data/tinystories-valid-240.txt').toString('utf8')).slice(0, 8);
    const teacher = splitStories(read('public/data/teacher-stories.txt').toString('utf8'));
    try {
      await expect(kvUptrain(ctx(), { steps: 1 })).rejects.toThrow(/no uptraining run for the loaded model/);
      const mqa = pooledLlama(llama, 1);
      const pooled = (await evaluateStories(mqa, evalStories)).bitsPerByte;
      mqa.dispose();
      const trained = (await evaluateStories(llama, evalStories)).bitsPerByte;

      const first = await kvUptrain(ctx(), { start: { kvHeads: 1, totalSteps: 12, trainStories: teacher }, steps: 6 });
      expect(first.result).toMatchObject({ kvHeads: 1, step: 6, totalSteps: 12, bitsPerByte: null });
      expect(first.result.trainLosses).toHaveLength(6);
      expect(progress.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
      const second = await kvUptrain(ctx(), { steps: 100, evaluate: evalStories });
      expect(second.result.step).toBe(12); // the run's length, not the chunk's
      expect(second.result.trainLosses).toHaveLength(6);
      const up = second.result.bitsPerByte!;
      // Measured on this model: pooling to MQA costs ~0.5 bits per byte and 12 steps of batch 4
      // win back well over a tenth of that; the model as trained stays better.
      expect(up).toBeLessThan(pooled - 0.1 * (pooled - trained));
      expect(up).toBeGreaterThan(trained);
      // A finished run is released: another chunk needs a new start.
      await expect(kvUptrain(ctx(), { steps: 1 })).rejects.toThrow(/no uptraining run/);
    } finally {
      llama.dispose();
    }
  });
});
