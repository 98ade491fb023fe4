import type * as tf from '@tensorflow/tfjs-core';

/**
 * The named intermediate values of one forward pass, in the order they are computed. A probe is
 * handed to the model only by the inspection API, so plain generation does no extra work.
 */
export const BLOCK_STEPS = [
  'block_input',
  'attention_norm',
  'q',
  'k',
  'v',
  'q_rope',
  'k_rope',
  'attention_scores',
  'attention_probs',
  'attention_heads',
  'attention_output',
  'residual_attention',
  'ffn_norm',
  'gate',
  'up',
  'gated',
  'ffn_output',
  'residual_ffn',
] as const;
export type BlockStep = (typeof BLOCK_STEPS)[number];
export type ModelStep = 'embedding' | 'final_norm' | 'logits';

export interface Probe {
  /** x has the token axis first; the probe keeps what it needs and must not keep x itself. */
  record(step: BlockStep | ModelStep, layer: number | null, x: tf.Tensor): void;
}
