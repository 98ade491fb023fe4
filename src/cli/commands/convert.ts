import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseLlama2c } from '../../engine/checkpoint/llama2c.ts';
import { EngineError } from '../../engine/errors.ts';
import { writeGguf, type GgufWeightType } from '../../engine/gguf/write-gguf.ts';
import { Tokenizer } from '../../engine/tokenizer/tokenizer.ts';
import { readFileOrFail } from '../../node/load-files.ts';
import { parseOptions, requireOption } from '../args.ts';
import { formatBytes } from '../table.ts';

const TYPES: GgufWeightType[] = ['f32', 'f16', 'q8_0', 'q4_0'];

/** A llama2.c checkpoint and its tokenizer as one GGUF file (matrices as --type; norms float32). */
export async function convertCommand(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    model: { type: 'string' },
    tokenizer: { type: 'string' },
    out: { type: 'string' },
    type: { type: 'string', default: 'f32' },
  });
  const type = o.type as GgufWeightType;
  if (!TYPES.includes(type)) throw new EngineError('bad-argument', `--type: expected ${TYPES.join(', ')}; got "${o.type}"`);
  const modelPath = requireOption(o.model, 'model');
  const tokenizerPath = requireOption(o.tokenizer, 'tokenizer');
  const out = requireOption(o.out, 'out');
  const ck = parseLlama2c(await readFileOrFail(modelPath, 'model'), basename(modelPath));
  const tokenizer = Tokenizer.fromBytes(await readFileOrFail(tokenizerPath, 'tokenizer'), basename(tokenizerPath));
  const bytes = writeGguf(ck, tokenizer, { type, name: basename(modelPath).replace(/\.bin$/, '') });
  await writeFile(out, bytes);
  process.stdout.write(`${out}: GGUF v3, matrices ${type}, ${formatBytes(bytes.byteLength)}\n`);
}
