import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateAll } from '../../src/engine/generate.ts';
import { completeStories } from '../../src/train/tokenizer/stories.ts';
import { runCli } from '../support/cli.ts';
import { loadShared, onBackend } from '../support/engine.ts';
import { sharedPath, STORIES260K, TOK512 } from '../support/shared.ts';

describe('sample-stories', () => {
  it('writes the teacher stories for seeds seed..seed+N-1 in the layout train --data reads', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'teacher-')), 'stories.txt');
    const r = runCli(['sample-stories', '--model', sharedPath(STORIES260K), '--tokenizer', sharedPath(TOK512), '--stories', '4', '--seed', '7', '--out', out, '--backend', 'wasm']);
    expect(r.status).toBe(0);
    const written = completeStories(readFileSync(out, 'utf8'));

    // The same stories in-process: pure sampling from BOS, one seed each, kept when the model ends them.
    await onBackend('wasm');
    const llama = loadShared(STORIES260K);
    const expected: string[] = [];
    for (let seed = 7; seed < 11; seed++) {
      const g = await generateAll(llama, { prompt: '', temperature: 1, topP: 1, seed, steps: llama.config.seqLen });
      if (g.stopReason === 'bos') expected.push(g.text.trim());
    }
    llama.dispose();
    expect(expected.length).toBeGreaterThan(0);
    expect(written).toEqual(expected);
    const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(sidecar).toMatchObject({ stories: expected.length, incomplete: 4 - expected.length });
    expect(sidecar.generatedBy).toMatch(/^npm run cli -- sample-stories --model .* --seed 7 /);
    expect(r.stderr).toContain(`${expected.length} stories (${4 - expected.length} incomplete dropped)`);
  });
});
