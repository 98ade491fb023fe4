import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { generateAll } from '../../engine/generate.ts';
import { parseBackend, useNodeBackend } from '../../node/backend.ts';
import { loadLlamaFiles } from '../../node/load-files.ts';
import { integerOption, numberOption, parseOptions, requireOption } from '../args.ts';

/**
 * Training text sampled from a teacher model, in the TinyStories layout (stories separated by
 * `<|endoftext|>` lines). Each story starts from BOS with its own seed (seed + index), so a range
 * of seeds can be split across processes and the result is reproducible. A story that fills the
 * context without the model ending it is incomplete and is not written (it is counted). The
 * command itself is recorded in FILE.json.
 */
export async function sampleStoriesCommand(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    model: { type: 'string' },
    tokenizer: { type: 'string' },
    stories: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string', default: '1' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    backend: { type: 'string', default: 'auto' },
  });
  const count = integerOption(requireOption(o.stories, 'stories'), 'stories', 0, 1);
  const seed = integerOption(o.seed, 'seed', 1);
  // Pure sampling by default: the text then follows the teacher's own distribution.
  const temperature = numberOption(o.temperature, 'temperature', 1, 0);
  const topP = numberOption(o['top-p'], 'top-p', 1, 0, 1);
  const outPath = requireOption(o.out, 'out');
  await useNodeBackend(parseBackend(o.backend ?? 'auto'));
  const llama = await loadLlamaFiles(requireOption(o.model, 'model'), o.tokenizer);
  const out = createWriteStream(outPath);
  let written = 0;
  let incomplete = 0;
  let tokens = 0;
  const t0 = performance.now();
  try {
    for (let i = 0; i < count; i++) {
      const r = await generateAll(llama, { prompt: '', temperature, topP, seed: seed + i, steps: llama.config.seqLen, alternatives: 0 });
      tokens += r.tokens.length - 1;
      const story = r.text.trim();
      if (r.stopReason !== 'bos' || story === '') incomplete++;
      else {
        written++;
        if (!out.write(`${story}\n<|endoftext|>\n`)) await once(out, 'drain');
      }
      const s = (performance.now() - t0) / 1000;
      if ((i + 1) % 50 === 0 || i + 1 === count)
        process.stderr.write(`\rstory ${i + 1}/${count} written ${written} incomplete ${incomplete} ${(tokens / s).toFixed(0)} tok/s ETA ${(((count - i - 1) * s) / (i + 1) / 60).toFixed(1)} min   `);
    }
  } finally {
    out.end();
    await once(out, 'finish');
    llama.dispose();
  }
  // Beside the text, how it was made: `train` copies this into the run's log and the model card.
  const generatedBy = `npm run cli -- sample-stories ${argv.join(' ')}`;
  await writeFile(`${outPath}.json`, `${JSON.stringify({ generatedBy, stories: written, incomplete, tokens }, null, 1)}\n`);
  process.stderr.write(`\n${written} stories (${incomplete} incomplete dropped), ${tokens} tokens sampled, written to ${outPath}\n`);
}
