/**
 * `npm run bench -- 7b --synthetic --quant q4_0|q8_0|f32 [--shape llama2-7b|stories260K]`: a
 * randomly initialised model of a real shape (no download), loaded tensor by tensor through the
 * same uploader as a GGUF file, then timed: load, prefill, decode, the GPU's own kernel time per
 * decoded token, and the weight bytes read per second against the device's bandwidth measured in
 * the same process (an elementwise copy of a large tensor) and, if given, its nominal figure.
 */
import * as tf from '@tensorflow/tfjs-core';
import { EngineError } from '../engine/errors.ts';
import { assertFits, formatBytes, planMemory, uniformTensors, type MemoryPlan } from '../engine/memory-plan.ts';
import { LlamaModel } from '../engine/model.ts';
import { createKVCache, type KVCache } from '../engine/kv-cache.ts';
import { DecodeSteps } from '../engine/decode-steps.ts';
import { argmax } from '../engine/sampling/sampler.ts';
import { StepRecording } from '../engine/kernels/webgpu/step-recording.ts';
import { presetById } from '../engine/presets.ts';
import { LLAMA_NORM_EPS, LLAMA_ROPE_THETA, type LlamaConfig } from '../engine/config.ts';
import { WeightBuilder } from '../engine/weights/weight-builder.ts';
import { deviceBytes } from '../engine/weights/llama-weights.ts';
import { integerOption, numberOption, parseOptions } from '../cli/args.ts';
import { formatTable } from '../cli/table.ts';
import { parseBackend, useNodeBackend } from '../node/backend.ts';
import { describeMachine, median } from '../node/machine.ts';
import { webgpuAdapterName } from '../node/webgpu.ts';
import { hostLimits } from '../node/load-files.ts';
import { syntheticTensors, type SyntheticFormat } from './synthetic-weights.ts';
import { formatTiling, parseTiling } from './quant-matvec.ts';
import type { QuantFormat } from '../engine/quant/blocks.ts';
import { getMatVecTiling, setMatVecTiling } from '../engine/kernels/webgpu/quantized-matmul.ts';

/** stories260K's header (../shared/models/stories260K/stories260K.bin): GQA 8/4, shared classifier. */
const STORIES260K: LlamaConfig = {
  dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, seqLen: 512,
  sharedClassifier: true, normEps: LLAMA_NORM_EPS, ropeTheta: LLAMA_ROPE_THETA,
};
const SHAPES: Record<string, () => LlamaConfig> = { 'llama2-7b': () => ({ ...presetById('llama2-7b')!.config }), stories260K: () => ({ ...STORIES260K }) };

