import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import katex from 'katex';
import { beforeAll, describe, expect, it } from 'vitest';
import { DIVERGING_STOPS, divergingRgb, inkOn, scaleMaxFor } from '../../components/widgets/stepper/colour.ts';
import { typeset } from '../../components/widgets/stepper/Equation.tsx';
import { MAX_CELLS, WRAP_WIDTH, dimsFromTrace, gridFor } from '../../components/widgets/stepper/layout.ts';
import { carryOver, navigate, nextLayer, prevLayer, type StepRef } from '../../components/widgets/stepper/navigation.ts';
import { residualAt, residualSeries } from '../../components/widgets/stepper/residual.ts';
import { STEP_INFO, stepLabel, type StepName } from '../../components/widgets/stepper/steps.ts';
import { showPiece } from '../../components/widgets/stepper/TokenStrip.tsx';
import {
  argmax,
  formatProbability,
  formatValue,
  topTokens,
  valuesAttribute,
  vectorStats,
} from '../../components/widgets/stepper/values.ts';
import { headSize } from '../../src/engine/config.ts';
import { inspectForward, type ForwardTrace } from '../../src/engine/inspect.ts';
import { Llama } from '../../src/engine/llama.ts';
import { BLOCK_STEPS } from '../../src/engine/probe.ts';
import { onBackend } from '../support/engine.ts';
import { prng } from '../support/random.ts';

/** A trace's step list as the engine orders it, for `layers` blocks. */
const refs = (layers: number): StepRef[] => [
  { step: 'embedding', layer: null },
  ...Array.from({ length: layers }, (_, l) => BLOCK_STEPS.map((step) => ({ step, layer: l }))).flat(),
  { step: 'final_norm', layer: null },
  { step: 'logits', layer: null },
];
const at = (steps: StepRef[], step: StepName, layer: number | null) => steps.findIndex((s) => s.step === step && s.layer === layer);

describe('stepper: equations', () => {
  it('describes every step the engine records, and nothing else', () => {
    expect(Object.keys(STEP_INFO).sort()).toEqual([...BLOCK_STEPS, 'embedding', 'final_norm', 'logits'].sort());
  });

  it.each(Object.entries(STEP_INFO))('typesets %s to MathML without a KaTeX error', (_, info) => {
    expect(() => katex.renderToString(info.tex, { output: 'mathml', throwOnError: true })).not.toThrow();
    const html = typeset(info.tex);
    expect(html).toMatch(/^<span class="katex"><math [^>]*display="block"/);
    expect(html).not.toMatch(/katex-error/);
    expect(info.title.length).toBeGreaterThan(0);
    expect(info.about).toMatch(/\.$/);
  });

  it('names the layer one-based for people', () => {
    expect(stepLabel('q', 0, 5)).toBe('Query projection (layer 1 of 5)');
    expect(stepLabel('logits', null, 5)).toBe('Logits and the next token');
  });
});

describe('stepper: navigation', () => {
  const steps = refs(3);

  it('steps one operation at a time, clamped at both ends', () => {
    expect(navigate(steps, 0, 'next')).toBe(1);
    expect(navigate(steps, 0, 'prev')).toBe(0);
    expect(navigate(steps, steps.length - 1, 'next')).toBe(steps.length - 1);
    expect(navigate(steps, 5, 'first')).toBe(0);
    expect(navigate(steps, 5, 'last')).toBe(steps.length - 1);
    // Walking "next" visits the trace in the engine's order.
    const visited: StepRef[] = [];
    for (let i = 0, prev = -1; i !== prev; prev = i, i = navigate(steps, i, 'next')) visited.push(steps[i]);
    expect(visited).toEqual(steps);
  });

  it('jumps to the same operation in the neighbouring layer', () => {
    expect(nextLayer(steps, at(steps, 'q', 0))).toBe(at(steps, 'q', 1));
    expect(prevLayer(steps, at(steps, 'gate', 2))).toBe(at(steps, 'gate', 1));
    expect(nextLayer(steps, at(steps, 'q', 2))).toBe(at(steps, 'final_norm', null));
    expect(prevLayer(steps, at(steps, 'q', 0))).toBe(0);
    expect(nextLayer(steps, 0)).toBe(at(steps, 'block_input', 0));
    expect(prevLayer(steps, at(steps, 'logits', null))).toBe(at(steps, 'block_input', 2));
    expect(prevLayer(steps, at(steps, 'final_norm', null))).toBe(at(steps, 'block_input', 2));
    expect(nextLayer(steps, at(steps, 'final_norm', null))).toBe(at(steps, 'final_norm', null));
    expect(prevLayer(steps, 0)).toBe(0);
  });

  it('keeps the reader on the same step when the trace changes', () => {
    const fewer = refs(2);
    expect(carryOver({ step: 'v', layer: 1 }, 99, fewer)).toBe(at(fewer, 'v', 1));
    expect(carryOver({ step: 'v', layer: 2 }, 99, fewer)).toBe(fewer.length - 1);
    expect(carryOver(undefined, 3, fewer)).toBe(3);
  });
});

