import '../../node/gradients.ts';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { EngineError } from '../../engine/errors.ts';
import { Tokenizer } from '../../engine/tokenizer/tokenizer.ts';
import { parseBackend, useNodeBackend } from '../../node/backend.ts';
import { readFileOrFail } from '../../node/load-files.ts';
import { describeMachine } from '../../node/machine.ts';
import { webgpuAdapterName } from '../../node/webgpu.ts';
import { packStories } from '../../train/batches.ts';
import { initialCheckpoint } from '../../train/init.ts';
import { llamaShape, TRAIN_CONFIGS, type ShapeOptions } from '../../train/model-configs.ts';
import { decodeState, encodeState, type StateFiles } from '../../train/state-files.ts';
import { completeStories } from '../../train/tokenizer/stories.ts';
import { trainBpe } from '../../train/tokenizer/train-bpe.ts';
import { toLlama2cBytes } from '../../train/tokenizer/write-llama2c.ts';
import { PAPER_RECIPE, Trainer, type TrainOptions } from '../../train/trainer.ts';
import { continueEntries, finalStep, type DataSource, type EarlierRun, type TrainingLog } from '../../train/training-log.ts';
import { parseLlama2c } from '../../engine/checkpoint/llama2c.ts';
import { integerOption, numberOption, parseOptions, requireOption } from '../args.ts';


