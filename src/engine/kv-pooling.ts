import type { Checkpoint, LayerArrays } from './checkpoint/checkpoint.ts';
import { headSize } from './config.ts';
import { checkPoolable, pooledKvHeads, withKvHeads } from './kv-groups.ts';

/**
 * The GQA paper's conversion of a checkpoint to fewer key/value heads: the key and value
 * projections of the heads in each group are replaced by their mean (W_K of new head g = mean of
 * W_K of the old heads it covers; the same for W_V). Queries, outputs and everything else stay.
 * RoPE rotates every key head the same way, so pooling before it equals pooling after it.
 */

/**
 * Mean of the row blocks of a [kvHeads·headSize, dim] matrix (llama2.c's row-major [out][in]):
 * block g of the result is the mean of the blocks `groups[g]`. Summed in float64, rounded once.
 */
export function poolHeadRows(w: Float32Array, headRows: number, cols: number, groups: number[][]): Float32Array {
  const block = headRows * cols;
  const out = new Float32Array(groups.length * block);
  const acc = new Float64Array(block);
  groups.forEach((members, g) => {
    acc.fill(0);
    for (const m of members) {
      const src = w.subarray(m * block, (m + 1) * block);
      for (let i = 0; i < block; i++) acc[i] += src[i];
    }
    const dst = out.subarray(g * block, (g + 1) * block);
    for (let i = 0; i < block; i++) dst[i] = acc[i] / members.length;
  });
  return out;
}

/**
 * A new checkpoint with `kvHeads` key/value heads (which must divide the model's own count).
 * Arrays that do not change are shared with `ck`, not copied; with kvHeads = nKvHeads every
 * group has one member and the pooled matrices equal the originals bit for bit.
 */
export function poolKvHeads(ck: Checkpoint, kvHeads: number): Checkpoint {
  const c = ck.config;
  checkPoolable(c, kvHeads);
  const groups = pooledKvHeads(c, kvHeads);
  const hs = headSize(c);
  const layers = ck.layers.map(
    (l): LayerArrays => ({
      ...l,
      wk: poolHeadRows(l.wk, hs, c.dim, groups),
      wv: poolHeadRows(l.wv, hs, c.dim, groups),
    }),
  );
  return { ...ck, config: withKvHeads(c, kvHeads), layers };
}
