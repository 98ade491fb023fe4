// Chapter 9's reward model through the engine worker's tasks, as the page drives them, on the wasm
// backend with the embedded model: the frozen backbone encodes the preference pairs of the site's
// validation stories, a short run trains the scalar head, and it ranks held-out pairs well above
// chance; the margins then order the reward gaps as the paper intends.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Evaluation } from '../../src/train/reward/reward-run.ts';
import { NO_MARGIN, RATINGS, type Margins } from '../../src/train/reward/ratings.ts';
import { marginVariants } from '../../components/widgets/reward/paper-margins.ts';
import { createEngineState, handleRequest } from '../../src/worker/handler.ts';
import type { EngineReply, EngineRequest } from '../../src/worker/protocol.ts';
import { fetchDownloader } from '../../src/worker/sources.ts';
import type { RewardStartResult } from '../../src/worker/tasks/reward-types.ts';

const ROOT = join(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p));
const STORIES = read('public/data/tinystories-valid-240.txt').toString('utf8');
const LARGE: Margins = marginVariants().find((v) => v.id === 'large')!.margins;
/** What the page's default run does: steps in chunks of 25, up to 200. */
const STEPS = 200;

const state = createEngineState({ download: fetchDownloader(fetch), caches: null });
const replies: EngineReply[] = [];
let nextId = 1;

async function send(body: Record<string, unknown>): Promise<{ id: number; result: unknown }> {
  const id = nextId++;
  await handleRequest(state, { ...body, id } as EngineRequest, (r) => replies.push(r));
  const reply = replies.find((r) => (r.type === 'done' || r.type === 'error') && r.id === id);
  if (!reply) throw new Error(`request ${id} was not answered`);
  if (reply.type === 'error') throw new Error(reply.message);
  return { id, result: (reply as { result: unknown }).result };
}
const task = async <T,>(name: string, args: unknown) => (await send({ type: 'task', name, args })).result as T;

async function trainAndEvaluate(margins: Margins): Promise<{ start: RewardStartResult; evaluation: Evaluation; before: Evaluation }> {
  const start = await task<RewardStartResult>('reward-start', { stories: STORIES, margins });
  let encoded = start.encoded;
  while (encoded < start.texts) encoded = (await task<{ encoded: number }>('reward-encode', { count: 100 })).encoded;
  const before = await task<Evaluation>('reward-eval', {});
  for (let at = 0; at < STEPS; ) at = (await task<{ step: number }>('reward-steps', { steps: 25 })).step;
  return { start, before, evaluation: await task<Evaluation>('reward-eval', {}) };
}

beforeAll(async () => {
  await send({ type: 'init', backend: 'wasm' });
  const blob = (p: string, name: string) => Object.assign(new Blob([read(p)]), { name });
  await send({ type: 'load', spec: { kind: 'files', model: blob('public/models/default/model.bin', 'model.bin'), tokenizer: blob('public/models/default/tokenizer.bin', 'tokenizer.bin') } });
});

describe('reward model on the embedded backbone (wasm)', () => {
  let large: Evaluation;

  it('refuses to train before a run exists or before the texts are encoded', async () => {
    await expect(task('reward-steps', { steps: 5 })).rejects.toThrow(/start one first/);
    const start = await task<RewardStartResult>('reward-start', { stories: STORIES, margins: LARGE });
    expect(start.encoded).toBe(0);
    await expect(task('reward-steps', { steps: 5 })).rejects.toThrow(/encode the texts first/);
    await expect(task('reward-steps', { steps: 0 })).rejects.toThrow(/whole number/);
  });

  it('encodes with progress, starts at chance, and a short run ranks held-out pairs well above chance', async () => {
    const first = nextId;
    const { start, before, evaluation } = await trainAndEvaluate(LARGE);
    const progress = replies.filter((r) => r.type === 'progress' && r.id >= first);
    expect(progress.length).toBe(start.texts); // one report per text read
    expect(start.heldOutPairs).toBe(160);
    // The head starts at zero: every pair a tie, scored as half right.
    expect(before.accuracy).toBe(0.5);
    expect(evaluation.step).toBe(STEPS);
    // Chance: 160 held-out pairs, each a coin flip for a useless head, give accuracy with standard
    // deviation √(0.25/160) ≈ 0.040. 0.65 is 3.8 standard deviations above 0.5 (p < 1e−4 for a
    // chance-level head), and well below what this run reaches with the embedded model (≈ 0.8).
    expect(evaluation.accuracy).toBeGreaterThan(0.65);
    expect(evaluation.loss).toBeLessThan(before.loss);
    large = evaluation;
  });

  it('keeps the encoded texts when only the head restarts; the margins set the size of the gaps', async () => {
    const { start, evaluation: none } = await trainAndEvaluate(NO_MARGIN);
    expect(start.encoded).toBe(start.texts); // nothing to read again
    const mean = (e: Evaluation, r: (typeof RATINGS)[number]) => e.perRating.find((s) => s.rating === r)!.meanDelta;
    // With Table 27's large margins the loss keeps pushing a "significantly better" pair until
    // its gap passes its margin; without a margin it stops caring once the gap is positive. So
    // the trained gap of those pairs must be larger with margins, and larger than that of the
    // zero-margin "negligibly better" pairs trained alongside them.
    expect(mean(large, 'significantlyBetter')).toBeGreaterThan(mean(none, 'significantlyBetter'));
    expect(mean(large, 'significantlyBetter')).toBeGreaterThan(mean(large, 'negligiblyBetterUnsure'));
    expect(none.accuracy).toBeGreaterThan(0.65); // the same chance bound as above
  });
});
