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

  it('lowers the validation loss from chance', () => {
    const trainer = new Trainer(options, initialCheckpoint(config, 1), train, val);
    const before = trainer.validationLoss();
    expect(before).toBeCloseTo(Math.log(512), 0); // a fresh model is near uniform
    while (!trainer.done) trainer.trainStep();
    const after = trainer.log.at(-1)!.valLoss!;
    trainer.dispose();
    expect(after).toBeLessThan(before - 1);
    expect(trainer.log.filter((e) => e.valLoss !== undefined)).toHaveLength(2);
  });

  it('resumes from saved state exactly where a continuous run would be', () => {
    const short = { ...options, steps: 6 };
    const straight = new Trainer(short, initialCheckpoint(config, 1), train, val);
    while (!straight.done) straight.trainStep();
    const expected = straight.checkpoint();
    const expectedLosses = straight.log.map((e) => e.trainLoss);
    straight.dispose();

    const first = new Trainer(short, initialCheckpoint(config, 1), train, val);
    for (let i = 0; i < 3; i++) first.trainStep();
    const state = decodeState(encodeState(first.state()));
    first.dispose();
    const resumed = new Trainer(short, state.checkpoint, train, val, state);
    while (!resumed.done) resumed.trainStep();
    const got = resumed.checkpoint();
    resumed.dispose();
    expect(got.layers[1].w2).toEqual(expected.layers[1].w2);
    expect(got.tokenEmbedding).toEqual(expected.tokenEmbedding);
    expect(resumed.log.map((e) => e.trainLoss)).toEqual(expectedLosses);
  });
});