export async function sevenBBench(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    synthetic: { type: 'boolean', default: false },
    quant: { type: 'string', default: 'q4_0' },
    shape: { type: 'string', default: 'llama2-7b' },
    backend: { type: 'string', default: 'cpu' },
    context: { type: 'string' },
    /** Fewer layers than the shape's (a 7B-wide model that fits a slow device, e.g. SwiftShader). */
    layers: { type: 'string' },
    prompt: { type: 'string' },
    steps: { type: 'string' },
    bandwidth: { type: 'string' },
    /** The WebGPU matvec's tiling (see quant-matvec's sweep). */
    tiling: { type: 'string' },
    /** TF.js webgpu's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: dispatches recorded before each queue submit. */
    'submit-batch': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!o.synthetic) throw new EngineError('bad-argument', '7b: pass --synthetic (random weights of the shape; no download)');
  if (!['q4_0', 'q8_0', 'f32'].includes(o.quant!)) throw new EngineError('bad-argument', `--quant: expected q4_0, q8_0 or f32, got "${o.quant}"`);
  const shape = SHAPES[o.shape!];
  if (!shape) throw new EngineError('bad-argument', `--shape: expected ${Object.keys(SHAPES).join(' or ')}, got "${o.shape}"`);
  const format = o.quant as SyntheticFormat;
  const config = shape();
  config.seqLen = integerOption(o.context, 'context', config.seqLen, 1);
  config.nLayers = integerOption(o.layers, 'layers', config.nLayers, 1);
  const promptTokens = integerOption(o.prompt, 'prompt', Math.min(64, config.seqLen - 1), 1);
  // At least 2: a replayed run's first step records, and its figures are of the steps after.
  const steps = integerOption(o.steps, 'steps', 16, 2);
  const nominalGBs = o.bandwidth ? numberOption(o.bandwidth, 'bandwidth', 0, 0) : undefined;
  if (promptTokens + steps > config.seqLen) throw new EngineError('bad-argument', `--prompt + --steps (${promptTokens + steps}) exceed the context ${config.seqLen}`);

  const backend = (await useNodeBackend(parseBackend(o.backend!))).name;
  if (o.tiling) setMatVecTiling(parseTiling(o.tiling));
  if (o['submit-batch']) tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', integerOption(o['submit-batch'], 'submit-batch', 15, 1));
  const device = backend === 'webgpu' ? await webgpuAdapterName() : describeMachine();
  const plan = assertFits(planMemory(config, uniformTensors(config, format), promptTokens), hostLimits(), `${o.shape} ${format}`);

  // Load: every tensor made and uploaded in turn, as a streamed file would be.
  const t0 = performance.now();
  // Matrices whose rows are not whole 32-blocks come as float32 and are quantized (padded) on arrival.
  const builder = new WeightBuilder(config, format === 'f32' ? {} : { quant: format });
  for (const t of syntheticTensors(config, format)) builder.add(t);
  const weights = builder.finish();
  const model = new LlamaModel(config, weights);
  // A decode step reads every device weight once, except a token-embedding table of its own
  // (one row of it).
  const readBytes = deviceBytes(weights) - weights.tokenEmbedding.ownBytes;
  const loadSeconds = (performance.now() - t0) / 1000;
  const backendBytes = tf.memory().numBytes;

  const next = xorshiftTokens(config.vocabSize);
  const prompt = Array.from({ length: promptTokens }, next);
  const cache = createKVCache(config);
  // Warm-up on a cache of its own: the first prefill and decode steps compile their programs
  // (seconds for the prefill's unrolled matmul on a GPU) and make the first allocations.
  const warm = createKVCache(config);
  const w0 = performance.now();
  await argmaxOf(model.forward(prompt, 0, warm));
  const firstPrefillSeconds = (performance.now() - w0) / 1000;
  for (let i = 0; i < 2 && promptTokens + i < config.seqLen; i++) await argmaxOf(model.forward([prompt[i]], promptTokens + i, warm));
  warm.dispose();

  // Timed on a new cache, as a generation starts: making its buffers is part of the prefill.
  const p0 = performance.now();
  const prefillLogits = model.forward(prompt, 0, cache);
  const prefillEnqueueSeconds = (performance.now() - p0) / 1000;
  const first = await argmaxOf(prefillLogits);
  const prefillSeconds = (performance.now() - p0) / 1000;

  // Decode from the same prompt: every step through model.forward; then (webgpu only) recorded
  // once and replayed, and replayed with each step run ahead on the GPU's argmax
  // (decode-steps.ts), each on a cache of its own.
  const plain = await decodeRun(model, cache, first, promptTokens, steps, 'plain');
  const onNewCache = async (mode: DecodeMode) => {
    const own = createKVCache(config);
    await argmaxOf(model.forward(prompt, 0, own));
    const run = await decodeRun(model, own, first, promptTokens, steps, mode);
    own.dispose();
    return run;
  };
  const replayed = StepRecording.available() ? await onNewCache('replayed') : undefined;
  const ahead = StepRecording.available() ? await onNewCache('run ahead') : undefined;
  const token = plain.token;
  const { stepMs, enqueueMs } = plain;
  const decodeMs = median(stepMs);
  // A decode run's median step, as tokens/s and as weight bytes read per second.
  const pace = (ms: number[]) => ({ msPerToken: median(ms), tokensPerSecond: 1000 / median(ms), weightGBsWall: readGBs(readBytes, median(ms)) });
  const kernelTable = await kernelBreakdown(model, [token], promptTokens + steps, cache);
  const prefillCache = createKVCache(config);
  const prefillKernels = await kernelBreakdown(model, prompt, 0, prefillCache);
  prefillCache.dispose();
  const kernelMs = await gpuKernelMs(model, token, promptTokens + steps + 1, cache);
  const hostRssBytes = process.memoryUsage().rss; // with the model still loaded
  cache.dispose();
  model.dispose();
  const copyGBs = await copyBandwidthGBs();

  const report = {
    device,
    backend,
    shape: o.shape,
    format,
    context: config.seqLen,
    layers: config.nLayers,
    plan,
    loadSeconds,
    backendBytes,
    hostRssBytes,
    prefill: { tokens: promptTokens, tokensPerSecond: promptTokens / prefillSeconds, enqueueSeconds: prefillEnqueueSeconds, firstSeconds: firstPrefillSeconds },
    decode: { steps, msPerToken: decodeMs, tokensPerSecond: 1000 / decodeMs, enqueueMsPerToken: median(enqueueMs) },
    replayed: replayed && {
      ...pace(replayed.stepMs),
      enqueueMsPerToken: median(replayed.enqueueMs),
      launches: replayed.launches,
      sameTokens: replayed.tokens.join() === plain.tokens.join(),
      backToBackMs: replayed.backToBack,
    },
    runAhead: ahead && {
      ...pace(ahead.stepMs),
      sameTokens: ahead.tokens.join() === plain.tokens.join(),
      ...ahead.runAhead,
    },
    kernels: kernelTable,
    prefillKernels,
    kernelMsPerToken: kernelMs,
    weightBytesPerToken: readBytes,
    weightGBsWall: readGBs(readBytes, decodeMs),
    weightGBsKernel: kernelMs === undefined ? undefined : readGBs(readBytes, kernelMs),
    copyGBs,
    nominalGBs,
  };
  if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(describe(report));
}

