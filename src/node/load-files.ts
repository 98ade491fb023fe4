import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { EngineError } from '../engine/errors.ts';
import type { LoadProgress } from '../engine/io/byte-source.ts';
import { Llama } from '../engine/llama.ts';
import type { QuantFormat } from '../engine/quant/blocks.ts';

/** A file as a byte stream with its size, or a clear error when it cannot be read. */
export async function openFile(path: string, what: string) {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error('not a regular file');
    size = s.size;
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new EngineError('bad-argument', `${what} ${path}: ${reason}`);
  }
  const stream = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
  return { stream, size, name: basename(path) };
}

export async function loadLlamaFiles(
  modelPath: string,
  tokenizerPath: string,
  opts: { onProgress?: (p: LoadProgress) => void; quant?: QuantFormat } = {},
): Promise<Llama> {
  const model = await openFile(modelPath, 'model');
  const tokenizer = await openFile(tokenizerPath, 'tokenizer');
  return Llama.load({
    model: model.stream,
    modelName: model.name,
    modelBytes: model.size,
    tokenizer: tokenizer.stream,
    tokenizerName: tokenizer.name,
    tokenizerBytes: tokenizer.size,
    onProgress: opts.onProgress,
    quant: opts.quant,
  });
}

/** A whole file, or a one-line error naming it ("text story.txt: no such file"). */
export async function readFileOrFail(path: string, what: string): Promise<Uint8Array>;
export async function readFileOrFail(path: string, what: string, encoding: 'utf8'): Promise<string>;
export async function readFileOrFail(path: string, what: string, encoding?: 'utf8'): Promise<Uint8Array | string> {
  try {
    return encoding ? await readFile(path, encoding) : new Uint8Array(await readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new EngineError('bad-argument', `${what} ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}
