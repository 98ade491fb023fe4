import { fileURLToPath } from 'node:url';
import { BACKEND_ORDER, type BackendName } from '../engine/backend.ts';
import { EngineError } from '../engine/errors.ts';
import { integerOption, parseOptions } from '../cli/args.ts';
import { formatTable } from '../cli/table.ts';
import { benchInference, type InferenceFigures } from './inference.ts';
import { describeMachine, median } from '../node/machine.ts';
import { runReferenceProgram } from './runc.ts';
import { useNodeBackend } from '../node/backend.ts';
import { webgpuAdapterName } from '../node/webgpu.ts';
import type { TrainingLog } from '../train/training-log.ts';

const shared = (rel: string) => fileURLToPath(new URL(`../../../shared/${rel}`, import.meta.url));

const usage = `usage: npm run bench -- [inference] [--model F] [--tokenizer F] [--backends wasm,cpu] [--steps 256] [--repeats 3] [--runc PATH] [--json]
  Decode and prefill tokens/s and TF.js kernel launches per decoded token (default model:
  ../shared stories260K). --runc runs llama2.c's run.c binary on the same checkpoint in the
  same command and reports each backend's decode speed as a ratio to it.
       npm run bench -- train [--log public/models/default/training-log.json] [--backends wasm,cpu] [--steps 3]
  Training tokens/s for the shipped model's shape and batch, with the shipped run's wall time.
       npm run bench -- site [--repeats 3] [--backends wasm,webgpu] [--out bench-results] [--json]
  In headless Chromium on the built site (npm run build first): time from opening the playground
  chapter to its first generated token on wasm and WebGPU (SwiftShader without a GPU), median of
  --repeats, and the page's JavaScript before the model loads; JSON in bench-results/.
       npm run bench -- quant-matvec [--backend webgpu|wasm|cpu] [--format q4_0|q8_0] [--repeat N] [--shape 7b|small] [--tiling 32x4x4,...] [--out FILE]
  The quantized matrix-vector kernel (one decoded token) on each Llama-2-7B matrix shape: ms per
  call and effective GB/s (weights, scales and x read once), beside float32 tf.matMul of the same
  shape. On webgpu, GPU timestamps where the adapter has them, else wall clock of --repeat queued
  calls; --tiling tries decode tilings (threadsPerRow x rowsPerThread x groups). --out writes JSON.
       npm run bench -- 7b --synthetic [--quant q4_0|q8_0|f32] [--shape llama2-7b|stories260K] [--backend cpu|wasm|webgpu] [--context N] [--layers N] [--prompt 64] [--steps 16] [--bandwidth GB/s] [--tiling 32x4x4] [--json]
  A randomly initialised model of the shape (no download), loaded tensor by tensor: load time,
  memory (planned and measured), prefill and decode tokens/s, the GPU's kernel time per decoded
  token (WebGPU timestamps), and weight bytes read per second against an elementwise copy in the
  same process and, with --bandwidth, the device's nominal figure.`;

function parseBackends(list: string): BackendName[] {
  return list.split(',').map((b) => {
    if (!(BACKEND_ORDER as string[]).includes(b)) throw new EngineError('bad-argument', `--backends: unknown backend "${b}"`);
    return b as BackendName;
  });
}