/** Weight bytes one decode step reads, per second, in GB/s. */
const readGBs = (bytes: number, ms: number) => bytes / (ms / 1000) / 1e9;

function xorshiftTokens(vocab: number): () => number {
  let s = 2463534242;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % vocab;
  };
}

/** How decodeRun runs its steps: model.forward, replays, or replays each run ahead of its read. */
type DecodeMode = 'plain' | 'replayed' | 'run ahead';

/**
 * Greedy decoding of `steps` tokens after the prompt, as generate does: each step's logits are
 * read back and the sampler's argmax taken. 'plain' and 'replayed' time the enqueueing
 * (JavaScript's share) apart from the wait; 'run ahead' submits the next step on the GPU's
 * argmax before each read. A replayed run then also times steps back to back (backToBackMs).
 */
async function decodeRun(model: LlamaModel, cache: KVCache, first: number, promptTokens: number, steps: number, mode: DecodeMode) {
  const replay = mode !== 'plain';
  const decode = new DecodeSteps(model, cache, replay);
  const stepMs: number[] = [];
  const enqueueMs: number[] = [];
  const tokens: number[] = [];
  let token = first;
  for (let i = 0; i < steps; i++) {
    const s0 = performance.now();
    let logits: Float32Array;
    if (mode === 'run ahead') logits = await decode.read(token, promptTokens + i, i + 1 < steps);
    else {
      const out = decode.forward(token, promptTokens + i);
      enqueueMs.push(performance.now() - s0);
      logits = (await out.data()) as Float32Array;
      out.dispose();
    }
    token = argmax(logits);
    stepMs.push(performance.now() - s0);
    tokens.push(token);
  }
  const launches = decode.launches;
  if (replay && decode.refused) throw new EngineError('backend-unavailable', `7b: the decode step was not recorded: ${decode.refused}`);
  const backToBack = mode === 'replayed' ? await backToBackMs(decode, token, promptTokens + steps) : undefined;
  const runAhead = { ...decode.runAhead };
  decode.dispose();
  // A replayed run's first step records (a plain forward): its figures are of the steps after.
  const from = replay ? 1 : 0;
  return { stepMs: stepMs.slice(from), enqueueMs: enqueueMs.slice(from), tokens, token, launches, backToBack, runAhead };
}

/** Replays timed back to back by backToBackMs. */
const BACK_TO_BACK = 8;

/**
 * Milliseconds per replayed step with the steps enqueued back to back and one readback at the
 * end: no round trip per token, so the GPU's pace (or JavaScript's, were it the slower). The
 * tokens fed are not the model's choices; only the time counts.
 */
