/**
 * What each recorded step of the forward pass is, as the engine computes it (src/engine/model.ts):
 * a title, the equation (TeX, typeset by the widget) and one sentence on what the tensor holds.
 * Typed as a Record over every step name, so a step added to the engine fails the typecheck here.
 */
import type { BlockStep, ModelStep } from '../../../src/engine/probe.ts';

export type StepName = BlockStep | ModelStep;

export interface StepInfo {
  title: string;
  tex: string;
  about: string;
}

const ROPE = (v: string) =>
  String.raw`\begin{gathered}\begin{pmatrix}\tilde ${v}_{2i}\\ \tilde ${v}_{2i+1}\end{pmatrix} = \begin{pmatrix}\cos p\omega_i & -\sin p\omega_i\\ \sin p\omega_i & \cos p\omega_i\end{pmatrix}\begin{pmatrix}${v}_{2i}\\ ${v}_{2i+1}\end{pmatrix},\\ \omega_i = \theta^{-2i/d_h}\end{gathered}`;

const RMS = (out: string, x: string, w: string) =>
  String.raw`${out} = \mathrm{RMSNorm}(${x}) = w_{\text{${w}}} \odot \frac{${x}}{\sqrt{\frac{1}{d}\sum_{i=1}^{d} {${x}_i}^2 + \varepsilon}}`;

export const STEP_INFO: Record<StepName, StepInfo> = {
  embedding: {
    title: 'Token embedding',
    tex: String.raw`x^{(0)} = E_{t_p,:}`,
    about: 'The row of the embedding matrix E for the token at this position: the residual stream starts here.',
  },
  block_input: {
    title: 'Block input',
    tex: String.raw`x = x^{(\ell)}`,
    about: 'The residual stream entering this block: the embedding plus everything earlier blocks added.',
  },
  attention_norm: {
    title: 'RMSNorm before attention',
    tex: RMS('h', 'x', 'att'),
    about: 'Pre-normalization: the stream scaled to unit root-mean-square, then by learned per-dimension weights.',
  },
  q: {
    title: 'Query projection',
    tex: String.raw`q = W_q\, h \quad (n_h \text{ heads of } d_h)`,
    about: 'What this position is looking for, one vector per attention head (before rotation).',
  },
  k: {
    title: 'Key projection',
    tex: String.raw`k = W_k\, h \quad (n_{kv} \text{ heads of } d_h)`,
    about: 'What this position offers to later queries, one vector per key/value head (before rotation).',
  },
  v: {
    title: 'Value projection',
    tex: String.raw`v = W_v\, h \quad (n_{kv} \text{ heads of } d_h)`,
    about: 'What this position passes on to the queries that attend to it, one vector per key/value head.',
  },
  q_rope: {
    title: 'Rotary embedding of the queries',
    tex: ROPE('q'),
    about: 'Each pair of query values turned by an angle proportional to the position p (RoPE).',
  },
  k_rope: {
    title: 'Rotary embedding of the keys',
    tex: ROPE('k'),
    about: 'The keys turned the same way; this rotated key is what the KV cache stores.',
  },
  attention_scores: {
    title: 'Attention scores',
    tex: String.raw`s_{h,j} = \frac{\tilde q_h \cdot \tilde k_{g(h),\,j}}{\sqrt{d_h}}, \quad j \le p`,
    about:
      'How well the query of each head matches the key of every position up to this one; g(h) is the key/value head that query head h shares.',
  },
  attention_probs: {
    title: 'Attention weights (softmax)',
    tex: String.raw`a_{h,j} = \frac{e^{s_{h,j}}}{\sum_{j' \le p} e^{s_{h,j'}}}`,
    about: 'Each head’s scores turned into weights that sum to one over the positions it can see (causal).',
  },
  attention_heads: {
    title: 'Weighted sum of values',
    tex: String.raw`o_h = \sum_{j \le p} a_{h,j}\, v_{g(h),\,j}`,
    about: 'Each head’s output: the values of the visible positions, mixed by that head’s weights.',
  },
  attention_output: {
    title: 'Attention output projection',
    tex: String.raw`\Delta_{\text{att}} = W_o\,[o_1; \dots; o_{n_h}]`,
    about: 'The heads side by side, projected back to the model dimension.',
  },
  residual_attention: {
    title: 'Residual after attention',
    tex: String.raw`x' = x + \Delta_{\text{att}}`,
    about: 'The attention result added to the residual stream.',
  },
  ffn_norm: {
    title: 'RMSNorm before the feed-forward',
    tex: RMS("h'", "x'", 'ffn'),
    about: 'The stream normalized again, with this sub-block’s own weights.',
  },
  gate: {
    title: 'Gate projection',
    tex: String.raw`g = W_1\, h'`,
    about: 'The SwiGLU gate, in the wider hidden dimension.',
  },
  up: {
    title: 'Up projection',
    tex: String.raw`u = W_3\, h'`,
    about: 'The values the gate lets through, in the hidden dimension.',
  },
  gated: {
    title: 'SwiGLU',
    tex: String.raw`z = \mathrm{SiLU}(g) \odot u, \quad \mathrm{SiLU}(g) = \frac{g}{1 + e^{-g}}`,
    about: 'The gate, passed through SiLU, multiplied element by element with the up projection.',
  },
  ffn_output: {
    title: 'Down projection',
    tex: String.raw`\Delta_{\text{ffn}} = W_2\, z`,
    about: 'The feed-forward result, projected back to the model dimension.',
  },
  residual_ffn: {
    title: 'Residual after the feed-forward',
    tex: String.raw`x^{(\ell+1)} = x' + \Delta_{\text{ffn}}`,
    about: 'The block’s output: the input of the next block.',
  },
  final_norm: {
    title: 'Final RMSNorm',
    tex: RMS(String.raw`\hat x`, 'x^{(L)}', 'final'),
    about: 'The residual stream after the last block, normalized once more.',
  },
  logits: {
    title: 'Logits and the next token',
    tex: String.raw`\begin{gathered}\ell = W_{\text{cls}}\, \hat x, \\ P(t_{p+1} = i) = \frac{e^{\ell_i}}{\sum_{j} e^{\ell_j}}, \quad \hat t = \arg\max_i \ell_i\end{gathered}`,
    about: 'A score for every vocabulary entry; softmax turns them into next-token probabilities, and greedy decoding picks the largest.',
  },
};

/** "operation 3 of 92: Query projection (layer 1 of 5)" style label for a step. */
export function stepLabel(step: StepName, layer: number | null, nLayers: number): string {
  const where = layer === null ? '' : ` (layer ${layer + 1} of ${nLayers})`;
  return `${STEP_INFO[step].title}${where}`;
}
