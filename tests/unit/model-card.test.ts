import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dataSection } from '../../src/cli/commands/publish-model.ts';
import type { TrainingLog } from '../../src/train/training-log.ts';

describe('model card', () => {
  const log = JSON.parse(readFileSync('public/models/default/training-log.json', 'utf8')) as TrainingLog;

  it('lists each training file with the command that made it in a code span and any note after it, as the shipped card does', () => {
    const section = dataSection(log);
    const sampled = log.data!.filter((d) => d.generatedBy);
    expect(sampled.length).toBeGreaterThan(0);
    for (const d of sampled) expect(section).toContain(`\`${d.generatedBy}\`${d.note ? ` (${d.note})` : ''}`);
    // Every code span is a command one can run: nothing but the command inside the backticks.
    for (const span of section.match(/`[^`]*`/g)!) expect(span).not.toMatch(/\(stopped|;/);
    expect(readFileSync('public/models/default/MODEL_CARD.md', 'utf8')).toContain(section);
  });
});
