import { EngineError } from '../../engine/errors.ts';
import { evaluateStories, splitStories } from '../../engine/evaluate.ts';
import { parseBackend, useNodeBackend } from '../../node/backend.ts';
import { loadLlamaFiles, readFileOrFail } from '../../node/load-files.ts';
import { integerOption, parseOptions, quantOption, requireOption } from '../args.ts';


export async function evalCommand(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    model: { type: 'string' },
    tokenizer: { type: 'string' },
    text: { type: 'string' },
    stories: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    quant: { type: 'string' },
    truncate: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const textPath = requireOption(o.text, 'text');
  const limit = integerOption(o.stories, 'stories', Infinity, 1);
  const quant = quantOption(o.quant);
  const text = await readFileOrFail(textPath, 'text', 'utf8');
  const stories = splitStories(text).slice(0, limit);
  if (stories.length === 0) throw new EngineError('bad-argument', `text ${textPath}: no stories (empty file?)`);
  await useNodeBackend(parseBackend(o.backend ?? 'auto'));
  const llama = await loadLlamaFiles(requireOption(o.model, 'model'), o.tokenizer, { quant });
  const showProgress = process.stderr.isTTY;
  const r = await evaluateStories(llama, stories, {
    overflow: o.truncate ? 'truncate' : 'window',
    onProgress: (done, total) => {
      if (showProgress) process.stderr.write(`\r${done}/${total} stories`);
    },
  });
  if (showProgress) process.stderr.write('\n');
  const weightFormat = llama.weightFormat;
  const weights = `${llama.weightFormatDescription}, ${(llama.weightBytes / 2 ** 20).toFixed(2)} MiB on the backend`;
  llama.dispose();
  if (o.json) {
    const { meanNll, bitsPerByte, tokens, bytes } = r;
    process.stdout.write(`${JSON.stringify({ meanNll, bitsPerByte, tokens, bytes, weightFormat })}\n`);
  } else {
    process.stdout.write(
      `weights ${weights}\n` +
        `stories ${r.stories}, predicted tokens ${r.tokens}, bytes ${r.bytes}\n` +
        `mean NLL ${r.meanNll.toFixed(5)} nats/token, ${r.bitsPerByte.toFixed(4)} bits/byte\n`,
    );
  }
}