describe('stepper: colour scale', () => {
  const hex = (rgb: number[] | null) => `#${rgb!.map((c) => c.toString(16).padStart(2, '0')).join('')}`;

  it('runs from blue through the neutral midpoint to red, clamped', () => {
    expect(hex(divergingRgb(-1))).toBe(DIVERGING_STOPS[0]);
    expect(hex(divergingRgb(0))).toBe(DIVERGING_STOPS[5]);
    expect(hex(divergingRgb(1))).toBe(DIVERGING_STOPS[10]);
    expect(divergingRgb(7)).toEqual(divergingRgb(1));
    expect(divergingRgb(-Infinity)).toEqual(divergingRgb(-1));
    expect(divergingRgb(NaN)).toBeNull();
    const [r, , b] = divergingRgb(0.5)!;
    expect(r).toBeGreaterThan(b);
    const [r2, , b2] = divergingRgb(-0.5)!;
    expect(b2).toBeGreaterThan(r2);
    expect(inkOn(0)).toBe('#000');
    expect(inkOn(1)).toBe('#fff');
  });

  it('scales each tensor to its largest magnitude; probabilities always to 1', () => {
    expect(scaleMaxFor('q', [0.5, -3, 2])).toBe(3);
    expect(scaleMaxFor('attention_probs', [0.2, 0.8])).toBe(1);
    expect(scaleMaxFor('q', [0, 0])).toBe(1);
  });
});

describe('stepper: values', () => {
  it('formats values readably and without a hyphen for minus', () => {
    expect(formatValue(0)).toBe('0');
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(-12.3456)).toBe('−12.35');
    expect(formatValue(123456)).toBe('1.235e+5');
    expect(formatValue(0.00001234)).toBe('1.234e-5');
    expect(formatValue(-0.00001234)).toBe('−1.234e-5');
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatProbability(0.4213)).toBe('42.1%');
    expect(formatProbability(0.01234)).toBe('1.2%');
    expect(formatProbability(1e-7)).toBe('<0.01%');
  });

  it('finds the top tokens of 32,000 logits as a full sort would, with softmax probabilities', () => {
    const rand = prng(7);
    const logits = Float32Array.from({ length: 32000 }, () => (rand() - 0.5) * 20);
    logits[123] = logits[456] = 30; // a tie: the lower id first, as argmax picks
    const top = topTokens(logits, 10);
    const sorted = Array.from(logits, (v, id) => ({ id, v })).sort((a, b) => b.v - a.v || a.id - b.id);
    expect(top.map((t) => t.id)).toEqual(sorted.slice(0, 10).map((s) => s.id));
    expect(top[0].id).toBe(argmax(logits));
    const max = sorted[0].v;
    const denom = Array.from(logits).reduce((s, v) => s + Math.exp(v - max), 0);
    for (const t of top) expect(t.probability).toBeCloseTo(Math.exp(t.logit - max) / denom, 12);
  });

  it('hands e2e tests the first 16 values at full float32 precision', () => {
    const v = Float32Array.from({ length: 40 }, (_, i) => Math.fround(Math.PI * (i - 20) * 1e-3));
    const parsed = JSON.parse(valuesAttribute(v)) as number[];
    expect(parsed).toHaveLength(16);
    expect(Float32Array.from(parsed)).toEqual(v.subarray(0, 16));
    expect(parsed.every((x, i) => x === v[i])).toBe(true);
    expect(JSON.parse(valuesAttribute(v.subarray(0, 3)))).toHaveLength(3);
  });

  it('summarizes a vector', () => {
    expect(vectorStats([3, -4])).toEqual({ norm: 5, min: -4, max: 3, mean: -0.5 });
    expect(vectorStats([])).toEqual({ norm: 0, min: 0, max: 0, mean: 0 });
  });

  it('shows spaces and newlines in pieces', () => {
    expect(showPiece(' time')).toBe('␣time');
    expect(showPiece('\n')).toBe('↵');
    expect(showPiece('Once')).toBe('Once');
  });
});

