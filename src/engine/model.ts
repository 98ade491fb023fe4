import * as tf from '@tensorflow/tfjs-core';
import { headSize, type LlamaConfig } from './config.ts';
import { groupedQueryAttention } from './layers/attention.ts';
import { swiGlu } from './layers/feed-forward.ts';
import { rmsNorm } from './layers/rmsnorm.ts';
import { applyRope, ropeRows, ropeTables, type RopeTables } from './layers/rope.ts';
import type { KVCache } from './kv-cache.ts';
import type { Probe } from './probe.ts';
import { disposeWeights, gateUpSplit, qkvSplit, type LlamaWeights } from './weights/llama-weights.ts';

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
    const c = this.config;
    const T = tokens.length;
    if (T === 0) throw new RangeError('forward needs at least one token');
    if (start + T > c.seqLen) throw new RangeError(`positions up to ${start + T} exceed the context length ${c.seqLen}`);
    return tf.tidy(() => {
      const rows = ropeRows(this.rope, start, T);
      let x = tf.gather(this.weights.tokenEmbedding, tf.tensor1d(tokens, 'int32')) as tf.Tensor2D;
      probe?.record('embedding', null, x);
      this.weights.blocks.forEach((w, l) => {
        probe?.record('block_input', l, x);
        // Attention sub-block: x + Wo · attention(RoPE(Wq h), RoPE(Wk h), Wv h), h = RMSNorm(x)
        const h = rmsNorm(x, w.attentionNorm, c.normEps);
        const [q, k, v] = tf.split(w.qkv.apply(h), qkvSplit(c), -1) as tf.Tensor2D[];
        const hs = headSize(c);
        const qRot = applyRope(tf.reshape(q, [T, c.nHeads, hs]), rows);
        const kRot = applyRope(tf.reshape(k, [T, c.nKvHeads, hs]), rows);
        const { keys, values } = cache.append(l, kRot, tf.reshape(v, [T, c.nKvHeads, hs]));
        const att = groupedQueryAttention(qRot, keys, values, start);
        const attended = w.output.apply(att.output);
        x = tf.add(x, attended);
        if (probe) {
          const perHead = (s: tf.Tensor4D) => tf.reshape(tf.transpose(s, [1, 0, 2, 3]), [T, c.nHeads, s.shape[3]]);
          probe.record('attention_norm', l, h);
          probe.record('q', l, q);
          probe.record('k', l, k);
          probe.record('v', l, v);
          probe.record('q_rope', l, tf.reshape(qRot, [T, c.dim]));
          probe.record('k_rope', l, tf.reshape(kRot, [T, k.shape[1]]));
          probe.record('attention_scores', l, perHead(att.scores));
          probe.record('attention_probs', l, perHead(att.probs));
          probe.record('attention_heads', l, att.output);
          probe.record('attention_output', l, attended);
          probe.record('residual_attention', l, x);
        }
        // Feed-forward sub-block: x + W2 (silu(W1 h) ⊙ W3 h), h = RMSNorm(x)
        const h2 = rmsNorm(x, w.ffnNorm, c.normEps);
        const [gate, up] = tf.split(w.gateUp.apply(h2), gateUpSplit(c), -1) as tf.Tensor2D[];
        const gated = swiGlu(gate, up);
        const ffn = w.down.apply(gated);
        x = tf.add(x, ffn);
        if (probe) {
          probe.record('ffn_norm', l, h2);
          probe.record('gate', l, gate);
          probe.record('up', l, up);
          probe.record('gated', l, gated);
          probe.record('ffn_output', l, ffn);
          probe.record('residual_ffn', l, x);
        }
      });
      const normed = rmsNorm(x, this.weights.finalNorm, c.normEps);
      const logits = this.weights.classifier.apply(normed);
      probe?.record('final_norm', null, normed);
      probe?.record('logits', null, logits);
      return logits;
    });
  }

  dispose(): void {
    disposeWeights(this.weights);
    this.rope.cos.dispose();
    this.rope.sin.dispose();
  }
}