const formatDuration = (s: number) => `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;

export async function trainCommand(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    data: { type: 'string', multiple: true },
    val: { type: 'string' },
    config: { type: 'string' },
    dim: { type: 'string' },
    layers: { type: 'string' },
    heads: { type: 'string' },
    'kv-heads': { type: 'string' },
    'seq-len': { type: 'string' },
    steps: { type: 'string' },
    out: { type: 'string' },
    tokenizer: { type: 'string' },
    'vocab-size': { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    warmup: { type: 'string' },
    'eval-every': { type: 'string' },
    'eval-windows': { type: 'string' },
    'save-every': { type: 'string' },
    seed: { type: 'string' },
    init: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
  });
  const out = requireOption(o.out, 'out');
  const steps = integerOption(requireOption(o.steps, 'steps'), 'steps', 0, 1);
  if (!o.data?.length) throw new EngineError('bad-argument', '--data is required');
  // Several --data files (for example real text plus stories sampled from a teacher) are one corpus.
  const dataFiles: { file: string; bytes: number; stories: string[]; generatedBy?: string; note?: string }[] = [];
  for (const file of o.data) {
    const text = await readFileOrFail(file, 'data', 'utf8');
    const stories = completeStories(text);
    if (stories.length === 0) throw new EngineError('bad-argument', `data ${file}: no complete stories (<|endoftext|>-separated)`);
    const sidecar = existsSync(`${file}.json`) ? (JSON.parse(await readFile(`${file}.json`, 'utf8')) as { generatedBy?: string; note?: string }) : {};
    dataFiles.push({ file: basename(file), bytes: Buffer.byteLength(text), stories, generatedBy: sidecar.generatedBy, note: sidecar.note });
  }
  const trainStories = dataFiles.flatMap((d) => d.stories);
  const valText = await readFileOrFail(requireOption(o.val, 'val'), 'val', 'utf8');
  const valStories = completeStories(valText);
  if (valStories.length === 0) throw new EngineError('bad-argument', `val ${o.val}: no complete stories (<|endoftext|>-separated)`);
  await mkdir(out, { recursive: true });
  const report = await useNodeBackend(parseBackend(o.backend ?? 'wasm'));

  // Tokenizer: a resumed run keeps its own; otherwise given, or trained on the training stories.
  const statePath = (f: keyof StateFiles) => join(out, f);
  const resuming = existsSync(statePath('trainer.json'));
  const init = resuming ? undefined : o.init;
  if (init && (o.tokenizer || o['vocab-size'] || o.config || o.dim))
    throw new EngineError('bad-argument', `--init ${init} continues that run's model with its tokenizer and shape: drop --tokenizer/--vocab-size/--config/--dim`);
  let tokenizerBytes: Uint8Array;
  if (init) tokenizerBytes = await readFileOrFail(join(init, 'tokenizer.bin'), 'init run tokenizer');
  else if (resuming) {
    if (o.tokenizer || o['vocab-size']) throw new EngineError('bad-argument', `${out} holds a run to resume, which keeps its tokenizer: drop --tokenizer/--vocab-size`);
    tokenizerBytes = await readFileOrFail(join(out, 'tokenizer.bin'), 'run tokenizer');
  } else if (o.tokenizer) tokenizerBytes = await readFileOrFail(o.tokenizer, 'tokenizer');
  else tokenizerBytes = toLlama2cBytes(trainBpe(trainStories, { vocabSize: integerOption(o['vocab-size'], 'vocab-size', 512, 260) }));
  const tokenizer = Tokenizer.fromBytes(tokenizerBytes, o.tokenizer ? basename(o.tokenizer) : 'tokenizer.bin');
  if (!resuming) await writeFile(join(out, 'tokenizer.bin'), tokenizerBytes);
  const encoded = dataFiles.map((d) => d.stories.map((s) => tokenizer.encode(s)));
  const train = packStories(encoded.flat());
  const data: DataSource[] = dataFiles.map((d, i) => ({
    file: d.file,
    bytes: d.bytes,
    stories: d.stories.length,
    tokens: encoded[i].reduce((n, ids) => n + ids.length, 0),
    ...(d.generatedBy ? { generatedBy: d.generatedBy } : {}),
    ...(d.note ? { note: d.note } : {}),
  }));
  const val = packStories(valStories.map((s) => tokenizer.encode(s)));

  function newOptions(): TrainOptions {
    return {
      steps,
      batchSize: integerOption(o.batch, 'batch', 8, 1),
      peakLr: numberOption(o.lr, 'lr', 1e-3, 0),
      warmupSteps: integerOption(o.warmup, 'warmup', Math.max(1, Math.round(steps / 20)), 0),
      ...PAPER_RECIPE,
      evalEvery: integerOption(o['eval-every'], 'eval-every', 50, 1),
      evalWindows: integerOption(o['eval-windows'], 'eval-windows', 16, 1),
      seed: integerOption(o.seed, 'seed', 1, 1),
    };
  }

  let trainer: Trainer;
  // A continued run (--init) logs the earlier run's entries first; a resume reads them back.
  let continuedFrom: EarlierRun | undefined;
  let earlierEntries: TrainingLog['entries'] = [];
  if (resuming) {
    const state = decodeState({
      'model.bin': new Uint8Array(await readFile(statePath('model.bin'))),
      'optimizer.bin': new Uint8Array(await readFile(statePath('optimizer.bin'))),
      'trainer.json': await readFile(statePath('trainer.json'), 'utf8'),
    });
    if (state.config.vocabSize !== tokenizer.vocabSize)
      throw new EngineError('tokenizer-mismatch', `${out}/tokenizer.bin: vocabulary size: expected ${state.config.vocabSize} (the model's), got ${tokenizer.vocabSize}`);
    trainer = new Trainer({ ...state.options, steps }, state.checkpoint, train, val, state);
    process.stderr.write(`resuming ${out} at step ${state.step}\n`);
  } else if (init) {
    const earlierLog = JSON.parse(await readFileOrFail(join(init, 'training-log.json'), 'init run log', 'utf8')) as TrainingLog;
    const last = earlierLog.entries.at(-1);
    if (!last || last.step < finalStep(earlierLog)) throw new EngineError('bad-argument', `--init ${init}: that run stopped at step ${last?.step ?? 0} of ${finalStep(earlierLog)}; finish it first`);
    const checkpoint = parseLlama2c(await readFileOrFail(join(init, 'model.bin'), 'init run model'), 'model.bin');
    continuedFrom = {
      run: init,
      steps: last.step,
      tokensSeen: last.tokensSeen,
      wallSeconds: last.wallSeconds,
      commands: earlierLog.commands,
      machine: earlierLog.machine,
      backend: earlierLog.backend,
      options: earlierLog.options,
      data: earlierLog.data,
      ...(earlierLog.continuedFrom ? { continuedFrom: earlierLog.continuedFrom } : {}),
    };
    earlierEntries = earlierLog.entries;
    trainer = new Trainer(newOptions(), checkpoint, train, val);
  } else {
    const shape: Omit<ShapeOptions, 'vocabSize'> = o.config
      ? (TRAIN_CONFIGS[o.config] ??
        (() => {
          throw new EngineError('bad-argument', `--config: expected one of ${Object.keys(TRAIN_CONFIGS).join(', ')}; got "${o.config}"`);
        })())
      : {
          dim: integerOption(requireOption(o.dim, 'dim (or --config)'), 'dim', 0, 2),
          nLayers: integerOption(o.layers, 'layers', 4, 1),
          nHeads: integerOption(o.heads, 'heads', 8, 1),
          nKvHeads: integerOption(o['kv-heads'], 'kv-heads', 4, 1),
          seqLen: integerOption(o['seq-len'], 'seq-len', 256, 2),
        };
    const config = llamaShape({ ...shape, vocabSize: tokenizer.vocabSize });
    if (config.dim % config.nHeads || config.nHeads % config.nKvHeads || (config.dim / config.nHeads) % 2)
      throw new EngineError('bad-argument', `dim ${config.dim}, heads ${config.nHeads}, kv heads ${config.nKvHeads}: heads must divide dim into even head sizes and kv heads must divide heads`);
    const options = newOptions();
    trainer = new Trainer(options, initialCheckpoint(config, options.seed), train, val);
  }
  const saveEvery = integerOption(o['save-every'], 'save-every', 100, 1);
  const logPath = join(out, 'training-log.json');
  const previousLog = resuming && existsSync(logPath) ? (JSON.parse(await readFile(logPath, 'utf8')) as Partial<TrainingLog>) : {};
  if (previousLog.continuedFrom) {
    continuedFrom = previousLog.continuedFrom;
    const upTo = continuedFrom.steps;
    earlierEntries = (previousLog.entries ?? []).filter((e) => e.step <= upTo);
  }
  const commands = [...(previousLog.commands ?? continuedFrom?.commands ?? []), `npm run cli -- train ${argv.join(' ')}`];
  const machine = report.name === 'webgpu' ? `${await webgpuAdapterName()}; ${describeMachine()}` : describeMachine();
  const save = async () => {
    const files = encodeState(await trainer.state());
    for (const [name, data] of Object.entries(files)) await writeFile(statePath(name as keyof StateFiles), data);
    const log: TrainingLog = {
      commands,
      machine,
      backend: report.name,
      config: trainer.config,
      options: trainer.options,
      data,
      trainTokens: train.length,
      valTokens: val.length,
      entries: [...earlierEntries, ...continueEntries(continuedFrom, trainer.log)],
      ...(continuedFrom ? { continuedFrom } : {}),
    };
    await writeFile(logPath, `${JSON.stringify(log, null, 1)}\n`);
  };

  const c = trainer.config;
  process.stderr.write(
    `training dim ${c.dim}, layers ${c.nLayers}, heads ${c.nHeads}/${c.nKvHeads} kv, context ${c.seqLen}, vocab ${c.vocabSize} on ${report.name}: ${train.length} train tokens, ${val.length} val tokens\n`,
  );
  const startStep = trainer.step;
  const startWall = trainer.wallSeconds;
  while (!trainer.done) {
    const e = await trainer.trainStep();
    const perStep = (trainer.wallSeconds - startWall) / (trainer.step - startStep);
    const eta = perStep * (trainer.options.steps - trainer.step);
    const val = e.valLoss !== undefined ? ` val ${e.valLoss.toFixed(4)}` : '';
    process.stderr.write(
      `step ${e.step}/${trainer.options.steps} loss ${e.trainLoss.toFixed(4)}${val} lr ${e.lr.toExponential(2)} |g| ${e.gradNorm.toFixed(2)} ${e.tokensPerSecond.toFixed(0)} tok/s ETA ${formatDuration(eta)}\n`,
    );
    if (trainer.step % saveEvery === 0 || trainer.done) await save();
  }
  trainer.dispose();
}
