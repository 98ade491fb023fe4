/**
 * Chapter 5's in-page training: the project's Trainer (src/train, the paper's recipe) on a fresh,
 * tiny model with the loaded model's tokenizer, on whatever backend the worker runs. A run is a
 * session kept here between requests; the page drives it in short chunks (`train-steps`), so the
 * worker's queue lets generation and the other explorers in between, and pausing is simply not
 * asking for the next chunk.
 */
// Gradients are needed only here; this module is imported on the first training request, so the
// worker's start-up code never loads the registry.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { EngineError } from '../../engine/errors.ts';
import { splitStories } from '../../engine/evaluate.ts';
import { generateAll } from '../../engine/generate.ts';
import { Llama } from '../../engine/llama.ts';
import { parameterCount } from '../../engine/params.ts';
import type { Tokenizer } from '../../engine/tokenizer/tokenizer.ts';
import { packStories } from '../../train/batches.ts';
import { initialCheckpoint } from '../../train/init.ts';
import { llamaShape } from '../../train/model-configs.ts';
import { PAPER_RECIPE, Trainer, type TrainOptions } from '../../train/trainer.ts';
import type { TaskContext, TaskOutput } from './context.ts';
import { checkChoices, checkShape } from './train-setup.ts';
import type { TaskArgs, TaskProgress, TaskResult } from './types.ts';

interface Session {
  trainer: Trainer;
  tokenizer: Tokenizer;
  tokenizerName: string;
}

/** At most one run at a time: a new start frees the previous one (its memory, on a GPU too). */
const sessions = new Map<number, Session>();
let nextSession = 1;

function sessionOf(id: number): Session {
  const s = sessions.get(id);
  if (!s) throw new EngineError('bad-argument', 'This training run has ended (it was stopped, or a newer run replaced it): start a new one.');
  return s;
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new EngineError('aborted', 'Stopped before the run was ready.');
}

/** Stories encoded a batch at a time, reporting progress and letting a stop in between. */
async function encodeStories(
  ctx: TaskContext<TaskProgress<'train-start'>>,
  tokenizer: Tokenizer,
  stories: string[],
  what: string,
  enough = Infinity,
): Promise<{ stream: Int32Array; used: number }> {
  const encoded: number[][] = [];
  let tokens = 0;
  for (let i = 0; i < stories.length && tokens < enough; i++) {
    const ids = tokenizer.encode(stories[i], { bos: true });
    encoded.push(ids);
    tokens += ids.length;
    if (i % 64 === 63) {
      ctx.progress({ what, done: i + 1, total: stories.length });
      await ctx.pause();
      checkAborted(ctx.signal);
    }
  }
  return { stream: packStories(encoded), used: encoded.length };
}

export async function trainStart(ctx: TaskContext<TaskProgress<'train-start'>>, args: TaskArgs<'train-start'>): Promise<TaskOutput<TaskResult<'train-start'>>> {
  checkShape(args.shape);
  checkChoices(args.options);
  const llama = ctx.model();
  const tokenizer = llama.tokenizer;
  const trainStories = splitStories(args.trainText);
  const valStories = splitStories(args.valText);
  if (trainStories.length === 0) throw new EngineError('bad-argument', 'The training text holds no stories (they are separated by <|endoftext|> lines).');
  if (valStories.length === 0) throw new EngineError('bad-argument', 'The validation text holds no stories (they are separated by <|endoftext|> lines).');

  const config = llamaShape({ ...args.shape, vocabSize: tokenizer.vocabSize });
  const train = await encodeStories(ctx, tokenizer, trainStories, 'Tokenizing the training stories');
  if (train.stream.length < config.seqLen + 1) {
    throw new EngineError('bad-argument', `The training text is ${train.stream.length} tokens long, shorter than one window of ${config.seqLen + 1}.`);
  }
  // Validation reads only the first evalWindows windows of its stream: encode just enough.
  const valNeeded = args.options.evalWindows * config.seqLen + 1;
  const val = await encodeStories(ctx, tokenizer, valStories, 'Tokenizing the validation stories', valNeeded);
  if (val.stream.length < config.seqLen + 1) {
    throw new EngineError('bad-argument', `The validation text is ${val.stream.length} tokens long, shorter than one window of ${config.seqLen + 1}.`);
  }

  for (const [id, s] of sessions) {
    s.trainer.dispose();
    sessions.delete(id);
  }
  const options: TrainOptions = { ...args.options, ...PAPER_RECIPE };
  ctx.progress({ what: 'Initialising the model', done: 0, total: 1 });
  const trainer = new Trainer(options, initialCheckpoint(config, options.seed), train.stream, val.stream);
  const session = nextSession++;
  const tokenizerName = llama.names.tokenizer;
  sessions.set(session, { trainer, tokenizer, tokenizerName });
  return {
    result: {
      session,
      config,
      parameters: parameterCount(config),
      options,
      tokenizer: tokenizerName,
      trainStories: train.used,
      trainTokens: train.stream.length,
      valTokens: val.stream.length,
    },
  };
}

export async function trainSteps(ctx: TaskContext<never>, args: TaskArgs<'train-steps'>): Promise<TaskOutput<TaskResult<'train-steps'>>> {
  const { trainer } = sessionOf(args.session);
  const rows = [];
  const t0 = performance.now();
  // At least one step per chunk, so a slow backend still makes progress.
  while (!trainer.done && rows.length < Math.max(1, args.maxSteps) && !ctx.signal.aborted) {
    rows.push(await trainer.trainStep());
    if (performance.now() - t0 >= args.budgetMs) break;
    await ctx.pause();
  }
  return { result: { rows, step: trainer.step, tokensSeen: trainer.tokensSeen, done: trainer.done } };
}

export async function trainSample(ctx: TaskContext<never>, args: TaskArgs<'train-sample'>): Promise<TaskOutput<TaskResult<'train-sample'>>> {
  const { trainer, tokenizer, tokenizerName } = sessionOf(args.session);
  const seqLen = trainer.config.seqLen;
  if (!Number.isInteger(args.steps) || args.steps < 1 || args.steps > seqLen) {
    throw new EngineError('bad-argument', `The sample length must be a whole number from 1 to the context, ${seqLen}; got ${args.steps}`);
  }
  // The trained weights as a checkpoint, run by the same engine as any loaded model.
  const llama = Llama.fromCheckpoint(await trainer.checkpoint(), tokenizer, { model: `in-page run, step ${trainer.step}`, tokenizer: tokenizerName });
  try {
    const r = await generateAll(llama, { prompt: args.prompt, steps: args.steps, temperature: args.temperature, seed: args.seed, alternatives: 0, signal: ctx.signal });
    return { result: { step: trainer.step, text: r.text, newTokens: r.tokens.length - r.promptTokens } };
  } finally {
    llama.dispose();
  }
}

export async function trainStop(_ctx: TaskContext<never>, args: TaskArgs<'train-stop'>): Promise<TaskOutput<TaskResult<'train-stop'>>> {
  const s = sessions.get(args.session);
  s?.trainer.dispose();
  sessions.delete(args.session);
  return { result: { stopped: s !== undefined } };
}
