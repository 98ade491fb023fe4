// The model panel's pure helpers: which dropped file is which, and the size/probability wording.
import { describe, expect, it } from 'vitest';
import { sortDropped } from '../../components/widgets/model-panel/pick-files.ts';
import { isGgufBlob } from '../../src/engine/gguf/magic.ts';
import { bandOf, visibleText } from '../../components/widgets/playground/tokens.ts';
import { formatBytes, formatProbability, formatProgress } from '../../src/client/format.ts';
import { loadSpecFor, REMOTE_MODELS } from '../../src/client/model-sources.ts';

const f = (name: string, size: number) => ({ name, size });
const none = { model: null, tokenizer: null };

describe('dropped files', () => {
  it('takes a name with "tok" as the tokenizer, in either order', () => {
    expect(sortDropped([f('tok512.bin', 6227), f('stories260K.bin', 1_056_540)], none)).toEqual({
      model: f('stories260K.bin', 1_056_540),
      tokenizer: f('tok512.bin', 6227),
    });
    expect(sortDropped([f('model.bin', 10), f('tokenizer.bin', 5000)], none).tokenizer?.name).toBe('tokenizer.bin');
  });
  it('otherwise takes the smaller file as the tokenizer', () => {
    expect(sortDropped([f('a.bin', 9_000_000), f('b.bin', 400_000)], none)).toEqual({ model: f('a.bin', 9_000_000), tokenizer: f('b.bin', 400_000) });
  });
  it('takes a GGUF file as the whole model, whatever its name, and drops the tokenizer', () => {
    const gguf = f('tokyo-story.gguf', 3_000_000);
    const isGguf = (x: { name: string }) => x === gguf;
    expect(sortDropped([gguf], { model: null, tokenizer: f('tokenizer.bin', 2) }, isGguf)).toEqual({ model: gguf, tokenizer: null });
    expect(sortDropped([f('tok512.bin', 6227), gguf], none, isGguf)).toEqual({ model: gguf, tokenizer: null });
  });
  it('knows a GGUF file by its first four bytes, not its name', async () => {
    expect(await isGgufBlob(new Blob([new TextEncoder().encode('GGUF'), new Uint8Array([3, 0, 0, 0])]))).toBe(true);
    expect(await isGgufBlob(new File([new Uint8Array([0x80, 0, 0, 0, 5, 0, 0, 0])], 'model.gguf'))).toBe(false);
    expect(await isGgufBlob(new Blob([new TextEncoder().encode('GG')]))).toBe(false);
  });
  it('fills one slot from a single file and keeps the other', () => {
    const model = f('m.bin', 1);
    expect(sortDropped([f('tokenizer.bin', 2)], { model, tokenizer: null })).toEqual({ model, tokenizer: f('tokenizer.bin', 2) });
  });
});

describe('wording', () => {
  it('formats sizes and progress', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(4_171_292)).toBe('4.0 MiB');
    expect(formatBytes(438_381_596)).toBe('418 MiB');
    expect(formatProgress(1_048_576, 4_194_304)).toBe('1.0 MiB of 4.0 MiB (25%)');
    expect(formatProgress(2048, null)).toBe('2.0 KiB');
  });
  it('formats probabilities and bands', () => {
    expect(formatProbability(0.4231)).toBe('42%');
    expect(formatProbability(0.0123)).toBe('1.2%');
    expect(formatProbability(0.00001)).toBe('<0.01%');
    expect(bandOf(Math.log(0.7)).id).toBe('likely');
    expect(bandOf(Math.log(0.2)).id).toBe('plausible');
    expect(bandOf(Math.log(0.05)).id).toBe('unlikely');
    expect(bandOf(Math.log(0.001)).id).toBe('surprising');
    expect(visibleText('', 1)).toBe('<s>');
    expect(visibleText('', 2)).toBe('</s>');
    expect(visibleText('', 300)).toBe('▯');
  });
});

describe('model sources', () => {
  it('resolves the embedded model against the site root, not the worker folder', () => {
    const spec = loadSpecFor({ kind: 'embedded' }, 'https://example.org/llama/');
    expect(spec).toMatchObject({
      kind: 'fetch',
      cache: false,
      model: { url: 'https://example.org/llama/models/default/model.bin' },
      tokenizer: { url: 'https://example.org/llama/models/default/tokenizer.bin' },
    });
  });
  it('lists the llama2.c TinyStories checkpoints with their tokenizers', () => {
    expect(REMOTE_MODELS.filter((m) => m.format === 'llama2c').map((m) => m.id)).toEqual(['stories260K', 'stories15M', 'stories42M', 'stories110M']);
    const spec = loadSpecFor({ kind: 'url', id: 'stories15M' }, 'https://example.org/');
    expect(spec).toMatchObject({
      cache: true,
      model: { url: 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories15M.bin', name: 'stories15M.bin' },
      tokenizer: { url: 'https://raw.githubusercontent.com/karpathy/llama2.c/master/tokenizer.bin', name: 'tokenizer.bin' },
    });
    expect((spec as { model: { stream?: boolean } }).model.stream).toBe(false); // small enough to download whole
  });
  it('streams Llama-2-7B-Chat Q4_0 as one GGUF file with no tokenizer file', () => {
    expect(loadSpecFor({ kind: 'url', id: 'llama-2-7b-chat-q4_0' }, 'https://example.org/')).toEqual({
      kind: 'fetch',
      label: 'Llama-2-7B-Chat Q4_0',
      origin: 'remote',
      model: { url: 'https://huggingface.co/TheBloke/Llama-2-7B-Chat-GGUF/resolve/main/llama-2-7b-chat.Q4_0.gguf', name: 'llama-2-7b-chat.Q4_0.gguf', stream: true },
      tokenizer: null,
      cache: true,
    });
  });
});
