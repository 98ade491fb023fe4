import * as tf from '@tensorflow/tfjs-core';
import type { LlamaConfig } from './config.ts';
import { attention, attentionWithWeights } from './kernels/attention.ts';
import { rmsNorm } from './kernels/rms-norm.ts';
import { ropeQkv, splitHeads } from './kernels/rope.ts';
import { splitGateUp, swiGlu } from './kernels/swiglu.ts';
import { RopePositions, ropeTables, type RopeTables } from './layers/rope.ts';
import { ropeAndAppend, type KVCache } from './kv-cache.ts';
import type { Probe } from './probe.ts';
import { disposeWeights, type BlockWeights, type LlamaWeights } from './weights/llama-weights.ts';

/**
 * The Llama 2 decoder: token embedding, nLayers pre-norm blocks (attention and SwiGLU FFN, each
 * added to the residual stream), final RMSNorm and the classifier.
 */
export class LlamaModel {
  private readonly rope: RopeTables;

  constructor(
    readonly config: LlamaConfig,
    readonly weights: LlamaWeights,
  ) {
    this.rope = ropeTables(config);
  }

  /**
   * Runs `tokens` at positions start..start+tokens.length-1, appending their keys and values to
   * `cache`, and returns the logits of every position, [tokens, vocab]. A prompt goes through in
   * one call (prefill); generation then calls it with one token per step.
   */
  forward(tokens: number[], start: number, cache: KVCache, probe?: Probe): tf.Tensor2D {
    this.checkPositions(start, tokens.length);
    return tf.tidy(() => this.forwardEmbedded(this.weights.tokenEmbedding.lookup(tokens), this.positions(start, tokens.length), cache, probe));
  }

  /**
   * `forward` from the embedded tokens x [tokens, dim] at `positions`: where a recorded decode
   * step (decode-steps.ts) begins, its embedding row and position being inputs it replaces.
   */
  forwardEmbedded(x: tf.Tensor2D, positions: RopePositions, cache: KVCache, probe?: Probe): tf.Tensor2D {
    return tf.tidy(() => {
      const logits = this.weights.classifier.apply(this.hiddenFrom(x, positions, cache, probe));
      probe?.record('logits', null, logits);
      return logits;
    });
  }

  /**
   * Everything below the classifier: the final-RMSNorm hidden states of every position,
   * [tokens, dim], with the same cache and probe behaviour as forward (which is the classifier
   * applied to these). A reward model reads these instead of the logits (chapter 9).
   */
  hidden(tokens: number[], start: number, cache: KVCache, probe?: Probe): tf.Tensor2D {
    this.checkPositions(start, tokens.length);
    return tf.tidy(() => this.hiddenFrom(this.weights.tokenEmbedding.lookup(tokens), this.positions(start, tokens.length), cache, probe));
  }

  /** Positions start..start+count-1, their device copy given or made on first use (RopePositions.tensor). */
  positions(start: number, count: number, tensor?: tf.Tensor1D): RopePositions {
    return new RopePositions(this.rope, start, count, tensor ?? null);
  }

  private checkPositions(start: number, count: number): void {
    if (count === 0) throw new RangeError('forward needs at least one token');
    if (start + count > this.config.seqLen) throw new RangeError(`positions up to ${start + count} exceed the context length ${this.config.seqLen}`);
  }

  private hiddenFrom(x: tf.Tensor2D, positions: RopePositions, cache: KVCache, probe?: Probe): tf.Tensor2D {
    const c = this.config;
    probe?.record('embedding', null, x);
    this.weights.blocks.forEach((w, l) => {
      x = probe ? this.probedBlock(w, l, x, positions, cache, probe) : this.block(w, l, x, positions, cache);
    });
    const normed = rmsNorm(x, this.weights.finalNorm, c.normEps);
    probe?.record('final_norm', null, normed);
    return normed;
  }

  /**
   * One block as the fused forms of its products, which a quantized weight runs as one kernel
   * each (its RMSNorm, SwiGLU and residual add folded in): the same math as probedBlock, which
   * keeps every intermediate for the probe to record.
   */
  private block(w: BlockWeights, l: number, x: tf.Tensor2D, positions: RopePositions, cache: KVCache): tf.Tensor2D {
    const { nHeads, nKvHeads, normEps } = this.config;
    // x + Wo · attention(RoPE(Wq h), RoPE(Wk h), Wv h), h = RMSNorm(x)
    const qkv = w.qkv.applyNormed(x, w.attentionNorm, normEps);
    const { q, keys, values } = ropeAndAppend(cache, l, qkv, positions, nHeads, nKvHeads);
    x = w.output.applyAdd(attention(q, keys, values, positions.start, positions.tensor()), x);
    // x + W2 (silu(W1 h) ⊙ W3 h), h = RMSNorm(x)
    const gateUp = w.gateUp.applyNormed(x, w.ffnNorm, normEps);
    return w.down.applyGatedAdd(gateUp, x);
  }

  /** `block` as the separate ops, recording every intermediate. */
  private probedBlock(w: BlockWeights, l: number, x: tf.Tensor2D, positions: RopePositions, cache: KVCache, probe: Probe): tf.Tensor2D {
    const c = this.config;
    const { start, count: T } = positions;
    probe.record('block_input', l, x);
    // Attention sub-block: x + Wo · attention(RoPE(Wq h), RoPE(Wk h), Wv h), h = RMSNorm(x)
    const h = rmsNorm(x, w.attentionNorm, c.normEps);
    const qkv = w.qkv.apply(h); // [Wq; Wk; Wv] h
    const { q, k, v } = ropeQkv(qkv, positions, c.nHeads, c.nKvHeads); // split into heads; q, k rotated
    const { keys, values } = cache.append(l, k, v, positions.tensor());
    const heads = attention(q, keys, values, start, positions.tensor());
    const attended = w.output.apply(heads);
    x = tf.add(x, attended);
    const raw = splitHeads(qkv, c.nHeads, c.nKvHeads);
    const { scores, probs } = attentionWithWeights(q, keys, values, start);
    const rows = (s: tf.Tensor) => tf.reshape(s, [T, -1]);
    const perHead = (s: tf.Tensor4D) => tf.reshape(tf.transpose(s, [1, 0, 2, 3]), [T, c.nHeads, s.shape[3]]);
    probe.record('attention_norm', l, h);
    probe.record('q', l, rows(raw.q));
    probe.record('k', l, rows(raw.k));
    probe.record('v', l, rows(raw.v));
    probe.record('q_rope', l, rows(q));
    probe.record('k_rope', l, rows(k));
    probe.record('attention_scores', l, perHead(scores));
    probe.record('attention_probs', l, perHead(probs));
    probe.record('attention_heads', l, heads);
    probe.record('attention_output', l, attended);
    probe.record('residual_attention', l, x);
    // Feed-forward sub-block: x + W2 (silu(W1 h) ⊙ W3 h), h = RMSNorm(x)
    const h2 = rmsNorm(x, w.ffnNorm, c.normEps);
    const gateUp = w.gateUp.apply(h2); // [W1; W3] h
    const gated = swiGlu(gateUp);
    const ffn = w.down.apply(gated);
    x = tf.add(x, ffn);
    const [gate, up] = splitGateUp(gateUp);
    probe.record('ffn_norm', l, h2);
    probe.record('gate', l, gate);
    probe.record('up', l, up);
    probe.record('gated', l, gated);
    probe.record('ffn_output', l, ffn);
    probe.record('residual_ffn', l, x);
    return x;
  }

  dispose(): void {
    disposeWeights(this.weights);
    this.rope.cos.dispose();
    this.rope.sin.dispose();
  }
}
