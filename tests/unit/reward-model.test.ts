// Chapter 9's reward model without the backbone: the margin ranking loss against values worked
// out by hand, Table 27's margins as the widgets read them, the preference pairs built from the
// site's validation stories, and the scalar head's optimizer on a problem with a known answer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { marginVariants, table8Rows, trainingVariants } from '../../components/widgets/reward/paper-margins.ts';
import { paperTable } from '../../src/content/paper-data.ts';
import { splitStories } from '../../src/engine/evaluate.ts';
import { XorShiftRng } from '../../src/engine/sampling/rng.ts';
import { corrupt, editCount, excerpt } from '../../src/train/reward/corrupt.ts';
import { buildPairs, DEFAULT_PAIR_OPTIONS } from '../../src/train/reward/pairs.ts';
import { lossCurves, rankingLoss, rankingLossSlope, sigmoid, softplus } from '../../src/train/reward/ranking-loss.ts';
import { RATINGS } from '../../src/train/reward/ratings.ts';
import { ScalarHead } from '../../src/train/reward/scalar-head.ts';

const ROOT = join(import.meta.dirname, '../..');
const stories = splitStories(readFileSync(join(ROOT, 'public/data/tinystories-valid-240.txt'), 'utf8'));

describe('the binary ranking loss with a margin', () => {
  // Hand-computed: −log σ(Δ − m) = log(1 + e^(m − Δ)); e = 2.718281828…, e² = 7.389056099…
  it.each([
    [0, 0, Math.LN2], // log 2 = 0.693147…
    [1, 1, Math.LN2], // the margin shifts the curve: Δ = m gives log 2 again
    [0, 1, 1.3132616875182228], // log(1 + e)
    [3, 1, 0.12692801104297263], // log(1 + e^−2) = log(1.135335…)
    [-2, 0, 2.1269280110429727], // log(1 + e^2) = log(8.389056…)
    [2 / 3, 2 / 3, Math.LN2],
  ])('Δ = %s, m = %s: %s', (delta, margin, want) => {
    expect(rankingLoss(delta, margin)).toBeCloseTo(want, 14);
  });

  it('does not overflow or lose the tail for very large gaps', () => {
    expect(rankingLoss(-1000, 3)).toBe(1003); // log(1 + e^1003) = 1003 + log(1 + e^−1003)
    const tiny = rankingLoss(800, 0); // e^−800 ≈ 3.7e−348 underflows double: 0 is the right answer
    expect(tiny).toBeGreaterThanOrEqual(0);
    expect(tiny).toBeLessThan(1e-300);
    expect(rankingLoss(40, 0)).toBeCloseTo(Math.exp(-40), 30); // log(1 + x) ≈ x, kept by log1p
    expect(softplus(-745)).toBeGreaterThan(0);
  });

  it('has slope −σ(m − Δ): hand values, and the finite difference of the loss', () => {
    expect(rankingLossSlope(0, 0)).toBe(-0.5);
    expect(rankingLossSlope(0, 1)).toBeCloseTo(-0.7310585786300049, 14); // −1/(1 + e^−1)
    expect(rankingLossSlope(3, 1)).toBeCloseTo(-0.11920292202211755, 14); // −1/(1 + e^2)
    expect(sigmoid(-800)).toBe(0);
    for (const [d, m] of [[-3, 0], [0.5, 1 / 3], [2, 3], [5, 2 / 3]]) {
      const h = 1e-6;
      const numeric = (rankingLoss(d + h, m) - rankingLoss(d - h, m)) / (2 * h);
      // Central differences in double: error O(h²) + rounding ~1e−10 for h = 1e−6.
      expect(Math.abs(numeric - rankingLossSlope(d, m))).toBeLessThan(1e-8);
    }
  });

  it('draws one curve per rating, evenly spaced, each equal to the loss', () => {
    const [small] = marginVariants();
    const pts = lossCurves(small.margins, -2, 3, 11);
    expect(pts).toHaveLength(4 * 11);
    for (const r of RATINGS) {
      const mine = pts.filter((p) => p.rating === r);
      expect(mine.map((p) => p.delta)).toEqual(Array.from({ length: 11 }, (_, i) => -2 + (5 * i) / 10));
      for (const p of mine) expect(p.loss).toBe(rankingLoss(p.delta, small.margins[r]));
    }
    expect(() => lossCurves(small.margins, 1, 1, 5)).toThrow(RangeError);
  });
});

describe("Table 27's margins and Table 8's accuracies, as the widgets read them", () => {
  it('are the data file’s values, keyed by rating, strongest rating largest', () => {
    const table = paperTable('table-27');
    const variants = marginVariants();
    expect(variants.map((v) => v.id)).toEqual(['small', 'large']);
    variants.forEach((v, i) => {
      for (const r of RATINGS) expect(v.margins[r]).toBe(table.rows[i][r]);
      const ordered = RATINGS.map((r) => v.margins[r]);
      expect([...ordered].sort((a, b) => b - a)).toEqual(ordered);
    });
    expect(variants[0].printed.better).toBe('2/3'); // the source's own spelling
    expect(trainingVariants()[0].margins).toEqual(Object.fromEntries(RATINGS.map((r) => [r, 0])));
    // At Δ = m(r) every rating's loss is log 2: the margin is exactly where the curve is centred.
    for (const v of variants) for (const r of RATINGS) expect(rankingLoss(v.margins[r], v.margins[r])).toBeCloseTo(Math.LN2, 14);
  });

  it('Table 8 rows carry every rating', () => {
    const rows = table8Rows();
    expect(rows).toHaveLength(paperTable('table-8').rows.length);
    for (const row of rows) for (const r of RATINGS) expect(typeof row.values[r]).toBe('number');
  });
});

