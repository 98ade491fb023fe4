import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { backendMemoryLimits } from '../engine/device-limits.ts';
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

/** True when the file starts with GGUF's magic (its name may say otherwise). */
async function isGgufFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.toString('latin1') === 'GGUF';
  } finally {
    await handle.close();
  }
}

/**
 * A model and its tokenizer from disk: a llama2.c checkpoint with its tokenizer.bin, or a GGUF
 * file, which carries its own tokenizer (a separate one is then refused, not silently ignored).
 */
export async function loadLlamaFiles(
  modelPath: string,
  tokenizerPath: string | undefined,
  opts: { onProgress?: (p: LoadProgress) => void; quant?: QuantFormat } = {},
): Promise<Llama> {
  const model = await openFile(modelPath, 'model');
  if (await isGgufFile(modelPath)) {
    if (tokenizerPath !== undefined)
      throw new EngineError('bad-argument', `--tokenizer ${tokenizerPath}: ${model.name} is a GGUF file and carries its own tokenizer; leave --tokenizer out`);
    return Llama.loadGguf({ model: model.stream, modelName: model.name, modelBytes: model.size, onProgress: opts.onProgress, quant: opts.quant, limits: hostLimits() });
  }
  if (tokenizerPath === undefined) throw new EngineError('bad-argument', `--tokenizer is required: ${model.name} is a llama2.c checkpoint (only GGUF files carry their tokenizer)`);
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

/** The backend's own limits, with this machine's memory for the host backends. */
export const hostLimits = () => backendMemoryLimits(totalmem());

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