async function backToBackMs(decode: DecodeSteps, token: number, position: number): Promise<number | undefined> {
  if (position + BACK_TO_BACK > decode.cache.capacity) return undefined; // no room left in the context
  const t0 = performance.now();
  let last: tf.Tensor2D | null = null;
  for (let i = 0; i < BACK_TO_BACK; i++) {
    last?.dispose();
    last = decode.forward(token, position + i);
  }
  await last!.data();
  last!.dispose();
  return (performance.now() - t0) / BACK_TO_BACK;
}

/** Greedy next token from the last row, read back as decoding does each step. */
async function argmaxOf(logits: tf.Tensor2D): Promise<number> {
  const id = tf.tidy(() => tf.argMax(tf.slice(logits, [logits.shape[0] - 1, 0], [1, -1]), 1));
  const [value] = await id.data();
  id.dispose();
  logits.dispose();
  return value;
}

/** The GPU's own time for one decode step's kernels (timestamp queries), where the backend reports it. */
async function gpuKernelMs(model: LlamaModel, token: number, position: number, cache: ReturnType<typeof createKVCache>): Promise<number | undefined> {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const info = await tf.time(() => model.forward([token], position, cache).dispose());
  return typeof info.kernelMs === 'number' ? info.kernelMs : undefined;
}

/** GPU time and launches per kernel name for one forward pass (WebGPU timestamps), largest first. */
async function kernelBreakdown(model: LlamaModel, tokens: number[], position: number, cache: ReturnType<typeof createKVCache>) {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const profile = await tf.profile(() => model.forward(tokens, position, cache).dispose());
  const byName = new Map<string, { count: number; ms: number }>();
  for (const k of profile.kernels) {
    const e = byName.get(k.name) ?? { count: 0, ms: 0 };
    e.count++;
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byName.set(k.name, e);
  }
  return [...byName].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
}

/**
 * Device memory bandwidth as this process sees it: an elementwise op over 64 MiB (a read and a
 * write per element), timed by the GPU's own timestamps on WebGPU (a wall clock there would
 * count the launch and readback), by the wall clock on host backends.
 */
async function copyBandwidthGBs(): Promise<number> {
  const n = 16 * 2 ** 20;
  const x = tf.fill([n], 1);
  const runs = 8;
  const bytes = runs * 2 * n * 4;
  const wall = async () => {
    const t = performance.now();
    const ys = Array.from({ length: runs }, () => tf.neg(x));
    await ys[runs - 1].data();
    tf.dispose(ys);
    return performance.now() - t;
  };
  const gpu = async () => {
    const info = await tf.time(() => tf.dispose(Array.from({ length: runs }, () => tf.neg(x))));
    return typeof info.kernelMs === 'number' ? info.kernelMs : NaN;
  };
  const time = tf.getBackend() === 'webgpu' ? gpu : wall;
  await time();
  const ms = median([await time(), await time(), await time()]);
  x.dispose();
  return bytes / (ms / 1000) / 1e9;
}

