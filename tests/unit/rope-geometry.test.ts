// Chapter 3's rotary-embedding explorer rotates the model's own queries and keys in float64
// (src/explorers/rope). These tests hold that rotation to the engine's (the trace's 'q' rotated
// equals its 'q_rope', the scores equal its 'attention_scores') and check the relative-position
// property on real vectors from two real models, plus the engine itself showing it in layer 0.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDifference, formatScore, pairsToShow } from '../../components/widgets/rope/view.ts';
import { beyondContext, scoreByDistance } from '../../src/explorers/rope/distance.ts';
import { norm, pairFacts, relativeScore, rotate, ropeFrequencies, ropeScore } from '../../src/explorers/rope/geometry.ts';
import { keyOf, kvHeadOf, queryOf, type RopeQk } from '../../src/explorers/rope/qk.ts';
import { headSize } from '../../src/engine/config.ts';
import { inspectForward, type ForwardTrace } from '../../src/engine/inspect.ts';
import { ropeFrequency } from '../../src/engine/layers/rope.ts';
import { Llama } from '../../src/engine/llama.ts';
import { ropeQk } from '../../src/worker/tasks/rope-qk.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { STORIES260K } from '../support/shared.ts';

const EMBEDDED = join(import.meta.dirname, '../../public/models/default');
const embeddedLlama = () =>
  Llama.fromBytes(new Uint8Array(readFileSync(join(EMBEDDED, 'model.bin'))), 'model.bin', new Uint8Array(readFileSync(join(EMBEDDED, 'tokenizer.bin'))), 'tokenizer.bin');

const PROMPT = 'The little cat saw a big red ball. She ran to get it and';
const EPS32 = 2 ** -24; // float32 unit roundoff
const EPS64 = 2 ** -53; // float64 unit roundoff

/** The task's answer for a prompt, run in-process the way the worker runs it. */
async function qkOf(llama: Llama, prompt: string): Promise<RopeQk> {
  const ctx = { model: () => llama, signal: new AbortController().signal, progress: () => {}, pause: async () => {} };
  return (await ropeQk(ctx, { prompt })).result;
}

const stepOf = (trace: ForwardTrace, step: string, layer: number) => {
  const s = trace.steps.find((x) => x.step === step && x.layer === layer);
  if (!s) throw new Error(`no ${step} in layer ${layer}`);
  return s.values;
};

