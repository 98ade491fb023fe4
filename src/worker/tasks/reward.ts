/**
 * Chapter 9's reward model, trained in the worker in short tasks: `reward-start` builds the
 * preference pairs and a fresh scalar head, `reward-encode` runs the frozen backbone over a few
 * more texts, `reward-steps` trains the head, `reward-eval` scores the held-out pairs. The run
 * lives here between tasks, so generation and other widgets get their turn in between, and the
 * page pauses a run simply by sending no more chunks.
 */
import { splitStories } from '../../engine/evaluate.ts';
import type { Llama } from '../../engine/llama.ts';
import { buildPairs, DEFAULT_PAIR_OPTIONS, type PairOptions } from '../../train/reward/pairs.ts';
import { RewardRun } from '../../train/reward/reward-run.ts';
import { DEFAULT_HEAD_OPTIONS } from '../../train/reward/scalar-head.ts';
import type { TaskContext, TaskOutput } from './context.ts';
import type { RewardStartResult } from './reward-types.ts';
import type { TaskArgs, TaskProgress, TaskResult } from './types.ts';

/** The worker's one run: the texts it was built from and the model it encodes with. */
let session: { run: RewardRun; stories: string; pairKey: string } | null = null;

/** Steps per task at most: each is microseconds, but a bound keeps a bad request from hanging the queue. */
const MAX_STEPS = 5000;

function current(llama: Llama): RewardRun {
  if (!session) throw new Error('No reward-model run yet: start one first.');
  if (session.run.llama !== llama) throw new Error('The loaded model changed since this run started: start the run again.');
  return session.run;
}

export async function rewardStart(
  ctx: TaskContext<TaskProgress<'reward-start'>>,
  args: TaskArgs<'reward-start'>,
): Promise<TaskOutput<TaskResult<'reward-start'>>> {
  const llama = ctx.model();
  const options: PairOptions = { ...DEFAULT_PAIR_OPTIONS, ...args.pairs };
  const pairKey = JSON.stringify(options);
  // Same model, texts and pairs: the backbone's features still hold, only the head starts over.
  if (session && session.run.llama === llama && session.stories === args.stories && session.pairKey === pairKey) {
    session.run.reset(args.margins);
  } else {
    const stories = splitStories(args.stories);
    const set = buildPairs(stories, options);
    session = { run: new RewardRun(llama, set, args.margins, { ...DEFAULT_HEAD_OPTIONS, ...args.head }), stories: args.stories, pairKey };
  }
  return { result: describe(session.run, options) };
}

function describe(run: RewardRun, options: PairOptions): RewardStartResult {
  const { pairs, texts } = run.set;
  const firstHeld = pairs.find((p) => p.heldOut)!;
  return {
    options,
    dim: run.llama.config.dim,
    texts: texts.length,
    trainPairs: pairs.filter((p) => !p.heldOut).length,
    heldOutPairs: pairs.filter((p) => p.heldOut).length,
    encoded: run.encoded,
    // One held-out story's pairs, to show what the ratings mean.
    examples: pairs
      .filter((p) => p.story === firstHeld.story)
      .map((p) => ({ rating: p.rating, edits: p.edits, chosen: texts[p.chosen], rejected: texts[p.rejected] })),
  };
}

export async function rewardEncode(
  ctx: TaskContext<TaskProgress<'reward-encode'>>,
  { count }: TaskArgs<'reward-encode'>,
): Promise<TaskOutput<TaskResult<'reward-encode'>>> {
  const run = current(ctx.model());
  const end = Math.min(run.total, run.encoded + Math.max(1, Math.floor(count)));
  while (run.encoded < end && !ctx.signal.aborted) {
    await run.encode(1);
    ctx.progress({ encoded: run.encoded, total: run.total });
    await ctx.pause();
  }
  return { result: { encoded: run.encoded, total: run.total } };
}

export async function rewardSteps(
  ctx: TaskContext<TaskProgress<'reward-steps'>>,
  { steps }: TaskArgs<'reward-steps'>,
): Promise<TaskOutput<TaskResult<'reward-steps'>>> {
  if (!(Number.isInteger(steps) && steps >= 1 && steps <= MAX_STEPS)) throw new RangeError(`steps: expected a whole number from 1 to ${MAX_STEPS}, got ${steps}`);
  const run = current(ctx.model());
  return { result: { log: run.trainSteps(steps), step: run.step } };
}

export async function rewardEval(ctx: TaskContext<TaskProgress<'reward-eval'>>): Promise<TaskOutput<TaskResult<'reward-eval'>>> {
  return { result: current(ctx.model()).evaluate() };
}
