import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/engine/tokenizer/tokenizer.ts';
import { packStories } from '../../src/train/batches.ts';
import { initialCheckpoint } from '../../src/train/init.ts';
import { llamaShape } from '../../src/train/model-configs.ts';
import { decodeState, encodeState } from '../../src/train/state-files.ts';
import { completeStories } from '../../src/train/tokenizer/stories.ts';
import { PAPER_RECIPE, Trainer, type TrainOptions } from '../../src/train/trainer.ts';
import { onBackend } from '../support/engine.ts';
import { sharedBytes, sharedPath, TOK512 } from '../support/shared.ts';

describe('pretraining through the engine forward pass (wasm)', () => {
  const tokenizer = Tokenizer.fromBytes(sharedBytes(TOK512), 'tok512.bin');
  const stories = completeStories(readFileSync(sharedPath('data/tinystories/tinystories_train_head_2MiB.txt'), 'utf8')).slice(0, 300);
  const train = packStories(stories.slice(0, 280).map((s) => tokenizer.encode(s)));
  const val = packStories(stories.slice(280).map((s) => tokenizer.encode(s)));
  const config = llamaShape({ dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, seqLen: 32, vocabSize: 512 });
  const options: TrainOptions = { steps: 40, batchSize: 4, peakLr: 5e-3, warmupSteps: 4, ...PAPER_RECIPE, evalEvery: 20, evalWindows: 8, seed: 3 };

  beforeAll(() => onBackend('wasm'));

  it('lowers the validation loss from chance', async () => {
    const trainer = new Trainer(options, initialCheckpoint(config, 1), train, val);
    const before = await trainer.validationLoss();
    expect(before).toBeCloseTo(Math.log(512), 0); // a fresh model is near uniform
    while (!trainer.done) await trainer.trainStep();
    const after = trainer.log.at(-1)!.valLoss!;
    trainer.dispose();
    expect(after).toBeLessThan(before - 1);
    expect(trainer.log.filter((e) => e.valLoss !== undefined)).toHaveLength(2);
  });

  it('resumes from saved state exactly where a continuous run would be', async () => {
    const short = { ...options, steps: 6 };
    const straight = new Trainer(short, initialCheckpoint(config, 1), train, val);
    while (!straight.done) await straight.trainStep();
    const expected = await straight.checkpoint();
    const expectedLosses = straight.log.map((e) => e.trainLoss);
    straight.dispose();

    const first = new Trainer(short, initialCheckpoint(config, 1), train, val);
    for (let i = 0; i < 3; i++) await first.trainStep();
    const state = decodeState(encodeState(await first.state()));
    first.dispose();
    const resumed = new Trainer(short, state.checkpoint, train, val, state);
    while (!resumed.done) await resumed.trainStep();
    const got = await resumed.checkpoint();
    resumed.dispose();
    expect(got.layers[1].w2).toEqual(expected.layers[1].w2);
    expect(got.tokenEmbedding).toEqual(expected.tokenEmbedding);
    expect(resumed.log.map((e) => e.trainLoss)).toEqual(expectedLosses);
  });

  // The same code trains on WebGPU (SwiftShader here, a real GPU elsewhere). Losses are read back
  // asynchronously on every step, which is what WebGPU needs in Node and in a worker.
  it('trains on webgpu to the same losses as wasm, within float32 reduction-order noise', async () => {
    const short = { ...options, steps: 3, batchSize: 2, evalEvery: 3, evalWindows: 2 };
    const run = async (backend: 'wasm' | 'webgpu') => {
      await onBackend(backend);
      const trainer = new Trainer(short, initialCheckpoint(config, 1), train, val);
      while (!trainer.done) await trainer.trainStep();
      const weights = (await trainer.checkpoint()).layers[0].wq;
      trainer.dispose();
      return { losses: trainer.log.map((e) => [e.trainLoss, e.gradNorm, e.valLoss ?? 0]).flat(), weights };
    };
    const gpu = await run('webgpu');
    const cpu = await run('wasm');
    // Float32 sums over 32x64 logits in another order differ by ~1e-6 relative; three AdamW
    // steps keep the weights within 1e-4 (each step moves a weight by at most the learning rate).
    gpu.losses.forEach((x, i) => expect(Math.abs(x - cpu.losses[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(cpu.losses[i]))));
    let worst = 0;
    gpu.weights.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - cpu.weights[i]))));
    expect(worst).toBeLessThan(1e-4);
    expect(cpu.losses.slice(0, 2)).not.toEqual([0, 0]);
  }, 240_000);
});
