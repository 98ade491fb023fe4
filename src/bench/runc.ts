import { spawnSync } from 'node:child_process';
import { EngineError } from '../engine/errors.ts';

/**
 * Runs llama2.c's run.c (built by the reader with gcc -O3; not part of this project) on the same
 * checkpoint, greedy, and returns the tokens/s it reports.
 */
export function runReferenceProgram(binary: string, model: string, tokenizer: string, steps: number): number {
  const r = spawnSync(binary, [model, '-z', tokenizer, '-t', '0', '-n', String(steps)], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new EngineError('bad-argument', `--runc ${binary}: ${r.error.message}`);
  const m = /achieved tok\/s: ([\d.]+)/.exec(r.stderr + r.stdout);
  if (r.status !== 0 || !m) throw new EngineError('bad-argument', `--runc ${binary}: no "achieved tok/s" in its output (exit ${r.status})`);
  return Number(m[1]);
}