describe('stepper: heatmap layout', () => {
  const dims = { nHeads: 8, nKvHeads: 4, headSize: 16 };

  it('lays attention weights out as heads × visible positions, named by piece', () => {
    const g = gridFor('attention_probs', [8, 3], new Float32Array(24), dims, ['<s>', 'Once', ' upon']);
    expect([g.rows, g.cols]).toEqual([8, 3]);
    expect(g.cellName(3, 2)).toBe('head 3 (kv head 1), position 2 " upon"');
  });

  it('splits per-head vectors into query or key/value heads', () => {
    const q = gridFor('q_rope', [128], new Float32Array(128), dims);
    expect([q.rows, q.cols]).toEqual([8, 16]);
    const k = gridFor('k', [64], new Float32Array(64), dims);
    expect([k.rows, k.cols]).toEqual([4, 16]);
    expect(k.cellName(3, 15)).toBe('kv head 3, dim 15');
  });

  it('wraps other vectors into rows, padding the last with NaN', () => {
    const v = Float32Array.from({ length: 344 }, (_, i) => i);
    const g = gridFor('gate', [344], v, dims);
    expect([g.rows, g.cols, g.binSize]).toEqual([Math.ceil(344 / WRAP_WIDTH), WRAP_WIDTH, 1]);
    expect(g.cells[343]).toBe(343);
    expect(Number.isNaN(g.cells[344])).toBe(true);
    expect(g.elementAt(5, 23)).toBe(343);
    expect(g.elementAt(5, 24)).toBe(-1);
  });

  it('bins a 32,000-logit vector into at most MAX_CELLS cells of the largest magnitude', () => {
    const v = new Float32Array(32000);
    v[17] = -5;
    v[18] = 4;
    const g = gridFor('logits', [32000], v, dims);
    expect(g.rows * g.cols).toBeLessThanOrEqual(MAX_CELLS);
    expect(g.binSize).toBe(Math.ceil(32000 / MAX_CELLS));
    expect(g.cells[Math.floor(17 / g.binSize)]).toBe(-5);
    expect(g.cellName(0, 2)).toBe(`tokens ${2 * g.binSize}–${3 * g.binSize - 1} (largest magnitude)`);
  });
});

describe('stepper: on a real trace of the embedded model', () => {
  let llama: Llama;
  let trace: ForwardTrace;
  const root = join(import.meta.dirname, '../..');

  beforeAll(async () => {
    await onBackend('cpu');
    const bytes = (f: string) => new Uint8Array(readFileSync(join(root, 'public/models/default', f)));
    llama = Llama.fromBytes(bytes('model.bin'), 'model.bin', bytes('tokenizer.bin'), 'tokenizer.bin');
    const tokens = llama.tokenizer.encode('Once upon a time', { bos: true });
    trace = inspectForward(llama, tokens, tokens.length - 1);
  });

  it('reads the model dimensions off the trace', () => {
    const c = llama.config;
    expect(dimsFromTrace(trace.steps)).toEqual({ nHeads: c.nHeads, nKvHeads: c.nKvHeads, headSize: headSize(c) });
  });

  it('has an equation and a layout for every recorded step', () => {
    const dims = dimsFromTrace(trace.steps);
    for (const s of trace.steps) {
      expect(STEP_INFO[s.step]).toBeDefined();
      const g = gridFor(s.step, s.shape, s.values, dims);
      expect(g.rows * g.cols * g.binSize).toBeGreaterThanOrEqual(s.values.length);
    }
  });

  it('follows the residual stream: the embedding and both adds of every layer', () => {
    const points = residualSeries(trace.steps);
    expect(points).toHaveLength(1 + 2 * llama.config.nLayers);
    const steps = trace.steps;
    expect(residualAt(points, 0)).toBe(0);
    expect(residualAt(points, at(steps, 'q', 0))).toBe(0); // before the first add: the embedding
    expect(residualAt(points, at(steps, 'gate', 0))).toBe(1);
    expect(residualAt(points, at(steps, 'q', 1))).toBe(2);
    expect(residualAt(points, steps.length - 1)).toBe(points.length - 1);
    const norm = Math.hypot(...steps[at(steps, 'residual_ffn', 0)].values);
    expect(points[2].norm).toBeCloseTo(norm, 4);
  });

  it('picks the greedy token as the largest logit', () => {
    const logits = trace.steps.find((s) => s.step === 'logits')!.values;
    expect(topTokens(logits, 5)[0].id).toBe(argmax(logits));
  });
});