describe('preference pairs from the validation stories', () => {
  const set = buildPairs(stories);
  const n = DEFAULT_PAIR_OPTIONS.last - DEFAULT_PAIR_OPTIONS.first + 1;

  it('one pair per rating per story, stories 41..240, the last 40 held out', () => {
    expect(stories.length).toBeGreaterThanOrEqual(DEFAULT_PAIR_OPTIONS.last);
    expect(set.pairs).toHaveLength(4 * n);
    expect(set.texts).toHaveLength(5 * n);
    expect(set.pairs[0].story).toBe(DEFAULT_PAIR_OPTIONS.first);
    expect(set.pairs.at(-1)!.story).toBe(DEFAULT_PAIR_OPTIONS.last);
    const held = set.pairs.filter((p) => p.heldOut);
    expect(held).toHaveLength(4 * (DEFAULT_PAIR_OPTIONS.last - DEFAULT_PAIR_OPTIONS.firstHeldOut + 1));
    expect(held.every((p) => p.story >= DEFAULT_PAIR_OPTIONS.firstHeldOut)).toBe(true);
    for (const r of RATINGS) expect(held.filter((p) => p.rating === r)).toHaveLength(held.length / 4);
  });

  it('the chosen text is the story’s opening, every rejected text differs, damage grows with the rating', () => {
    for (const p of set.pairs) {
      const chosen = set.texts[p.chosen];
      expect(stories[p.story - 1].replace(/\s+/g, ' ').startsWith(chosen)).toBe(true);
      expect(set.texts[p.rejected]).not.toBe(chosen);
      expect(p.edits).toBe(editCount(p.rating, chosen.split(' ').length));
    }
    for (let s = 0; s < set.pairs.length; s += 4) {
      const edits = set.pairs.slice(s, s + 4).map((p) => p.edits); // RATINGS order, strongest first
      expect(edits[3]).toBe(1);
      for (let i = 1; i < 4; i++) expect(edits[i - 1]).toBeGreaterThanOrEqual(edits[i]);
      expect(edits[0]).toBeGreaterThan(edits[3]);
    }
  });

  it('is reproducible from its seed, and another seed damages differently', () => {
    expect(buildPairs(stories)).toEqual(set);
    const other = buildPairs(stories, { ...DEFAULT_PAIR_OPTIONS, seed: DEFAULT_PAIR_OPTIONS.seed + 1 });
    expect(other.texts.filter((t, i) => t !== set.texts[i]).length).toBeGreaterThan(n);
  });

  it('rejects story ranges the text cannot supply, with a readable message', () => {
    expect(() => buildPairs(stories.slice(0, 100))).toThrow(/only 100/);
    expect(() => buildPairs(stories, { ...DEFAULT_PAIR_OPTIONS, firstHeldOut: DEFAULT_PAIR_OPTIONS.first })).toThrow(/leave some to train/);
  });

  it('excerpts whole sentences; a repeat adds a word, a swap or replacement keeps the count', () => {
    const text = excerpt('One two three. Four five six! Seven eight nine? Ten.', 5);
    expect(text).toBe('One two three. Four five six!');
    const words = text.split(' ').length;
    const rng = new XorShiftRng(7n);
    for (let k = 1; k <= 5; k++) {
      const out = corrupt(text, k, ['apple', 'bear'], rng).split(' ').length;
      expect(out).toBeGreaterThanOrEqual(words);
      expect(out).toBeLessThanOrEqual(words + k);
    }
  });
});

describe('the scalar head', () => {
  it('learns a separable problem: every difference ends with the positive sign', () => {
    // Differences d with a known separating direction u: Δ = w·d should become positive for all.
    const rng = new XorShiftRng(3n);
    const u = [1, -2, 0.5, 0, 3];
    const examples = Array.from({ length: 64 }, () => {
      const d = Float64Array.from(u, () => rng.nextFloat32() * 2 - 1);
      const s = d.reduce((a, x, i) => a + x * u[i], 0);
      if (Math.abs(s) < 0.2) d.forEach((_, i) => (d[i] += 0.3 * u[i])); // keep a gap from the boundary
      if (d.reduce((a, x, i) => a + x * u[i], 0) < 0) d.forEach((_, i) => (d[i] = -d[i]));
      return { diff: d, margin: 0 };
    });
    const head = new ScalarHead(u.length, { learningRate: 0.05, weightDecay: 0, batchSize: 16, seed: 1 });
    expect(examples.every((e) => head.score(e.diff) === 0)).toBe(true); // zero start: all ties
    let first = 0;
    for (let i = 0; i < 400; i++) {
      const loss = head.trainStep(examples);
      if (i === 0) first = loss;
      else if (i === 399) expect(loss).toBeLessThan(first / 4);
    }
    expect(first).toBeCloseTo(Math.LN2, 12); // every pair a tie at step 1
    expect(examples.every((e) => head.score(e.diff) > 0)).toBe(true);
  });
});
