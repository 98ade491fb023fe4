/** Log-probabilities over a vocabulary from raw logits, in float64 for a stable log-sum-exp. */
export function logSumExp(logits: Float32Array): number {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

export interface Alternative {
  id: number;
  logprob: number;
}

/** The n most likely tokens, most likely first (index order on ties). */
export function topAlternatives(logits: Float32Array, n: number, lse = logSumExp(logits)): Alternative[] {
  const best: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (best.length === n && logits[i] <= logits[best[n - 1]]) continue;
    let at = best.length === n ? n - 1 : best.length;
    while (at > 0 && logits[i] > logits[best[at - 1]]) at--;
    best.splice(at, 0, i);
    if (best.length > n) best.pop();
  }
  return best.map((id) => ({ id, logprob: logits[id] - lse }));
}
