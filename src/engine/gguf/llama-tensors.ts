/**
 * GGUF's Llama tensor names and layout, and ours (llama2.c's).
 *
 * Shapes: GGUF lists dimensions innermost first, so the matrix [out, in] of y = W x is stored
 * with dims [in, out], row-major like ours: the bytes need no transposing, only the dims reversed.
 *
 * RoPE: no permutation is needed. llama.cpp runs architecture "llama" with LLAMA_ROPE_TYPE_NORM,
 * "a normal RoPE, operating on pairs of consecutive head values" (llama_model_rope_type in
 * llama.cpp's src/llama-model.cpp), angle pos·base^(−2i/head_size) for pair (2i, 2i+1) — exactly
 * run.c's rotation of adjacent pairs. The stored q/k rows match it: convert_hf_to_gguf.py's
 * LlamaModel.permute (reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2)) undoes the
 * permutation Hugging Face's convert_llama_weights_to_hf.py applied to Meta's checkpoints, giving
 * back Meta's adjacent-pair order, and llama2.c's export.py applies the same reverse permutation
 * (permute_reverse: view(n_heads, 2, dim/n_heads/2, dim).transpose(1, 2)) to Hugging Face weights.
 * Both files therefore hold Meta's original q/k row order, and the writer stores ours as they are.
 */
import type { LayerTensorName, TensorName } from '../weights/host-tensor.ts';

const LAYER_NAMES: Record<string, LayerTensorName> = {
  attn_norm: 'rms_att',
  attn_q: 'wq',
  attn_k: 'wk',
  attn_v: 'wv',
  attn_output: 'wo',
  ffn_norm: 'rms_ffn',
  ffn_gate: 'w1',
  ffn_down: 'w2',
  ffn_up: 'w3',
};
const GGUF_LAYER_NAMES = Object.fromEntries(Object.entries(LAYER_NAMES).map(([g, t]) => [t, g])) as Record<LayerTensorName, string>;
const GLOBAL_NAMES: Record<string, TensorName> = {
  'token_embd.weight': 'token_embedding',
  'output_norm.weight': 'rms_final',
  'output.weight': 'classifier',
};
const GGUF_GLOBAL_NAMES = Object.fromEntries(Object.entries(GLOBAL_NAMES).map(([g, t]) => [t, g])) as Record<string, string>;

/** Our name for a GGUF tensor of a model with `nLayers` blocks, or undefined for a tensor we do not know. */
export function hostNameOf(ggufName: string, nLayers: number): TensorName | undefined {
  const global = GLOBAL_NAMES[ggufName];
  if (global) return global;
  const m = /^blk\.(\d+)\.([a-z_]+)\.weight$/.exec(ggufName);
  const layer = m ? Number(m[1]) : NaN;
  if (!m || !(layer < nLayers) || !LAYER_NAMES[m[2]]) return undefined;
  return `layers.${layer}.${LAYER_NAMES[m[2]]}`;
}

export function ggufNameOf(name: TensorName): string {
  const global = GGUF_GLOBAL_NAMES[name];
  if (global) return global;
  const [, layer, t] = name.split('.');
  return `blk.${layer}.${GGUF_LAYER_NAMES[t as LayerTensorName]}.weight`;
}

