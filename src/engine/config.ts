/** The shape of a Llama model: everything the forward pass and the memory planner need. */
export interface LlamaConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** The classifier reuses the token-embedding matrix (llama2.c's positive vocab_size). */
  sharedClassifier: boolean;
  normEps: number;
  ropeTheta: number;
}

export const LLAMA_NORM_EPS = 1e-5;
export const LLAMA_ROPE_THETA = 10000;

export const headSize = (c: LlamaConfig): number => c.dim / c.nHeads;
export const kvDim = (c: LlamaConfig): number => (c.dim * c.nKvHeads) / c.nHeads;
/** How many query heads share one key/value head (1 = MHA, nHeads = MQA). */
export const queriesPerKvHead = (c: LlamaConfig): number => c.nHeads / c.nKvHeads;
/** The key/value head that query head `h` reads: floor(h / (nHeads / nKvHeads)). */
export const kvHeadOf = (c: LlamaConfig, h: number): number => Math.floor(h / queriesPerKvHead(c));

export type AttentionKind = 'MHA' | 'GQA' | 'MQA';
export function attentionKind(c: LlamaConfig): AttentionKind {
  if (c.nKvHeads === c.nHeads) return 'MHA';
  return c.nKvHeads === 1 ? 'MQA' : 'GQA';
}
