/**
 * Chapter 1's parameter calculator: pick a Llama 1 / Llama 2 preset or edit the shape, and see the
 * parameter count, the weights' memory in each storage format and the KV cache's size. Everything
 * is computed on the main thread by the engine's config code (cheap, pure functions): this widget
 * never starts the engine worker.
 */
import { useId, useMemo, useState } from 'preact/hooks';
import { PRESETS } from '../../src/engine/presets.ts';
import { formatBytes, formatCount, formatExact, formatShare } from './calculator/format.ts';
import {
  FIELDS,
  KV_ELEMENT_FORMATS,
  calculate,
  draftFromConfig,
  parseDraft,
  presetMatching,
  type ConfigDraft,
  type FieldKey,
  type KvElementFormat,
} from './calculator/model.ts';
import type { WeightFormat } from '../../src/engine/params.ts';
import { CountInput } from './form/CountInput.tsx';
import './widget.css';
import './calculator/calculator.css';

const DEFAULT_PRESET = 'llama2-7b';
const CUSTOM = 'custom';

/** What each weight format stores, for the memory table. */
const FORMAT_NOTES: Record<WeightFormat, string> = {
  float32: '32-bit floats, what this site’s engine computes in',
  float16: '16-bit floats (float16 or bfloat16), as released checkpoints usually ship',
  int8: '8-bit integers in groups of 32, each group with a float16 scale (Q8_0)',
  int4: '4-bit integers in groups of 32, each group with a float16 scale (Q4_0)',
};

