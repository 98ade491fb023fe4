/**
 * The calculator's logic, free of the DOM: the editable config fields, their validation (the same
 * shape rules the engine's checkpoint reader enforces, worded for a reader), and every figure the
 * widget shows, computed by the engine's own params.ts so nothing is retyped here.
 */
import {
  LLAMA_NORM_EPS,
  LLAMA_ROPE_THETA,
  attentionKind,
  headSize,
  kvDim,
  type AttentionKind,
  type LlamaConfig,
} from '../../../src/engine/config.ts';
import {
  WEIGHT_FORMATS,
  kvCacheBytes,
  kvCacheBytesPerToken,
  parameterBreakdown,
  weightBytes,
  type ParameterBreakdown,
  type WeightFormat,
} from '../../../src/engine/params.ts';
import { PRESETS, type Preset } from '../../../src/engine/presets.ts';

export type FieldKey = 'dim' | 'hiddenDim' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'vocabSize' | 'seqLen';

export interface FieldInfo {
  key: FieldKey;
  label: string;
  /** The llama2.c header name, so a reader can match a checkpoint's fields. */
  symbol: string;
}

export const FIELDS: readonly FieldInfo[] = [
  { key: 'dim', label: 'Model dimension', symbol: 'dim' },
  { key: 'hiddenDim', label: 'FFN hidden dimension', symbol: 'hidden_dim' },
  { key: 'nLayers', label: 'Layers', symbol: 'n_layers' },
  { key: 'nHeads', label: 'Attention heads', symbol: 'n_heads' },
  { key: 'nKvHeads', label: 'Key/value heads', symbol: 'n_kv_heads' },
  { key: 'vocabSize', label: 'Vocabulary size', symbol: 'vocab_size' },
  { key: 'seqLen', label: 'Context length (tokens)', symbol: 'seq_len' },
];

/** What the inputs hold: text as typed, so a half-typed or wrong value can be pointed out, not lost. */
export type ConfigDraft = Record<FieldKey, string> & { sharedClassifier: boolean };

/**
 * The largest value a field may take: the bound the checkpoint reader uses to tell a real header
 * from garbage (2^20), which also keeps every product far inside exact double-precision integers.
 */
export const MAX_FIELD = 1 << 20;

export function draftFromConfig(c: LlamaConfig): ConfigDraft {
  const draft = { sharedClassifier: c.sharedClassifier } as ConfigDraft;
  for (const f of FIELDS) draft[f.key] = String(c[f.key]);
  return draft;
}

export interface FieldError {
  /** The field to mark invalid; null when the problem is between fields and no single one is wrong. */
  field: FieldKey | null;
  message: string;
}

export type ParsedDraft = { ok: true; config: LlamaConfig } | { ok: false; errors: FieldError[] };

/** Each field a whole number in 1..MAX_FIELD, then the rules the forward pass relies on. */
export function parseDraft(d: ConfigDraft): ParsedDraft {
  const errors: FieldError[] = [];
  const values = {} as Record<FieldKey, number>;
  for (const f of FIELDS) {
    const text = d[f.key].trim();
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (text === '') errors.push({ field: f.key, message: `${f.label} is empty.` });
    else if (!Number.isInteger(n) || n < 1)
      errors.push({ field: f.key, message: `${f.label} must be a whole number of at least 1 (got “${text}”).` });
    else if (n > MAX_FIELD) errors.push({ field: f.key, message: `${f.label} must be at most ${MAX_FIELD.toLocaleString('en-US')}.` });
    values[f.key] = n;
  }
  if (errors.length) return { ok: false, errors };
  const { dim, nHeads, nKvHeads } = values;
  if (dim % nHeads !== 0)
    errors.push({
      field: 'nHeads',
      message: `The model dimension (${dim}) must divide evenly into ${nHeads} heads: each head gets dim / heads values.`,
    });
  else if ((dim / nHeads) % 2 !== 0)
    errors.push({
      field: 'nHeads',
      message: `The head size dim / heads = ${dim / nHeads} must be even: rotary embeddings turn pairs of values.`,
    });
  if (nHeads % nKvHeads !== 0)
    errors.push({
      field: 'nKvHeads',
      message: `The ${nHeads} attention heads must split evenly over ${nKvHeads} key/value heads (each kv head serves the same number of query heads).`,
    });
  if (errors.length) return { ok: false, errors };
  return { ok: true, config: { ...values, sharedClassifier: d.sharedClassifier, normEps: LLAMA_NORM_EPS, ropeTheta: LLAMA_ROPE_THETA } };
}

/** The preset with exactly this shape, if any (so editing back to a preset's values shows its name). */
export function presetMatching(c: LlamaConfig): Preset | undefined {
  return PRESETS.find((p) => FIELDS.every((f) => p.config[f.key] === c[f.key]) && p.config.sharedClassifier === c.sharedClassifier);
}

export const WEIGHT_FORMAT_NAMES = Object.keys(WEIGHT_FORMATS) as WeightFormat[];

/** The element formats offered for the KV cache, in bytes per stored key or value element. */
export const KV_ELEMENT_FORMATS = { float16: 2, float32: 4 } as const;
export type KvElementFormat = keyof typeof KV_ELEMENT_FORMATS;

export interface BreakdownRow {
  key: Exclude<keyof ParameterBreakdown, 'total'>;
  label: string;
  count: number;
}

export interface CalcResult {
  total: number;
  breakdown: BreakdownRow[];
  weights: { format: WeightFormat; bytesPerParameter: number; bytes: number }[];
  kvElement: KvElementFormat;
  kvPerToken: number;
  kvContext: number;
  headSize: number;
  kvDim: number;
  attention: AttentionKind;
}

const GROUP_LABELS: Record<BreakdownRow['key'], string> = {
  tokenEmbedding: 'Token embedding',
  attention: 'Attention (Wq, Wk, Wv, Wo in every layer)',
  feedForward: 'Feed-forward (W1, W2, W3 in every layer)',
  norms: 'RMSNorm weights',
  classifier: 'Output classifier',
};

export function calculate(c: LlamaConfig, kvElement: KvElementFormat = 'float16'): CalcResult {
  const b = parameterBreakdown(c);
  const bytes = KV_ELEMENT_FORMATS[kvElement];
  return {
    total: b.total,
    breakdown: (Object.keys(GROUP_LABELS) as BreakdownRow['key'][]).map((key) => ({ key, label: GROUP_LABELS[key], count: b[key] })),
    weights: WEIGHT_FORMAT_NAMES.map((format) => ({ format, bytesPerParameter: WEIGHT_FORMATS[format], bytes: weightBytes(c, format) })),
    kvElement,
    kvPerToken: kvCacheBytesPerToken(c, bytes),
    kvContext: kvCacheBytes(c, c.seqLen, bytes),
    headSize: headSize(c),
    kvDim: kvDim(c),
    attention: attentionKind(c),
  };
}
