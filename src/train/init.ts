import type { Checkpoint } from '../engine/checkpoint/checkpoint.ts';
import { kvDim, type LlamaConfig } from '../engine/config.ts';
import { XorShiftRng } from '../engine/sampling/rng.ts';

/** Standard normal draws from the seeded generator (Box–Muller), so an initialisation is reproducible. */
function normals(rng: XorShiftRng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = (rng.nextU32() + 1) / 4294967297;
    const v = rng.nextU32() / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/**
 * A freshly initialised model, as llama2.c's model.py does it: every matrix N(0, 0.02), the two
 * projections that write into the residual stream (Wo, W3) scaled down by √(2·layers) so the
 * stream's variance does not grow with depth, and RMSNorm gains at 1.
 */
export function initialCheckpoint(c: LlamaConfig, seed: number): Checkpoint {
  const rng = new XorShiftRng(seed);
  const std = 0.02;
  const residualStd = std / Math.sqrt(2 * c.nLayers);
  const ones = () => new Float32Array(c.dim).fill(1);
  const kv = kvDim(c);
  return {
    config: c,
    format: 'llama2c-v0',
    tokenEmbedding: normals(rng, c.vocabSize * c.dim, std),
    layers: Array.from({ length: c.nLayers }, () => ({
      rmsAtt: ones(),
      wq: normals(rng, c.dim * c.dim, std),
      wk: normals(rng, kv * c.dim, std),
      wv: normals(rng, kv * c.dim, std),
      wo: normals(rng, c.dim * c.dim, residualStd),
      rmsFfn: ones(),
      w1: normals(rng, c.hiddenDim * c.dim, std),
      w2: normals(rng, c.dim * c.hiddenDim, std),
      w3: normals(rng, c.hiddenDim * c.dim, residualStd),
    })),
    rmsFinal: ones(),
    classifier: c.sharedClassifier ? null : normals(rng, c.vocabSize * c.dim, std),
  };
}