describe('rope geometry on its own', () => {
  it('has the frequencies θ_j = base^(−2j/d), equal to the engine\'s float32 ones to float32 rounding', () => {
    for (const [d, base] of [[16, 10000], [8, 10000], [128, 10000], [10, 500]] as const) {
      const f = ropeFrequencies(d, base);
      expect(f.length).toBe(d / 2);
      expect(f[0]).toBe(1);
      for (let j = 1; j < f.length; j++) expect(f[j]).toBeLessThan(f[j - 1]);
      // The engine rounds 2j/d, the power and the reciprocal to float32: ≤ 2^-24 relative each, and
      // the exponent's rounding grows by ln(base) (≤ 9.3 here) through the power: 16·2^-24 covers it.
      for (let j = 0; j < f.length; j++) expect(Math.abs(ropeFrequency(j, d, base) - f[j])).toBeLessThanOrEqual(16 * EPS32 * f[j]);
    }
    expect(() => ropeFrequencies(7, 10000)).toThrow(/even/);
  });

  it('turns one pair as a plane rotation: length kept, angle position·θ, composes by adding positions', () => {
    const freqs = ropeFrequencies(4, 100);
    const x = [0.3, -1.2, 2, 0.5];
    const r = rotate(x, 5, freqs);
    expect(Math.hypot(r[0], r[1])).toBeCloseTo(Math.hypot(0.3, -1.2), 14);
    expect(Math.atan2(r[1], r[0]) - Math.atan2(-1.2, 0.3)).toBeCloseTo(5 - 2 * Math.PI, 12); // θ_0 = 1 rad per position
    const twice = rotate(rotate(x, 3, freqs), 4, freqs);
    const once = rotate(x, 7, freqs);
    for (let i = 0; i < 4; i++) expect(twice[i]).toBeCloseTo(once[i], 13);
  });

  it('gives the score of one pair a·b·cos(dθ)/√2 by distance, and finds where it leaves the trained range', () => {
    const theta = 0.01;
    const freqs = Float64Array.of(theta);
    const curve = scoreByDistance([2, 0], [3, 0], 800, freqs);
    for (const d of [0, 17, 300, 800]) expect(curve[d]).toBeCloseTo((6 * Math.cos(d * theta)) / Math.SQRT2, 12);
    // Trained on 100 positions, offsets 0..99 reach angle 0.99 rad; past them the cosine keeps falling.
    const b = beyondContext(curve, 100);
    expect(b.trainedMax).toBeCloseTo(6 / Math.SQRT2, 12);
    expect(b.trainedMin).toBeCloseTo((6 * Math.cos(0.99)) / Math.SQRT2, 12);
    expect(b.beyond).toBe(701);
    expect(b.firstOutside).toBe(100);
    expect(b.largestExcursion).toBeCloseTo(b.trainedMin - (6 * Math.cos(3.14)) / Math.SQRT2, 12); // lowest at d = 314, nearest π/θ
    // Below the trained minimum until the cosine climbs back over cos(0.99) (2π − 0.99 < dθ), and
    // again once the angle passes 2π + 0.99, up to the curve's end at 800.
    const back = Math.ceil((2 * Math.PI - 0.99) / theta);
    const again = Math.ceil((2 * Math.PI + 0.99) / theta);
    expect(b.outside).toBe(back - 100 + (800 - again + 1));
    expect(() => beyondContext(curve, 801)).toThrow(/past the context/);
  });

  it('names each pair\'s wavelength and its turns within the context', () => {
    const facts = pairFacts(ropeFrequencies(16, 10000), 256);
    for (const f of facts) {
      expect(f.wavelength * f.frequency).toBeCloseTo(2 * Math.PI, 12);
      expect(f.turnsInContext).toBeCloseTo((255 * f.frequency) / (2 * Math.PI), 12);
    }
    expect(facts[0].turnsInContext).toBeGreaterThan(facts[7].turnsInContext);
  });
});

