// Chapter 5's in-page training tasks, through the worker's own request handler in Node (wasm, the
// page's fallback backend) with the embedded model's tokenizer and the site's training text: a few
// steps lower the loss, the rows the page shows are the Trainer's own, sampling and stopping work.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presetChoices, TRAIN_PRESETS } from '../../components/widgets/training/presets.ts';
import { summarizeRun } from '../../components/widgets/training/run-summary.ts';
import { loadSpecFor } from '../../src/client/model-sources.ts';
import { splitStories } from '../../src/engine/evaluate.ts';
import { Tokenizer } from '../../src/engine/tokenizer/tokenizer.ts';
import { packStories } from '../../src/train/batches.ts';
import { initialCheckpoint } from '../../src/train/init.ts';
import { llamaShape } from '../../src/train/model-configs.ts';
import { PAPER_RECIPE, Trainer, type LogEntry } from '../../src/train/trainer.ts';
import { createEngineState, handleRequest, type EngineState } from '../../src/worker/handler.ts';
import type { EngineReply, EngineRequest } from '../../src/worker/protocol.ts';
import { fetchDownloader } from '../../src/worker/sources.ts';
import type { TaskName } from '../../src/worker/tasks/types.ts';
import type { TrainChunk, TrainRun, TrainSample, TrainStartArgs } from '../../src/worker/tasks/train-types.ts';

const ROOT = join(import.meta.dirname, '../..');
const SITE = 'https://site.test/';
const read = (path: string) => new Uint8Array(readFileSync(join(ROOT, path)));
const FILES = new Map([
  [`${SITE}models/default/model.bin`, read('public/models/default/model.bin')],
  [`${SITE}models/default/tokenizer.bin`, read('public/models/default/tokenizer.bin')],
]);
const fakeFetch = (async (input: string | URL | Request) => {
  const bytes = FILES.get(String(input));
  return bytes ? new Response(bytes.slice(), { headers: { 'content-length': String(bytes.length) } }) : new Response('Not found', { status: 404 });
}) as typeof fetch;

const trainText = readFileSync(join(ROOT, 'public/data/teacher-stories.txt'), 'utf8');
const valText = readFileSync(join(ROOT, 'public/data/tinystories-valid-240.txt'), 'utf8');

// The page's smallest preset, with a short schedule so the test's 24 steps include the decay.
const preset = TRAIN_PRESETS[0];
const STEPS = 24;
const startArgs: TrainStartArgs = { shape: preset.shape, options: presetChoices(preset, STEPS), trainText, valText };

let state: EngineState;
const replies: EngineReply[] = [];
let nextId = 1;

async function send(body: Record<string, unknown> & { type: EngineRequest['type'] }): Promise<EngineReply & { type: 'done' | 'error' }> {
  const id = nextId++;
  await handleRequest(state, { ...body, id } as EngineRequest, (r) => replies.push(r));
  const reply = replies.find((r): r is EngineReply & { type: 'done' | 'error' } => (r.type === 'done' || r.type === 'error') && r.id === id);
  if (!reply) throw new Error(`request ${id} was not answered`);
  return reply;
}

async function task<T>(name: TaskName, args: unknown): Promise<T> {
  const reply = await send({ type: 'task', name, args });
  if (reply.type !== 'done') throw new Error(`${name}: ${reply.type === 'error' ? reply.message : ''}`);
  return reply.result as T;
}

async function taskError(name: TaskName, args: unknown): Promise<string> {
  const reply = await send({ type: 'task', name, args });
  if (reply.type !== 'error') throw new Error(`${name} was expected to fail`);
  return reply.message;
}

beforeAll(async () => {
  state = createEngineState({ download: fetchDownloader(fakeFetch), caches: null });
  expect((await send({ type: 'init', backend: 'wasm' })).type).toBe('done');
  expect((await send({ type: 'load', spec: loadSpecFor({ kind: 'embedded' }, SITE) })).type).toBe('done');
}, 120_000);

