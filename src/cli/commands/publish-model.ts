import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { attentionKind } from '../../engine/config.ts';
import { EngineError } from '../../engine/errors.ts';
import { evaluateStories, splitStories } from '../../engine/evaluate.ts';
import { generateAll } from '../../engine/generate.ts';
import { parameterCount } from '../../engine/params.ts';
import { useNodeBackend } from '../../node/backend.ts';
import { loadLlamaFiles, readFileOrFail } from '../../node/load-files.ts';
import { describeMachine } from '../../node/machine.ts';
import { finalStep, type TrainingLog } from '../../train/training-log.ts';
import { integerOption, parseOptions, requireOption } from '../args.ts';
import { withCommas } from '../table.ts';

/** What `evaluation.json` records: the numbers a test re-measures and the pages show. */
export interface PublishedEvaluation {
  text: string;
  stories: number;
  meanNll: number;
  bitsPerByte: number;
  tokens: number;
  bytes: number;
  backend: string;
  machine: string;
  greedySample: { prompt: string; steps: number; text: string };
}

const SAMPLE = { prompt: 'Once upon a time', steps: 120 };

/**
 * Copies a finished training run into the site (model, tokenizer, full log), evaluates it as the
 * reference README defines, and writes the model card from those files.
 */
export async function publishModelCommand(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    run: { type: 'string' },
    val: { type: 'string' },
    out: { type: 'string' },
    stories: { type: 'string' },
  });
  const run = requireOption(o.run, 'run');
  const valPath = requireOption(o.val, 'val');
  const out = requireOption(o.out, 'out');
  const storyCount = integerOption(o.stories, 'stories', 40, 1);
  const log = JSON.parse(await readFileOrFail(join(run, 'training-log.json'), 'training run', 'utf8')) as TrainingLog;
  const last = log.entries.at(-1);
  if (!last || last.step < finalStep(log)) throw new EngineError('bad-argument', `--run ${run}: training stopped at step ${last?.step ?? 0} of ${finalStep(log)}; finish it first`);

  const report = await useNodeBackend('wasm');
  const llama = await loadLlamaFiles(join(run, 'model.bin'), join(run, 'tokenizer.bin'));
  const stories = splitStories(await readFileOrFail(valPath, 'val', 'utf8')).slice(0, storyCount);
  const r = await evaluateStories(llama, stories);
  const sample = await generateAll(llama, { ...SAMPLE, temperature: 0 });
  llama.dispose();
  const evaluation: PublishedEvaluation = {
    text: `first ${storyCount} stories of tinystories_valid_first1000.txt, every token predicted (stories longer than the context in overlapping windows)`,
    stories: r.stories,
    meanNll: r.meanNll,
    bitsPerByte: r.bitsPerByte,
    tokens: r.tokens,
    bytes: r.bytes,
    backend: report.name,
    machine: describeMachine(),
    greedySample: { ...SAMPLE, text: sample.text },
  };

  await mkdir(out, { recursive: true });
  for (const f of ['model.bin', 'tokenizer.bin', 'training-log.json']) await copyFile(join(run, f), join(out, f));
  await writeFile(join(out, 'evaluation.json'), `${JSON.stringify(evaluation, null, 2)}\n`);
  await writeFile(join(out, 'MODEL_CARD.md'), modelCard(log, evaluation));
  process.stdout.write(`published ${out}: ${r.meanNll.toFixed(5)} nats/token, ${r.bitsPerByte.toFixed(4)} bits/byte\n`);
}

/** The training files as the run's log records them, and the held-out text. */
export function dataSection(log: TrainingLog): string {
  const held = `- Held out: \`tinystories_valid_first1000.txt\` (${withCommas(log.valTokens)} tokens), used only for validation.`;
  if (!log.data) return `- Training: ${withCommas(log.trainTokens)} tokens (this run's log does not list its files).\n${held}`;
  const files = log.data.map((d) => {
    const origin = d.generatedBy ? `sampled by the project from a teacher model: \`${d.generatedBy}\`${d.note ? ` (${d.note})` : ''}` : 'text as given';
    return `  - \`${d.file}\`: ${withCommas(d.stories)} complete stories, ${withCommas(d.bytes)} bytes, ${withCommas(d.tokens)} tokens; ${origin}`;
  });
  const earlier = log.continuedFrom
    ? `\n- Continued pretraining: steps 1–${withCommas(log.continuedFrom.steps)} are an earlier run (its commands are listed below, first) on ${
        log.continuedFrom.data?.map((d) => `\`${d.file}\``).join(', ') ?? 'files its log does not list'
      }; the run that continued it from those weights, with a new warmup and cosine schedule, trained on the files above.`
    : '';
  return `- Training (${withCommas(log.trainTokens)} tokens in all):\n${files.join('\n')}${earlier}\n${held}`;
}

function modelCard(log: TrainingLog, e: PublishedEvaluation): string {
  const c = log.config;
  const last = log.entries.at(-1)!;
  const lastVal = [...log.entries].reverse().find((x) => x.valLoss !== undefined);
  const hours = last.wallSeconds / 3600;
  return `# The embedded model

A Llama 2 trained from scratch by this project with its own engine (\`src/train\`), the default
model of the site. Every figure below comes from \`training-log.json\` and \`evaluation.json\`
beside this file.

| | |
| --- | --- |
| architecture | Llama 2: RMSNorm pre-normalization, SwiGLU, rotary embeddings, grouped-query attention (${attentionKind(c)}) |
| dim / FFN | ${c.dim} / ${c.hiddenDim} |
| layers | ${c.nLayers} |
| heads / kv heads | ${c.nHeads} / ${c.nKvHeads} |
| context | ${c.seqLen} tokens |
| vocabulary | ${c.vocabSize} (SentencePiece-style BPE with byte fallback, trained on the same data) |
| parameters | ${withCommas(parameterCount(c))} (classifier shares the embedding) |
| format | llama2.c version 0 (float32), \`model.bin\` + \`tokenizer.bin\` |

## Data
${dataSection(log)}
- TinyStories (Eldan & Li, 2023) is licensed CDLA-Sharing-1.0; this model is trained on it.

## Training
- Commands (a resumed run lists each invocation):
${log.commands.map((c) => `  - \`${c}\``).join('\n')}
- Recipe (the paper's): AdamW β1 0.9, β2 0.95, ε 1e-5, weight decay 0.1, cosine schedule with linear
  warmup down to 10% of the peak, gradient clipping at 1.0, packed sequences with BOS between stories.
- ${withCommas(last.step)} steps, ${withCommas(last.tokensSeen)} tokens seen, ${hours.toFixed(2)} h of training wall time on the ${log.backend} backend, ${log.machine}.
- Final train loss ${last.trainLoss.toFixed(4)}; validation loss ${lastVal?.valLoss?.toFixed(4) ?? '-'} nats/token (held-out windows, step ${lastVal?.step ?? '-'}).

## Evaluation
On the ${e.text}; each story encoded with BOS and every next token predicted from what precedes
it, NLL summed over tokens, bits per byte = total NLL / ln 2 / UTF-8 bytes: **${e.meanNll.toFixed(5)} nats/token, ${e.bitsPerByte.toFixed(4)} bits per UTF-8 byte**
(${withCommas(e.tokens)} tokens, ${withCommas(e.bytes)} bytes; ${e.backend}, ${e.machine}).

Greedy sample (\`${e.greedySample.prompt}\`, ${e.greedySample.steps} steps):

> ${e.greedySample.text.replace(/\n/g, '\n> ')}
`;
}