describe('rope explorer view helpers', () => {
  it('draws every pair of a small head, and an even spread with both ends of a large one', () => {
    expect(pairsToShow(8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const wide = pairsToShow(64);
    expect(wide).toHaveLength(12);
    expect([wide[0], wide[11]]).toEqual([0, 63]);
    for (let i = 1; i < wide.length; i++) expect(wide[i] - wide[i - 1]).toBeGreaterThanOrEqual(5);
  });

  it('prints scores with a true minus sign and differences in scientific notation', () => {
    expect(formatScore(-0.5152712)).toBe('−0.515271');
    expect(formatDifference(0)).toBe('0');
    expect(formatDifference(-2.2e-16)).toBe('−2.2e−16');
  });
});

describe.each([
  ['the embedded model', async () => embeddedLlama()],
  ['stories260K', async () => loadShared(STORIES260K)],
])('rope explorer on %s (cpu backend)', (_name, load) => {
  let llama: Llama;
  let qk: RopeQk;
  let freqs: Float64Array;
  beforeAll(async () => {
    await onBackend('cpu');
    llama = await load();
    qk = await qkOf(llama, PROMPT);
    freqs = ropeFrequencies(qk.headDim, qk.ropeTheta);
    expect(qk.tokens.length).toBeGreaterThan(10);
  });
  afterAll(() => llama?.dispose());

  it('gets every layer\'s pre-RoPE q and k from the worker task, as inspectForward records them', () => {
    const c = llama.config;
    expect([qk.nLayers, qk.nHeads, qk.nKvHeads, qk.headDim, qk.seqLen]).toEqual([c.nLayers, c.nHeads, c.nKvHeads, headSize(c), c.seqLen]);
    expect(qk.q.length).toBe(c.nLayers * qk.tokens.length * c.dim);
    expect(qk.k.length).toBe(c.nLayers * qk.tokens.length * c.nKvHeads * headSize(c));
    expect(qk.pieces[0]).toBe('<s>');
    for (const position of [1, 6, qk.tokens.length - 1]) {
      const trace = inspectForward(llama, qk.tokens, position);
      for (let l = 0; l < c.nLayers; l++) {
        const q = stepOf(trace, 'q', l);
        const k = stepOf(trace, 'k', l);
        // The task runs the whole prompt at once, the trace only up to `position`: the same row's
        // numbers on the same backend, the causal mask keeping later tokens out. Equal to the bit.
        const gotQ = Array.from({ length: c.nHeads }, (_, h) => Array.from(queryOf(qk, l, position, h))).flat();
        const gotK = Array.from({ length: c.nKvHeads }, (_, kv) => Array.from(keyOf(qk, l, position, kv * (c.nHeads / c.nKvHeads)))).flat();
        expect(gotQ).toEqual(Array.from(q));
        expect(gotK).toEqual(Array.from(k));
      }
    }
  });

  it('rotates the trace\'s q and k into its q_rope and k_rope, within the float32 rounding of the engine\'s angles', () => {
    const c = llama.config;
    const d = headSize(c);
    let worst = 0;
    for (const position of [1, 5, qk.tokens.length - 1]) {
      const trace = inspectForward(llama, qk.tokens, position);
      for (let l = 0; l < c.nLayers; l++) {
        for (const [raw, rotated, heads] of [['q', 'q_rope', c.nHeads], ['k', 'k_rope', c.nKvHeads]] as const) {
          const x = stepOf(trace, raw, l);
          const want = stepOf(trace, rotated, l);
          // The engine's exact angles, fround(position · fround(θ_j)), rotated in float64.
          const engineAngles = Float64Array.from(freqs, (_, j) => Math.fround(position * ropeFrequency(j, d, c.ropeTheta)));
          for (let h = 0; h < heads; h++) {
            const v = x.subarray(h * d, (h + 1) * d);
            const mine = rotate(v, position, freqs);
            const withEngineAngles = rotate(v, 1, engineAngles); // position 1 × "frequency" = the angle itself
            for (let j = 0; j < d / 2; j++) {
              const pairNorm = Math.hypot(v[2 * j], v[2 * j + 1]);
              // Exact θ_j vs the engine's float32 θ_j (≤ 16·2^-24 relative, see above) and its rounded
              // angle (+1): the angle is off by ≤ 17·2^-24·position·θ_j, which moves the pair by that
              // times its length. On top, the engine rounds cos/sin tables, two products and the sum to
              // float32: ≤ 4·2^-24·(|x0| + |x1|) ≤ 6·2^-24·‖pair‖.
              const tol = pairNorm * EPS32 * (17 * position * freqs[j] + 6) + 1e-30;
              // With the engine's own angles only the float32 roundings of cos/sin, products and sum remain.
              const tolSameAngles = pairNorm * EPS32 * 6 + 1e-30;
              for (const i of [2 * j, 2 * j + 1]) {
                const engine = want[h * d + i];
                expect(Math.abs(mine[i] - engine), `${rotated} layer ${l} head ${h} pair ${j} at ${position}`).toBeLessThanOrEqual(tol);
                expect(Math.abs(withEngineAngles[i] - engine)).toBeLessThanOrEqual(tolSameAngles);
                worst = Math.max(worst, Math.abs(mine[i] - engine) / tol);
              }
            }
          }
        }
      }
    }
    expect(worst).toBeGreaterThan(0); // it compared float32 to float64, not an array with itself
  });

  it('scores (m, n) as the engine\'s attention_scores do, at the tokens\' own positions', () => {
    const c = llama.config;
    const m = qk.tokens.length - 1;
    const trace = inspectForward(llama, qk.tokens, m);
    for (const l of [0, c.nLayers - 1]) {
      const scores = stepOf(trace, 'attention_scores', l); // [heads, m + 1]
      for (let h = 0; h < c.nHeads; h++) {
        const q = queryOf(qk, l, m, h);
        for (let n = 0; n <= m; n++) {
          const k = keyOf(qk, l, n, h);
          // Both rotations as bounded above (≤ 2^-24·(17·m + 6)·‖·‖ each, θ_0 = 1), plus the engine's
          // float32 dot product over d terms (≤ d·2^-24·‖q‖‖k‖) and its division by √d.
          const tol = ((norm(q) * norm(k)) / Math.sqrt(qk.headDim)) * EPS32 * (2 * (17 * m + 6) + qk.headDim + 2);
          expect(Math.abs(ropeScore(q, k, m, n, freqs) - scores[h * (m + 1) + n]), `layer ${l} head ${h} key ${n}`).toBeLessThanOrEqual(tol);
        }
      }
    }
  });

  it('gives a score that depends on m − n only: shifting both positions changes it only by float64 rounding', () => {
    const last = qk.tokens.length - 1;
    for (const l of [0, qk.nLayers - 1]) {
      for (const h of [0, qk.nHeads - 1]) {
        for (const [m, n] of [[last, last - 1], [last, 2], [7, 3]]) {
          const q = queryOf(qk, l, m, h);
          const k = keyOf(qk, l, n, h);
          const scale = (norm(q) * norm(k)) / Math.sqrt(qk.headDim);
          const base = ropeScore(q, k, m, n, freqs);
          for (const shift of [1, 13, qk.seqLen, 3 * qk.seqLen + 5, 10_000]) {
            const shifted = ropeScore(q, k, m + shift, n + shift, freqs);
            // float64: each angle position·θ_j is off by ≤ 2^-53·position·θ_j (θ_0 = 1 the largest),
            // cos/sin and the rotation add a few 2^-53 per element, the dot product d·2^-53.
            const tol = scale * EPS64 * (4 * (m + shift) + 4 * qk.headDim);
            expect(Math.abs(shifted - base), `layer ${l} head ${h} (${m}, ${n}) + ${shift}`).toBeLessThanOrEqual(tol);
          }
          expect(Math.abs(relativeScore(q, k, n - m, freqs) - base)).toBeLessThanOrEqual(scale * EPS64 * (4 * m + 4 * qk.headDim));
          // …while the distance itself matters: one position more or less is a different score.
          expect(Math.abs(ropeScore(q, k, m + 1, n, freqs) - base)).toBeGreaterThan(1e6 * scale * EPS64 * (4 * m + 4 * qk.headDim));
        }
      }
    }
  });

  it('shows the property in the engine itself: layer 0\'s scores are unchanged when a prefix shifts the prompt', () => {
    // Layer 0's q and k depend on the token alone (the embedding, normed and projected), so the
    // same tokens later in the sequence meet with the same contents at positions shifted by s.
    const c = llama.config;
    const words = llama.tokenizer.encode(PROMPT, { bos: false });
    const prefix = llama.tokenizer.encode(' One day,', { bos: false });
    const plain = [llama.tokenizer.bosId, ...words];
    const shifted = [llama.tokenizer.bosId, ...prefix, ...words];
    expect(plain).toEqual(qk.tokens);
    const s = prefix.length;
    const m = plain.length - 1;
    const a = inspectForward(llama, plain, m);
    const b = inspectForward(llama, shifted, m + s);
    expect(Array.from(stepOf(b, 'q', 0))).toEqual(Array.from(stepOf(a, 'q', 0))); // same content…
    expect(Array.from(stepOf(b, 'q_rope', 0))).not.toEqual(Array.from(stepOf(a, 'q_rope', 0))); // …other rotation
    const sa = stepOf(a, 'attention_scores', 0);
    const sb = stepOf(b, 'attention_scores', 0);
    const q = stepOf(a, 'q', 0);
    const d = headSize(c);
    for (let h = 0; h < c.nHeads; h++) {
      const qh = q.subarray(h * d, (h + 1) * d);
      for (let n = 1; n <= m; n++) {
        const k = keyOf(qk, 0, n, h);
        // Two float32 scores, each within the bound of the previous test of the exact one, at
        // positions up to m + s.
        const tol = 2 * ((norm(qh) * norm(k)) / Math.sqrt(d)) * EPS32 * (2 * (17 * (m + s) + 6) + d + 2);
        expect(Math.abs(sb[h * (m + s + 1) + n + s] - sa[h * (m + 1) + n]), `head ${h} key ${n}`).toBeLessThanOrEqual(tol);
      }
    }
    expect(kvHeadOf(c.nHeads - 1, c.nHeads, c.nKvHeads)).toBe(c.nKvHeads - 1);
  });
});