describe('in-page training tasks (worker handler, wasm)', () => {
  let run: TrainRun;
  const rows: LogEntry[] = [];

  it('train-start builds a model on the loaded tokenizer and reports its progress', async () => {
    const before = replies.length;
    run = await task<TrainRun>('train-start', startArgs);
    const vocab = state.llama!.config.vocabSize;
    expect(run.config).toMatchObject({ ...preset.shape, vocabSize: vocab });
    expect(run.options).toMatchObject({ ...startArgs.options, ...PAPER_RECIPE });
    expect(run.trainStories).toBe(splitStories(trainText).length);
    expect(run.parameters).toBeGreaterThan(vocab * preset.shape.dim); // the embedding table and more
    const progress = replies.slice(before).filter((r) => r.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
  });

  it('train-steps runs in chunks within its budget, and the loss falls', async () => {
    while (rows.length < STEPS) {
      const chunk = await task<TrainChunk>('train-steps', { session: run.session, maxSteps: 5, budgetMs: 1 });
      // A 1 ms budget still runs one step per chunk: short chunks are what keeps the worker responsive.
      expect(chunk.rows).toHaveLength(1);
      rows.push(...chunk.rows);
      expect(chunk.step).toBe(rows.length);
      expect(chunk.tokensSeen).toBe(rows.length * preset.batchSize * preset.shape.seqLen);
      expect(chunk.done).toBe(rows.length >= STEPS);
    }
    expect(rows.map((r) => r.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    // A fresh model predicts nearly uniformly: its first loss is close to ln(vocabulary).
    expect(rows[0].trainLoss).toBeGreaterThan(Math.log(run.config.vocabSize) - 0.3);
    // Within a couple of dozen steps it learns at least which tokens are frequent: more than a nat
    // gone (measured: ~2 nats on this preset); batch noise is a few tenths, hence the mean of five.
    const lastFive = rows.slice(-5).reduce((s, r) => s + r.trainLoss, 0) / 5;
    expect(lastFive).toBeLessThan(rows[0].trainLoss - 1);
    const vals = rows.filter((r) => r.valLoss !== undefined).map((r) => r.valLoss!);
    expect(vals.length).toBeGreaterThanOrEqual(2);
    expect(vals[vals.length - 1]).toBeLessThan(vals[0]);
    // Asking past the end runs nothing.
    expect((await task<TrainChunk>('train-steps', { session: run.session, maxSteps: 5, budgetMs: 1000 })).rows).toEqual([]);
  });

  it('the numbers the page shows are the Trainer’s log, step for step', async () => {
    // The same run with src/train directly, on the same backend: same data, shape, seed and recipe.
    const tokenizer = Tokenizer.fromBytes(FILES.get(`${SITE}models/default/tokenizer.bin`)!, 'tokenizer.bin');
    const config = llamaShape({ ...preset.shape, vocabSize: tokenizer.vocabSize });
    const train = packStories(splitStories(trainText).map((s) => tokenizer.encode(s, { bos: true })));
    const val = packStories(splitStories(valText).slice(0, 20).map((s) => tokenizer.encode(s, { bos: true })));
    const trainer = new Trainer({ ...startArgs.options, ...PAPER_RECIPE }, initialCheckpoint(config, startArgs.options.seed), train, val);
    try {
      while (!trainer.done) await trainer.trainStep();
      // Identical computations on one backend; 1e-5 allows for nothing but float32 summation order.
      trainer.log.forEach((e, i) => {
        expect(rows[i].tokensSeen).toBe(e.tokensSeen);
        expect(rows[i].lr).toBe(e.lr);
        expect(rows[i].trainLoss).toBeCloseTo(e.trainLoss, 5);
        expect(rows[i].valLoss === undefined).toBe(e.valLoss === undefined);
        if (e.valLoss !== undefined) expect(rows[i].valLoss).toBeCloseTo(e.valLoss, 5);
      });
      const shown = summarizeRun(rows)!;
      const last = trainer.log[trainer.log.length - 1];
      expect(shown.step).toBe(last.step);
      expect(shown.tokensSeen).toBe(last.tokensSeen);
      expect(shown.trainLoss).toBeCloseTo(last.trainLoss, 5);
      expect(shown.firstTrainLoss).toBeCloseTo(trainer.log[0].trainLoss, 5);
      expect(shown.valLoss).toBeCloseTo([...trainer.log].reverse().find((e) => e.valLoss !== undefined)!.valLoss!, 5);
      // Throughput: the recent steps' tokens over their seconds, as the Trainer timed them.
      const recent = rows.slice(-10);
      const seconds = recent.reduce((s, r) => s + (preset.batchSize * preset.shape.seqLen) / r.tokensPerSecond, 0);
      expect(shown.tokensPerSecond).toBeCloseTo((recent.length * preset.batchSize * preset.shape.seqLen) / seconds, 6);
    } finally {
      trainer.dispose();
    }
  });

  it('train-sample writes text with the model being trained', async () => {
    const sample = await task<TrainSample>('train-sample', { session: run.session, prompt: 'Once upon a time', steps: 30, temperature: 0.8, seed: 7 });
    expect(sample.step).toBe(STEPS);
    expect(sample.text.startsWith('Once upon a time')).toBe(true);
    expect(sample.newTokens).toBeGreaterThan(0);
    expect(sample.text.length).toBeGreaterThan('Once upon a time'.length);
    expect(await taskError('train-sample', { session: run.session, prompt: 'x', steps: 10_000, temperature: 1, seed: 1 })).toMatch(/sample length .* context, 64/);
  });

  it('train-stop frees the run; later requests say so in words', async () => {
    expect(await task<{ stopped: boolean }>('train-stop', { session: run.session })).toEqual({ stopped: true });
    expect(await taskError('train-steps', { session: run.session, maxSteps: 1, budgetMs: 100 })).toMatch(/training run has ended/);
  });

  it('rejects impossible shapes and options with a readable message', async () => {
    const bad = { ...startArgs, shape: { ...preset.shape, nHeads: 3 } };
    expect(await taskError('train-start', bad)).toMatch(/heads must split dim into equal, even head sizes/);
    expect(await taskError('train-start', { ...startArgs, options: { ...startArgs.options, peakLr: 0 } })).toMatch(/peak learning rate/);
    expect(await taskError('train-start', { ...startArgs, trainText: 'no separators at all' })).toMatch(/shorter than one window/);
  });
});

afterAll(() => {
  state?.llama?.dispose();
});
