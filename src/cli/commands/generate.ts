import { describeBackend } from '../../engine/backend.ts';
import type { ChatSpec } from '../../engine/chat-format.ts';
import { EngineError } from '../../engine/errors.ts';
import { generate } from '../../engine/generate.ts';
import { GENERATION_DEFAULTS } from '../../engine/generation-defaults.ts';
import { parseBackend, useNodeBackend } from '../../node/backend.ts';
import { loadLlamaFiles } from '../../node/load-files.ts';
import { integerOption, numberOption, parseOptions, quantOption, requireOption } from '../args.ts';


export async function generateCommand(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    model: { type: 'string' },
    tokenizer: { type: 'string' },
    prompt: { type: 'string', default: '' },
    /** Treat --prompt as a user message in the Llama 2-Chat format, with an optional --system prompt. */
    chat: { type: 'boolean', default: false },
    system: { type: 'string' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    'top-k': { type: 'string' },
    seed: { type: 'string' },
    steps: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    quant: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (o.system !== undefined && !o.chat) throw new EngineError('bad-argument', '--system needs --chat (it is part of the Llama 2-Chat prompt format)');
  const prompt: string | ChatSpec = o.chat ? { system: o.system, turns: [{ user: o.prompt ?? '' }] } : (o.prompt ?? '');
  const options = {
    prompt,
    temperature: numberOption(o.temperature, 'temperature', GENERATION_DEFAULTS.temperature, 0),
    topP: numberOption(o['top-p'], 'top-p', GENERATION_DEFAULTS.topP, 0, 1),
    topK: integerOption(o['top-k'], 'top-k', 0),
    // As the reference program: the seed defaults to the current time in seconds.
    seed: integerOption(o.seed, 'seed', Math.floor(Date.now() / 1000)),
    steps: integerOption(o.steps, 'steps', GENERATION_DEFAULTS.steps),
  };
  const quant = quantOption(o.quant);
  const report = await useNodeBackend(parseBackend(o.backend ?? 'auto'));
  const llama = await loadLlamaFiles(requireOption(o.model, 'model'), o.tokenizer, { quant });
  const it = generate(llama, options);
  for (;;) {
    const r = await it.next();
    if (r.done) {
      const result = r.value;
      if (o.json) {
        const { tokens, text, tokensPerSecond } = result;
        process.stdout.write(`${JSON.stringify({ tokens, text, backend: report.name, tokensPerSecond })}\n`);
      } else {
        process.stdout.write('\n');
        process.stderr.write(`achieved tok/s: ${result.tokensPerSecond.toFixed(1)} (${describeBackend(report)}, weights ${llama.weightFormat})\n`);
      }
      break;
    }
    if (!o.json) process.stdout.write(r.value.text);
  }
  llama.dispose();
}
