import { kvHeadOf, type LlamaConfig } from './config.ts';
import { EngineError } from './errors.ts';

/**
 * Which query heads share which key/value head, and the grouped variants a model can be turned
 * into. Shapes only: the weights themselves are pooled in kv-pooling.ts.
 */

/** The same model with `kvHeads` key/value heads (everything else, query heads included, unchanged). */
export function withKvHeads(c: LlamaConfig, kvHeads: number): LlamaConfig {
  return { ...c, nKvHeads: kvHeads };
}

/**
 * Key/value head counts reachable by mean-pooling whole groups of the model's own kv heads:
 * the divisors of nKvHeads, largest first (nKvHeads itself, then GQA, down to 1 = MQA). For an
 * MHA model (nKvHeads = nHeads) that is every divisor of nHeads.
 */
export function poolableKvHeads(c: LlamaConfig): number[] {
  return divisorsDescending(c.nKvHeads);
}

/** Every valid kv-head count for a model with nHeads query heads: the divisors of nHeads (MHA … MQA). */
export function possibleKvHeads(c: LlamaConfig): number[] {
  return divisorsDescending(c.nHeads);
}

function divisorsDescending(n: number): number[] {
  const out: number[] = [];
  for (let d = n; d >= 1; d--) if (n % d === 0) out.push(d);
  return out;
}

/** The query heads each kv head serves, in order: groups[g] = [h, …] with kvHeadOf(h) = g. */
export function queryGroups(c: LlamaConfig): number[][] {
  const groups: number[][] = Array.from({ length: c.nKvHeads }, () => []);
  for (let h = 0; h < c.nHeads; h++) groups[kvHeadOf(c, h)].push(h);
  return groups;
}

/**
 * For pooling a model down to `kvHeads` kv heads: the original kv heads averaged into each new
 * one. Query head h reads original head floor(h·K/H) and new head floor(h·G/H), so new head g
 * covers the K/G consecutive original heads g·K/G … (g+1)·K/G − 1: every query head keeps
 * reading (the mean of) what it read before.
 */
export function pooledKvHeads(c: LlamaConfig, kvHeads: number): number[][] {
  checkPoolable(c, kvHeads);
  const size = c.nKvHeads / kvHeads;
  return Array.from({ length: kvHeads }, (_, g) => Array.from({ length: size }, (_, i) => g * size + i));
}

export function checkPoolable(c: LlamaConfig, kvHeads: number): void {
  if (!Number.isInteger(kvHeads) || kvHeads < 1 || kvHeads > c.nKvHeads || c.nKvHeads % kvHeads !== 0)
    throw new EngineError(
      'bad-argument',
      `cannot pool ${c.nKvHeads} key/value heads into ${kvHeads}: the count must divide ${c.nKvHeads} (one of ${poolableKvHeads(c).join(', ')})`,
    );
}