async function inferenceBench(argv: string[]) {
  const o = parseOptions(argv, {
    model: { type: 'string', default: shared('models/stories260K/stories260K.bin') },
    tokenizer: { type: 'string', default: shared('models/stories260K/tok512.bin') },
    backends: { type: 'string', default: 'wasm,cpu' },
    steps: { type: 'string' },
    repeats: { type: 'string' },
    runc: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const steps = integerOption(o.steps, 'steps', 256, 2);
  const repeats = integerOption(o.repeats, 'repeats', 3, 1);
  const backends = parseBackends(o.backends!);
  const figures: InferenceFigures[] = [];
  for (const b of backends) figures.push(await benchInference(b, o.model!, o.tokenizer!, steps, repeats));
  const reference = o.runc
    ? median(Array.from({ length: repeats }, () => runReferenceProgram(o.runc!, o.model!, o.tokenizer!, steps)))
    : undefined;
  const machine = describeMachine();
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ machine, model: o.model, steps, figures, runcTokensPerSecond: reference })}\n`);
    return;
  }
  const rows = figures.map((f) => [
    f.backend,
    f.decodeTokensPerSecond.toFixed(0),
    f.prefillTokensPerSecond.toFixed(0),
    f.kernelsPerDecodedToken,
    reference ? (f.decodeTokensPerSecond / reference).toFixed(3) : '-',
  ]);
  if (reference) rows.push(['run.c (gcc -O3)', reference.toFixed(0), '-', '-', '1.000']);
  process.stdout.write(`${machine}\n${o.model}, ${steps} steps, median of ${repeats}\n\n`);
  process.stdout.write(`${formatTable(['engine', 'decode tok/s', 'prefill tok/s', 'kernels/token', 'decode vs run.c'], rows)}\n`);
}

/** Training speed of the shipped model's shape (from its training log) on each backend. */
async function trainingBench(argv: string[]) {
  const o = parseOptions(argv, {
    log: { type: 'string', default: fileURLToPath(new URL('../../public/models/default/training-log.json', import.meta.url)) },
    backends: { type: 'string', default: 'wasm,cpu' },
    steps: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const { readFile } = await import('node:fs/promises');
  const { benchTraining } = await import('./training.ts');
  const log = JSON.parse(await readFile(o.log!, 'utf8').catch(() => {
    throw new EngineError('bad-argument', `--log ${o.log}: no training log (train and publish the model first)`);
  })) as TrainingLog;
  const steps = integerOption(o.steps, 'steps', 3, 1);
  const rows: { backend: string; tokensPerSecond: number }[] = [];
  for (const b of parseBackends(o.backends!)) rows.push({ backend: b, tokensPerSecond: await benchTraining(b, log.config, log.options.batchSize, steps) });
  const last = log.entries.at(-1);
  const machine = describeMachine();
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ machine, config: log.config, batchSize: log.options.batchSize, rows, shippedRun: { wallSeconds: last?.wallSeconds, tokensSeen: last?.tokensSeen, backend: log.backend } })}\n`);
    return;
  }
  process.stdout.write(`${machine}\nshipped shape: dim ${log.config.dim}, layers ${log.config.nLayers}, context ${log.config.seqLen}, vocab ${log.config.vocabSize}, batch ${log.options.batchSize} windows; median of ${steps} steps\n\n`);
  process.stdout.write(`${formatTable(['backend', 'train tok/s'], rows.map((r) => [r.backend, r.tokensPerSecond.toFixed(0)]))}\n`);
  if (last) process.stdout.write(`\nshipped run: ${last.tokensSeen} tokens in ${(last.wallSeconds / 3600).toFixed(2)} h on ${log.backend} (${log.machine})\n`);
}

/** The quantized matvec kernel against float32 tf.matMul, per 7B matrix shape. */
async function quantMatVecBench(argv: string[]) {
  const o = parseOptions(argv, {
    backend: { type: 'string', default: 'wasm' },
    format: { type: 'string', default: 'q4_0' },
    repeat: { type: 'string' },
    shape: { type: 'string', default: '7b' },
    tiling: { type: 'string' },
    out: { type: 'string' },
  });
  const { benchQuantizedMatVec, fastestTiling, matVecTable, MATVEC_SHAPES, parseTiling } = await import('./quant-matvec.ts');
  const { getMatVecTiling } = await import('../engine/kernels/webgpu/quantized-matmul.ts');
  const [backend] = parseBackends(o.backend!);
  if (o.format !== 'q4_0' && o.format !== 'q8_0') throw new EngineError('bad-argument', `--format: expected q4_0 or q8_0, got "${o.format}"`);
  if (o.shape !== '7b' && o.shape !== 'small') throw new EngineError('bad-argument', `--shape: expected 7b or small, got "${o.shape}"`);
  const repeat = integerOption(o.repeat, 'repeat', backend === 'webgpu' ? 100 : 3, 1);
  const tilings = o.tiling ? o.tiling.split(',').map(parseTiling) : [getMatVecTiling(o.format)];
  const report = await useNodeBackend(backend);
  if (report.name !== backend) throw new EngineError('backend-unavailable', `--backend ${backend}: got ${report.name} instead`);
  const device = backend === 'webgpu' ? await webgpuAdapterName() : undefined;
  const result = await benchQuantizedMatVec(backend, o.format, MATVEC_SHAPES[o.shape], repeat, tilings);
  process.stdout.write(`${describeMachine()}\n${backend}${device ? ` (${device})` : ''}: ${o.format}, T = 1, ${result.timing} over ${repeat} calls per figure\n\n`);
  process.stdout.write(`${matVecTable(result)}\n`);
  if (tilings.length > 1) process.stdout.write(`\nfastest tiling over these shapes: ${fastestTiling(result)}\n`);
  if (o.out) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(o.out, `${JSON.stringify({ machine: describeMachine(), device, date: new Date().toISOString(), ...result }, null, 2)}\n`);
    process.stdout.write(`\nwrote ${o.out}\n`);
  }
}

const [sub, ...rest] = process.argv.slice(2);
const siteBench = async (argv: string[]) => (await import('./site.ts')).siteBench(argv);
const benches: Record<string, (argv: string[]) => Promise<void>> = {
  inference: inferenceBench,
  train: trainingBench,
  site: siteBench,
  'quant-matvec': quantMatVecBench,
  '7b': async (argv) => (await import('./seven-b.ts')).sevenBBench(argv),
};
try {
  if (sub === '--help') process.stdout.write(`${usage}\n`);
  else if (sub && benches[sub]) await benches[sub](rest);
  else await inferenceBench(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`error: ${e instanceof EngineError ? e.message : (e as Error).message}\n`);
  process.exitCode = 1;
}