export default function ParamCalculator() {
  const id = useId();
  const [draft, setDraft] = useState<ConfigDraft>(() => draftFromConfig(PRESETS.find((p) => p.id === DEFAULT_PRESET)!.config));
  const [kvElement, setKvElement] = useState<KvElementFormat>('float16');
  const parsed = useMemo(() => parseDraft(draft), [draft]);
  const result = parsed.ok ? calculate(parsed.config, kvElement) : null;
  const presetId = parsed.ok ? (presetMatching(parsed.config)?.id ?? CUSTOM) : CUSTOM;
  const invalid = new Set<FieldKey | null>(parsed.ok ? [] : parsed.errors.map((e) => e.field));
  const dash = '—';

  const choosePreset = (value: string) => {
    const preset = PRESETS.find((p) => p.id === value);
    if (preset) setDraft(draftFromConfig(preset.config));
  };
  const families = [...new Set(PRESETS.map((p) => p.family))];

  return (
    <section class="widget calc" aria-label="Parameter calculator" data-testid="calc">
      <div class="calc-preset">
        <label for={`${id}-preset`}>Model</label>
        <select id={`${id}-preset`} data-testid="calc-preset" value={presetId} onChange={(e) => choosePreset(e.currentTarget.value)}>
          {families.map((family) => (
            <optgroup label={family} key={family}>
              {PRESETS.filter((p) => p.family === family).map((p) => (
                <option value={p.id} key={p.id}>
                  {p.label}
                </option>
              ))}
            </optgroup>
          ))}
          <option value={CUSTOM}>Custom shape</option>
        </select>
      </div>

      <fieldset class="calc-fields">
        <legend>Shape</legend>
        {FIELDS.map((f) => (
          <div class="calc-field" key={f.key}>
            <label for={`${id}-${f.key}`}>
              {f.label} <code>{f.symbol}</code>
            </label>
            <CountInput
              id={`${id}-${f.key}`}
              testId={`calc-${f.key}`}
              min={1}
              value={draft[f.key]}
              invalid={invalid.has(f.key)}
              describedBy={invalid.has(f.key) ? `${id}-error` : undefined}
              onText={(text) => setDraft({ ...draft, [f.key]: text })}
            />
          </div>
        ))}
        <div class="calc-field calc-check">
          <input
            id={`${id}-shared`}
            data-testid="calc-sharedClassifier"
            type="checkbox"
            checked={draft.sharedClassifier}
            onChange={(e) => setDraft({ ...draft, sharedClassifier: e.currentTarget.checked })}
          />
          <label for={`${id}-shared`}>Classifier shares the token-embedding matrix</label>
        </div>
      </fieldset>

      {!parsed.ok && (
        <div class="calc-error" id={`${id}-error`} data-testid="calc-error" role="alert">
          {parsed.errors.map((e) => (
            <p key={e.message}>{e.message}</p>
          ))}
        </div>
      )}

      <div class="calc-results" aria-live="polite">
        <p class="calc-total">
          Parameters: <strong data-testid="calc-params">{result ? formatCount(result.total) : dash}</strong>
          {result && <span class="calc-exact"> ({formatExact(result.total)})</span>}
        </p>
        {result && (
          <p class="calc-derived">
            Head size {result.headSize}, key/value width {result.kvDim} per layer, attention: {result.attention}.
          </p>
        )}

        <div class="calc-scroll" role="region" aria-label="Parameters by tensor group" tabIndex={0}>
        <table class="calc-table" data-testid="calc-breakdown">
          <caption>Parameters by tensor group</caption>
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">Parameters</th>
              <th scope="col">Share</th>
            </tr>
          </thead>
          <tbody>
            {(result?.breakdown ?? []).map((row) => (
              <tr key={row.key} data-testid={`calc-group-${row.key}`}>
                <th scope="row">{row.label}</th>
                <td>
                  {row.key === 'classifier' && row.count === 0 ? 'shared with the embedding' : formatCount(row.count)}
                  {row.count > 0 && <span class="calc-exact"> ({formatExact(row.count)})</span>}
                </td>
                <td class="calc-share">
                  <span class="calc-track" aria-hidden="true">
                    <span class="calc-bar" style={{ width: `${(100 * row.count) / result!.total}%` }} />
                  </span>
                  {formatShare(row.count, result!.total)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>

        <div class="calc-scroll" role="region" aria-label="Memory for the weights" tabIndex={0}>
        <table class="calc-table">
          <caption>Memory for the weights</caption>
          <thead>
            <tr>
              <th scope="col">Format</th>
              <th scope="col">Bytes per parameter</th>
              <th scope="col">Weights</th>
            </tr>
          </thead>
          <tbody>
            {(Object.keys(FORMAT_NOTES) as WeightFormat[]).map((format) => {
              const w = result?.weights.find((x) => x.format === format);
              return (
                <tr key={format}>
                  <th scope="row">
                    {format}
                    <span class="calc-note">{FORMAT_NOTES[format]}</span>
                  </th>
                  <td>{w ? formatExact(w.bytesPerParameter) : dash}</td>
                  <td data-testid={`calc-memory-${format}`}>{w ? formatBytes(w.bytes) : dash}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        </div>

        <div class="calc-kv">
          <p>
            <label for={`${id}-kv`}>KV cache elements stored as </label>
            <select
              id={`${id}-kv`}
              data-testid="calc-kv-element"
              value={kvElement}
              onChange={(e) => setKvElement(e.currentTarget.value as KvElementFormat)}
            >
              {(Object.keys(KV_ELEMENT_FORMATS) as KvElementFormat[]).map((f) => (
                <option value={f} key={f}>
                  {f} ({KV_ELEMENT_FORMATS[f]} bytes)
                </option>
              ))}
            </select>
          </p>
          <p>
            Keys and values of every layer, per token (2 × layers × key/value width × {KV_ELEMENT_FORMATS[kvElement]} bytes):{' '}
            <strong data-testid="calc-kv-token">{result ? formatBytes(result.kvPerToken) : dash}</strong>
          </p>
          <p>
            For the full context of {parsed.ok ? formatExact(parsed.config.seqLen) : dash} tokens, one sequence:{' '}
            <strong data-testid="calc-kv-context">{result ? formatBytes(result.kvContext) : dash}</strong>
          </p>
        </div>
        <p class="calc-units">Sizes in decimal units: 1 kB = 1,000 bytes, 1 GB = 10⁹ bytes. B after a count means billion.</p>
      </div>
    </section>
  );
}