function describe(r: {
  device: string; backend: string; shape?: string; layers: number; format: string; context: number; plan: MemoryPlan; loadSeconds: number;
  backendBytes: number; hostRssBytes: number; weightBytesPerToken: number; prefill: { tokens: number; tokensPerSecond: number; enqueueSeconds: number; firstSeconds: number };
  decode: { steps: number; msPerToken: number; tokensPerSecond: number; enqueueMsPerToken: number }; kernelMsPerToken?: number;
  replayed?: {
    msPerToken: number; tokensPerSecond: number; enqueueMsPerToken: number; launches: number | null; sameTokens: boolean; weightGBsWall: number;
    backToBackMs?: number;
  };
  runAhead?: { msPerToken: number; tokensPerSecond: number; sameTokens: boolean; used: number; forgotten: number; weightGBsWall: number };
  kernels?: { name: string; count: number; ms: number }[];
  prefillKernels?: { name: string; count: number; ms: number }[];
  weightGBsWall: number; weightGBsKernel?: number; copyGBs: number; nominalGBs?: number;
}): string {
  const ratio = (gbs: number, of: number | undefined) => (!of ? '-' : `${((100 * gbs) / of).toFixed(0)}%`);
  const readRate = (gbs: number) => `${gbs.toFixed(1)} GB/s (${ratio(gbs, r.copyGBs)} of copy, ${ratio(gbs, r.nominalGBs)} of nominal)`;
  const rows = [
    ['load', `${r.loadSeconds.toFixed(1)} s`],
    ['backend memory (tf.memory)', formatBytes(r.backendBytes)],
    ['weight bytes read per token', formatBytes(r.weightBytesPerToken)],
    ['planned: weights / KV cache', `${formatBytes(r.plan.weightBytes)} / ${formatBytes(r.plan.kvCacheBytes)}`],
    ['process RSS', formatBytes(r.hostRssBytes)],
    [`prefill (${r.prefill.tokens} tokens)`, `${r.prefill.tokensPerSecond.toFixed(1)} tok/s`],
    ['  of which enqueueing (JavaScript)', `${(r.prefill.enqueueSeconds * 1000).toFixed(1)} ms`],
    ['  the first one, compiling its programs', `${r.prefill.firstSeconds.toFixed(2)} s`],
    [`decode (median of ${r.decode.steps})`, `${r.decode.tokensPerSecond.toFixed(2)} tok/s (${r.decode.msPerToken.toFixed(2)} ms/token)`],
    ['  of which enqueueing (JavaScript)', `${r.decode.enqueueMsPerToken.toFixed(2)} ms/token`],
    ...(r.replayed
      ? [
          [`decode, step recorded and replayed (${r.replayed.launches} launches)`, `${r.replayed.tokensPerSecond.toFixed(2)} tok/s (${r.replayed.msPerToken.toFixed(2)} ms/token), ${(r.decode.msPerToken / r.replayed.msPerToken).toFixed(2)}× the plain steps`],
          ['  JavaScript per step (the next one encoded as the GPU runs)', `${r.replayed.enqueueMsPerToken.toFixed(2)} ms/token`],
          ['  same tokens as the plain steps', r.replayed.sameTokens ? 'yes' : 'NO'],
          ...(r.replayed.backToBackMs === undefined ? [] : [[`  ${BACK_TO_BACK} steps back to back, one readback`, `${r.replayed.backToBackMs.toFixed(2)} ms/step`]]),
          ['  weights read, wall clock', readRate(r.replayed.weightGBsWall)],
        ]
      : []),
    ...(r.runAhead && r.replayed
      ? [
          ['decode, replayed, each step run ahead on the GPU\'s argmax', `${r.runAhead.tokensPerSecond.toFixed(2)} tok/s (${r.runAhead.msPerToken.toFixed(2)} ms/token), ${(r.replayed.msPerToken / r.runAhead.msPerToken).toFixed(2)}× the replayed steps`],
          ['  steps run ahead: used / forgotten', `${r.runAhead.used} / ${r.runAhead.forgotten}`],
          ['  same tokens as the plain steps', r.runAhead.sameTokens ? 'yes' : 'NO'],
          ['  weights read, wall clock', readRate(r.runAhead.weightGBsWall)],
        ]
      : []),
    ['GPU kernel time per token', r.kernelMsPerToken === undefined ? '-' : `${r.kernelMsPerToken.toFixed(2)} ms`],
    ['weights read, wall clock', readRate(r.weightGBsWall)],
    ['weights read, kernel time', r.weightGBsKernel === undefined ? '-' : readRate(r.weightGBsKernel)],
    ['copy bandwidth, same process', `${r.copyGBs.toFixed(1)} GB/s`],
  ];
  const tiling = r.backend === 'webgpu' && r.format !== 'f32' ? `; matvec tiling ${formatTiling(getMatVecTiling(r.format as QuantFormat))}` : '';
  const table = (title: string, ks?: { name: string; count: number; ms: number }[]) =>
    ks ? `\n\n${title} (tf.profile):\n${formatTable(['kernel', 'launches', 'GPU ms'], ks.map((k) => [k.name, String(k.count), k.ms.toFixed(3)]))}` : '';
  const kernels = table('GPU time per kernel, one decode step', r.kernels) + table(`GPU time per kernel, prefill of ${r.prefill.tokens} tokens`, r.prefillKernels);
  return `${r.device}; backend ${r.backend}${tiling}\n${r.shape} (random weights, ${r.format}), ${r.layers} layer${r.layers === 1 ? '' : 's'}, context ${r.context}\n\n${formatTable(['measure', 'value'], rows)}${kernels}\n`;
}
