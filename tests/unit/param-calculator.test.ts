import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatExact, formatShare } from '../../components/widgets/calculator/format.ts';
import {
  FIELDS,
  MAX_FIELD,
  calculate,
  draftFromConfig,
  parseDraft,
  presetMatching,
  type ConfigDraft,
} from '../../components/widgets/calculator/model.ts';
import { configFromHeader } from '../../src/engine/checkpoint/header.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { kvCacheBytes, kvCacheBytesPerToken, parameterBreakdown, parameterCount, weightBytes } from '../../src/engine/params.ts';
import { PRESETS, presetById } from '../../src/engine/presets.ts';

const llama2_7b = presetById('llama2-7b')!.config;
const draft = (over: Partial<ConfigDraft> = {}): ConfigDraft => ({ ...draftFromConfig(llama2_7b), ...over });

describe('parameter calculator: figures come from the engine', () => {
  it('gives the 7B preset exactly the parameter count params.ts computes, shown as billions', () => {
    const parsed = parseDraft(draftFromConfig(llama2_7b));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const r = calculate(parsed.config);
    const n = parameterCount(llama2_7b);
    expect(r.total).toBe(n);
    expect(r.breakdown.reduce((s, g) => s + g.count, 0)).toBe(n);
    // The shown string is the count in billions at three significant digits.
    expect(formatCount(r.total)).toBe(`${(n / 1e9).toPrecision(3)} B`);
    expect(formatCount(r.total)).toMatch(/^\d\.\d\d B$/);
    expect(formatExact(r.total).replaceAll(',', '')).toBe(String(n));
  });

  it('takes every preset through the inputs and back unchanged', () => {
    for (const p of PRESETS) {
      const parsed = parseDraft(draftFromConfig(p.config));
      expect(parsed).toEqual({ ok: true, config: p.config });
      expect(presetMatching(p.config)?.id).toBe(p.id);
    }
    expect(presetMatching({ ...llama2_7b, nLayers: 3 })).toBeUndefined();
  });

  it('weights and KV cache use params.ts for every format and element size', () => {
    for (const p of PRESETS) {
      const r = calculate(p.config);
      expect(r.breakdown.map((g) => [g.key, g.count])).toEqual(Object.entries(parameterBreakdown(p.config)).filter(([k]) => k !== 'total'));
      for (const w of r.weights) expect(w.bytes).toBe(weightBytes(p.config, w.format));
      expect(r.kvPerToken).toBe(kvCacheBytesPerToken(p.config)); // float16, the engine's default
      expect(r.kvContext).toBe(kvCacheBytes(p.config, p.config.seqLen));
      const f32 = calculate(p.config, 'float32');
      expect(f32.kvPerToken).toBe(kvCacheBytesPerToken(p.config, 4));
    }
    expect(calculate(llama2_7b).weights.map((w) => w.format)).toEqual(['float32', 'float16', 'int8', 'int4']);
  });

  it('a shared classifier adds no parameters', () => {
    const parsed = parseDraft(draft({ sharedClassifier: true }));
    if (!parsed.ok) throw new Error('expected a valid config');
    const r = calculate(parsed.config);
    expect(r.breakdown.find((g) => g.key === 'classifier')!.count).toBe(0);
    expect(r.total).toBe(parameterCount(llama2_7b) - llama2_7b.vocabSize * llama2_7b.dim);
  });
});

describe('parameter calculator: validation', () => {
  const errorsOf = (d: ConfigDraft) => {
    const p = parseDraft(d);
    return p.ok ? [] : p.errors;
  };

  it.each([
    ['empty', '', /is empty/],
    ['zero', '0', /at least 1/],
    ['negative', '-4', /at least 1/],
    ['fraction', '1.5', /whole number/],
    ['text', 'abc', /whole number/],
    ['too large', String(MAX_FIELD + 1), /at most/],
  ])('rejects a %s field with a message naming it', (_, value, message) => {
    const errors = errorsOf(draft({ nLayers: value }));
    expect(errors).toHaveLength(1);
    expect(errors[0].field).toBe('nLayers');
    expect(errors[0].message).toMatch(message);
    expect(errors[0].message).toMatch(/^Layers/);
  });

  it('explains the shape rules between fields', () => {
    expect(errorsOf(draft({ nHeads: '30' }))[0]).toMatchObject({
      field: 'nHeads',
      message: expect.stringMatching(/divide evenly into 30 heads/),
    });
    expect(errorsOf(draft({ dim: '96', nHeads: '32' }))[0].message).toMatch(/head size .* = 3 must be even/);
    expect(errorsOf(draft({ nKvHeads: '5' }))[0]).toMatchObject({
      field: 'nKvHeads',
      message: expect.stringMatching(/split evenly over 5/),
    });
  });

  it('accepts exactly the shapes the engine’s checkpoint reader accepts', () => {
    const values = [1, 2, 3, 4, 6, 8, 12, 16];
    for (const dim of [8, 12, 16, 24, 48])
      for (const nHeads of values)
        for (const nKvHeads of values) {
          const d = draft({ dim: String(dim), nHeads: String(nHeads), nKvHeads: String(nKvHeads) });
          let engineOk = true;
          try {
            configFromHeader({ dim, hiddenDim: 32, nLayers: 2, nHeads, nKvHeads, vocabSize: 32000, seqLen: 4096 }, 'x', false);
          } catch (e) {
            expect(e).toBeInstanceOf(EngineError);
            engineOk = false;
          }
          expect(parseDraft(d).ok, `dim ${dim}, heads ${nHeads}, kv ${nKvHeads}`).toBe(engineOk);
        }
  });

  it('labels every field', () => {
    const editable = Object.keys(llama2_7b).filter((k) => !['sharedClassifier', 'normEps', 'ropeTheta'].includes(k));
    expect(FIELDS.map((f) => f.key).sort()).toEqual(editable.sort());
    expect(new Set(FIELDS.map((f) => f.label)).size).toBe(FIELDS.length);
  });
});

describe('parameter calculator: number formatting', () => {
  it.each([
    [0, '0'],
    [999, '999'],
    [1000, '1.00 K'],
    [1_038_720, '1.04 M'],
    [999_499, '999 K'],
    [999_950, '1.00 M'], // rounding carries into the next unit
    [6.5e12, '6.50 T'],
  ])('count %d → %s', (n, text) => expect(formatCount(n)).toBe(text));

  it.each([
    [1, '1 byte'],
    [512, '512 bytes'],
    [524_288, '524 kB'],
    [13_476_831_232, '13.5 GB'],
    [2 * 1024 ** 3, '2.15 GB'],
  ])('bytes %d → %s (decimal units)', (n, text) => expect(formatBytes(n)).toBe(text));

  it('never prints NaN', () => {
    expect(() => formatCount(NaN)).toThrow(RangeError);
    expect(formatShare(0, 0)).toBe('0%');
    expect(formatShare(1, 3)).toBe('33.3%');
    expect(formatShare(1, 1e6)).toBe('<0.1%');
    expect(formatExact(34 / 32)).toBe('1.0625');
  });
});
