/**
 * Chapter 4's optional step after pooling, as in the GQA paper: a short "uptraining" of a pooled
 * variant of the loaded model. Runs in chunks (each request trains a few steps) with the trainer
 * kept here between requests, so the worker stays free for other widgets in between; the page
 * pauses by not sending the next chunk. Gradients are registered on first use, never at start-up.
 */
import type { TaskArgs, TaskProgress, TaskResult } from './types.ts';
import type { TaskContext, TaskOutput } from './context.ts';
import type { Llama } from '../../engine/llama.ts';
import type { Trainer } from '../../train/trainer.ts';
import { UPTRAIN_RECIPE } from './uptrain-recipe.ts';


interface Session {
  model: Llama;
  kvHeads: number;
  trainer: Trainer;
}
let session: Session | null = null;

function endSession(): void {
  session?.trainer.dispose();
  session = null;
}

export async function kvUptrain(
  ctx: TaskContext<TaskProgress<'kv-uptrain'>>,
  args: TaskArgs<'kv-uptrain'>,
): Promise<TaskOutput<TaskResult<'kv-uptrain'>>> {
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  const [{ Trainer, PAPER_RECIPE }, { packStories }, { poolKvHeads }, { evaluateStories }, { Llama }] = await Promise.all([
    import('../../train/trainer.ts'),
    import('../../train/batches.ts'),
    import('../../engine/kv-pooling.ts'),
    import('../../engine/evaluate.ts'),
    import('../../engine/llama.ts'),
  ]);
  const llama = ctx.model();
  if (args.start) {
    endSession();
    const { kvHeads, totalSteps, trainStories, batchSize = UPTRAIN_RECIPE.batchSize } = args.start;
    if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new Error(`the number of uptraining steps must be a whole number ≥ 1, got ${totalSteps}`);
    const train = packStories(trainStories.map((s) => llama.tokenizer.encode(s, { bos: true })));
    const trainer = new Trainer(
      {
        steps: totalSteps,
        batchSize,
        peakLr: UPTRAIN_RECIPE.peakLr,
        warmupSteps: Math.min(UPTRAIN_RECIPE.warmupSteps, totalSteps),
        ...PAPER_RECIPE,
        evalEvery: 0,
        // The trainer computes a validation loss at its last step; one window keeps that cheap.
        // Quality is reported as bits per byte on the validation stories instead (below).
        evalWindows: 1,
        seed: UPTRAIN_RECIPE.seed,
      },
      poolKvHeads(llama.requireCheckpoint('Uptraining'), kvHeads),
      train,
      train.subarray(0, llama.config.seqLen + 1),
    );
    session = { model: llama, kvHeads, trainer };
  }
  if (!session || session.model !== llama) {
    endSession();
    throw new Error('no uptraining run for the loaded model: start one first');
  }
  const { trainer, kvHeads } = session;
  const losses: number[] = [];
  for (let i = 0; i < args.steps && !trainer.done && !ctx.signal.aborted; i++) {
    const entry = await trainer.trainStep();
    losses.push(entry.trainLoss);
    ctx.progress({ kvHeads, step: trainer.step, totalSteps: trainer.options.steps, trainLoss: entry.trainLoss });
    await ctx.pause();
  }
  let bitsPerByte: number | null = null;
  if (args.evaluate && args.evaluate.length > 0 && !ctx.signal.aborted) {
    const tuned = Llama.fromCheckpoint(await trainer.checkpoint(), llama.tokenizer, { model: `${llama.names.model} (uptrained)`, tokenizer: llama.names.tokenizer });
    try {
      bitsPerByte = (await evaluateStories(tuned, args.evaluate)).bitsPerByte;
    } finally {
      tuned.dispose();
    }
  }
  const result = { kvHeads, step: trainer.step, totalSteps: trainer.options.steps, trainLosses: losses, bitsPerByte };
  if (trainer.done && args.evaluate) endSession();
  return { result };
}
