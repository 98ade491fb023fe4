import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrainingLog } from '../../src/train/training-log.ts';
import { runCli } from '../support/cli.ts';
import { sharedPath } from '../support/shared.ts';

const data = sharedPath('data/tinystories/tinystories_valid_first1000.txt');
const out = mkdtempSync(join(tmpdir(), 'llama-train-'));
const base = ['train', '--data', data, '--val', data, '--dim', '16', '--layers', '1', '--heads', '2', '--kv-heads', '1', '--seq-len', '16', '--batch', '2', '--eval-every', '2', '--eval-windows', '2', '--save-every', '1', '--out', out];

describe('train command', () => {
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('trains a tokenizer and a model, saves a resumable run with its log', () => {
    const r = runCli([...base, '--vocab-size', '400', '--steps', '2']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/step 2\/2 loss [\d.]+ val [\d.]+ .* tok\/s ETA/);
    for (const f of ['model.bin', 'tokenizer.bin', 'optimizer.bin', 'trainer.json', 'training-log.json']) expect(existsSync(join(out, f))).toBe(true);
  });

  it('resumes with its own tokenizer, appending the command to the log', () => {
    const tokenizer = readFileSync(join(out, 'tokenizer.bin'));
    const r = runCli(['train', '--data', data, '--val', data, '--steps', '3', '--save-every', '1', '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('resuming');
    expect(readFileSync(join(out, 'tokenizer.bin'))).toEqual(tokenizer);
    const log = JSON.parse(readFileSync(join(out, 'training-log.json'), 'utf8')) as TrainingLog;
    expect(log.entries.map((e) => e.step)).toEqual([1, 2, 3]);
    expect(log.commands).toHaveLength(2);
    expect(log.config.vocabSize).toBe(400);
  });

  it('reads several --data files as one corpus and names a file with no stories', () => {
    const empty = join(out, 'no-stories.txt');
    writeFileSync(empty, 'text without a story separator');
    const rest = (dir: string) => ['--val', data, '--dim', '16', '--layers', '1', '--heads', '2', '--kv-heads', '1', '--seq-len', '16', '--batch', '2', '--vocab-size', '400', '--steps', '1', '--out', join(out, dir)];
    const r = runCli(['train', '--data', data, '--data', data, ...rest('two-files')]);
    expect(r.status).toBe(0);
    const log = JSON.parse(readFileSync(join(out, 'two-files', 'training-log.json'), 'utf8')) as TrainingLog;
    expect(log.trainTokens).toBe(2 * log.valTokens);
    expect(log.data?.map((d) => d.file)).toEqual(['tinystories_valid_first1000.txt', 'tinystories_valid_first1000.txt']);
    expect(log.data?.[0].tokens).toBe(log.valTokens);
    expect(log.data?.[0].generatedBy).toBeUndefined();
    const bad = runCli(['train', '--data', data, '--data', empty, ...rest('bad')]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim()).toMatch(new RegExp(`^error: data ${empty}: no complete stories`));
  });

  it('refuses to retrain the tokenizer of a run it resumes', () => {
    const r = runCli([...base, '--vocab-size', '512', '--steps', '4']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^error: .*keeps its tokenizer/);
  });

  it('continues a finished run from its weights (--init): one log, steps, tokens and time counted on', () => {
    const first = JSON.parse(readFileSync(join(out, 'training-log.json'), 'utf8')) as TrainingLog;
    const next = join(out, 'continued');
    const args = ['train', '--init', out, '--data', data, '--val', data, '--steps', '2', '--batch', '2', '--eval-every', '2', '--eval-windows', '2', '--out', next];
    const r = runCli(args);
    expect(r.status).toBe(0);
    const log = JSON.parse(readFileSync(join(next, 'training-log.json'), 'utf8')) as TrainingLog;
    expect(log.entries.map((e) => e.step)).toEqual([1, 2, 3, 4, 5]);
    expect(log.entries.slice(0, 3)).toEqual(first.entries);
    const [end, after] = [first.entries[2], log.entries[3]];
    expect(after.tokensSeen).toBe(end.tokensSeen + 2 * 16);
    expect(after.wallSeconds).toBeGreaterThan(end.wallSeconds);
    expect(log.continuedFrom).toMatchObject({ run: out, steps: 3, tokensSeen: end.tokensSeen, commands: first.commands });
    expect(log.commands).toEqual([...first.commands, `npm run cli -- train ${args.slice(1).join(' ')}`]);
    expect(readFileSync(join(next, 'tokenizer.bin'))).toEqual(readFileSync(join(out, 'tokenizer.bin')));
    // The shape and the tokenizer are the earlier run's: options that would change them are refused.
    const clash = runCli([...args.slice(0, -1), join(out, 'clash'), '--vocab-size', '300']);
    expect(clash.status).not.toBe(0);
    expect(clash.stderr.trim()).toMatch(/^error: --init .* drop --tokenizer/);
  });
});
