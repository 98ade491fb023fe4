/**
 * Chapter 3's rotary-embedding explorer: the pre-RoPE queries and keys of every token in every
 * layer for a prompt, from one forward pass. The page rotates them itself (src/explorers/rope,
 * float64) to any position, including positions the engine would refuse (past the context).
 */
import * as tf from '@tensorflow/tfjs-core';
import { EngineError } from '../../engine/errors.ts';
import { headSize } from '../../engine/config.ts';
import type { Llama } from '../../engine/llama.ts';
import type { BlockStep, ModelStep, Probe } from '../../engine/probe.ts';
import type { TaskContext, TaskOutput } from './context.ts';
import type { TaskArgs, TaskProgress, TaskResult } from './types.ts';

/** Keeps the full 'q' and 'k' tensors of each layer (all tokens), copied out of the forward pass's tidy. */
class QkProbe implements Probe {
  readonly q: tf.Tensor[] = [];
  readonly k: tf.Tensor[] = [];
  record(step: BlockStep | ModelStep, _layer: number | null, x: tf.Tensor): void {
    // Layers are recorded in order, so the lists end up [layer0, layer1, ...].
    if (step === 'q') this.q.push(tf.keep(tf.reshape(x, [-1])));
    else if (step === 'k') this.k.push(tf.keep(tf.reshape(x, [-1])));
  }
  dispose(): void {
    for (const t of [...this.q, ...this.k]) t.dispose();
  }
}

function piece(llama: Llama, id: number): string {
  if (id === llama.tokenizer.bosId) return '<s>';
  if (id === llama.tokenizer.eosId) return '</s>';
  return llama.tokenizer.pieceText(id);
}

/** An array that is the whole of its buffer, so the buffer can be transferred to the page. */
const ownBuffer = (a: Float32Array): Float32Array => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice());

export async function ropeQk(ctx: TaskContext<TaskProgress<'rope-qk'>>, { prompt }: TaskArgs<'rope-qk'>): Promise<TaskOutput<TaskResult<'rope-qk'>>> {
  const llama = ctx.model();
  const c = llama.config;
  if (typeof prompt !== 'string' || prompt.trim() === '') throw new EngineError('bad-argument', 'Type a prompt: the explorer needs at least one word to take its queries and keys from.');
  const all = llama.tokenizer.encode(prompt, { bos: true });
  const tokens = all.slice(0, c.seqLen);
  const probe = new QkProbe();
  const cache = llama.newCache();
  let q: tf.Tensor | null = null;
  let k: tf.Tensor | null = null;
  try {
    llama.model.forward(tokens, 0, cache, probe).dispose();
    q = tf.concat(probe.q);
    k = tf.concat(probe.k);
    const [qData, kData] = ((await Promise.all([q.data(), k.data()])) as Float32Array[]).map(ownBuffer);
    const result: TaskResult<'rope-qk'> = {
      tokens,
      pieces: tokens.map((t) => piece(llama, t)),
      droppedTokens: all.length - tokens.length,
      nLayers: c.nLayers,
      nHeads: c.nHeads,
      nKvHeads: c.nKvHeads,
      headDim: headSize(c),
      seqLen: c.seqLen,
      ropeTheta: c.ropeTheta,
      q: qData,
      k: kData,
    };
    return { result, transfer: [qData.buffer as ArrayBuffer, kData.buffer as ArrayBuffer] };
  } finally {
    q?.dispose();
    k?.dispose();
    probe.dispose();
    cache.dispose();
  }
}
