/**
 * The queries and keys of one prompt, before RoPE, as the engine worker sends them to the page
 * (task 'rope-qk'), and how to pick one head's vector out of them. Plain data and types only, so
 * the page imports it without TensorFlow.js.
 */

export interface RopeQk {
  /** BOS and the prompt's tokens, cut to the model's context. */
  tokens: number[];
  /** Display text of each token ("<s>" for BOS). */
  pieces: string[];
  /** Tokens of the prompt past the context length, left out (0 when it fits). */
  droppedTokens: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** The trained context length (config.seqLen). */
  seqLen: number;
  /** The RoPE base (config.ropeTheta). */
  ropeTheta: number;
  /** Pre-RoPE queries, [layer][token][head][headDim], flattened. */
  q: Float32Array;
  /** Pre-RoPE keys, [layer][token][kvHead][headDim], flattened. */
  k: Float32Array;
}

/** The kv head query head `head` reads under grouped-query attention (as the engine groups them). */
export function kvHeadOf(head: number, nHeads: number, nKvHeads: number): number {
  return Math.floor(head / (nHeads / nKvHeads));
}

function check(qk: RopeQk, layer: number, token: number, head: number): void {
  if (!(layer >= 0 && layer < qk.nLayers)) throw new RangeError(`layer ${layer} is outside 0..${qk.nLayers - 1}`);
  if (!(token >= 0 && token < qk.tokens.length)) throw new RangeError(`token ${token} is outside 0..${qk.tokens.length - 1}`);
  if (!(head >= 0 && head < qk.nHeads)) throw new RangeError(`head ${head} is outside 0..${qk.nHeads - 1}`);
}

/** Query head `head`'s content vector for `token` in `layer` (a view, not a copy). */
export function queryOf(qk: RopeQk, layer: number, token: number, head: number): Float32Array {
  check(qk, layer, token, head);
  const d = qk.headDim;
  const at = ((layer * qk.tokens.length + token) * qk.nHeads + head) * d;
  return qk.q.subarray(at, at + d);
}

/** The key that query head `head` compares against: its kv head's key for `token` in `layer`. */
export function keyOf(qk: RopeQk, layer: number, token: number, head: number): Float32Array {
  check(qk, layer, token, head);
  const d = qk.headDim;
  const kv = kvHeadOf(head, qk.nHeads, qk.nKvHeads);
  const at = ((layer * qk.tokens.length + token) * qk.nKvHeads + kv) * d;
  return qk.k.subarray(at, at + d);
}
