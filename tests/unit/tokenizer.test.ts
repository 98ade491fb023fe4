import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { EngineError } from '../../src/engine/errors.ts';
import { Tokenizer } from '../../src/engine/tokenizer/tokenizer.ts';
import { Utf8StreamDecoder } from '../../src/engine/tokenizer/utf8-stream.ts';
import { prng } from '../support/random.ts';

// Third-party data lives in ../shared (read-only, never copied into the repo).
const shared = (path: string) => readFileSync(new URL(`../../../shared/${path}`, import.meta.url));
const tok512Bytes = new Uint8Array(shared('models/stories260K/tok512.bin'));
const llamaBytes = new Uint8Array(shared('models/llama2-tokenizer/tokenizer.bin'));
const tok512 = Tokenizer.fromBytes(tok512Bytes, 'tok512.bin', 512);
const llama = Tokenizer.fromBytes(llamaBytes, 'tokenizer.bin', 32000);
const tokenizers = [tok512, llama];

interface ParityCase {
  tokenizer: string;
  prompt: string;
  expected_tokens: number[];
  reference_stdout: string;
}
const parityCases: ParityCase[] = JSON.parse(shared('reference/parity_public.json').toString('utf8'));

/** Random text mixing story words, accents, CJK, Hangul, emoji, astral planes, whitespace and controls. */
function randomText(random: () => number, segments: number): string {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  const words = ['Once', 'upon', 'a', 'time', 'the', 'little', 'girl', 'named', 'Lily', 'played', 'ball', '.', ',', '"', "'s", 'aaaa', 'xx'];
  const codePoint = (lo: number, hi: number) => String.fromCodePoint(int(lo, hi));
  const makers: (() => string)[] = [
    () => ' ' + pick(words),
    () => pick(words),
    () => pick(['é', 'è', 'ü', 'ñ', 'ç', 'Å', 'ø', 'e\u0301', 'ß', '’', '“', '”', '—', '…']),
    () => codePoint(0x4e00, 0x9fff),
    () => codePoint(0xac00, 0xd7a3),
    () => codePoint(0x1f300, 0x1faff),
    () => codePoint(0x10000, 0x10ffff),
    () => {
      const c = int(0x80, 0xfffd - 0x800); // any BMP char, skipping surrogates and U+FFFD itself
      return String.fromCodePoint(c < 0xd800 ? c : c + 0x800);
    },
    () => pick(['\n', '\n\n', '  ', '    ', '\t', '\r\n', ' ']),
    () => pick(['\u0000', '\u007f', '\ufeff', '\u00a0']),
  ];
  let s = '';
  for (let i = 0; i < segments; i++) s += pick(makers)();
  return s;
}

/** run.c's encode, written as plainly as possible: rescan every pair after every merge. */
function naiveEncode(tok: Tokenizer, text: string): number[] {
  const key = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
  const keys = Array.from({ length: tok.vocabSize }, (_, id) => key(tok.piece(id)));
  const idOf = new Map(keys.map((k, id) => [k, id]));
  const tokens = [1];
  if (text !== '') tokens.push(idOf.get(' ')!);
  for (const ch of text) {
    const bytes = new TextEncoder().encode(ch);
    const id = idOf.get(key(bytes));
    if (id !== undefined) tokens.push(id);
    else tokens.push(...Array.from(bytes, (b) => b + 3));
  }
  for (;;) {
    let bestScore = Math.fround(-1e10);
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = idOf.get(keys[tokens[i]] + keys[tokens[i + 1]]);
      if (id !== undefined && tok.score(id) > bestScore) {
        bestScore = tok.score(id);
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx < 0) return tokens;
    tokens.splice(bestIdx, 2, bestId);
  }
}

/** The EngineError `f` throws. */
function fault(f: () => unknown): EngineError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    const err = e as EngineError;
    expect(err.message).not.toContain('\n');
    return err;
  }
  throw new Error('expected an EngineError, nothing was thrown');
}

/** Where piece `id`'s bytes start in a tokenizer file. */
function pieceOffset(file: Uint8Array, id: number): number {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let at = 4;
  for (let i = 0; i < id; i++) at += 8 + view.getInt32(at + 4, true);
  return at + 8;
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const int32 = (v: number) => new Uint8Array(new Int32Array([v]).buffer);

describe('Tokenizer file', () => {
  it('reads both vocabularies with their special and byte pieces', () => {
    expect(tok512.vocabSize).toBe(512);
    expect(llama.vocabSize).toBe(32000);
    expect(tok512.maxTokenLength).toBe(7);
    expect(llama.maxTokenLength).toBe(27);
    for (const tok of tokenizers) {
      expect([tok.bosId, tok.eosId]).toEqual([1, 2]);
      expect(tok.pieceText(0)).toBe('<unk>');
      expect(tok.pieceText(1)).toBe('\n<s>\n');
      expect(tok.pieceText(2)).toBe('\n</s>\n');
      expect(tok.pieceText(3)).toBe('<0x00>');
      expect(tok.pieceText(258)).toBe('<0xFF>');
      expect(tok.decodeBytes(5, 3 + 0xe2)).toEqual(Uint8Array.of(0xe2));
    }
    expect(tok512.pieceText(260)).toBe('he');
    expect(tok512.score(260)).toBe(-1);
    expect(llama.pieceText(259)).toBe('  ');
    expect(llama.score(259)).toBe(-1e9);
  });

  it('loads from a stream, reporting progress', async () => {
    const chunks = [tok512Bytes.subarray(0, 1000), tok512Bytes.subarray(1000)];
    const seen: number[] = [];
    const tok = await Tokenizer.load(
      (async function* () {
        yield* chunks;
      })(),
      { name: 'tok512.bin', vocabSize: 512, onProgress: (p) => seen.push(p.loadedBytes) },
    );
    expect(seen).toEqual([1000, tok512Bytes.byteLength]);
    expect(tok.encode('Once upon a time')).toEqual(tok512.encode('Once upon a time'));
  });

  it('rejects ids outside the vocabulary', () => {
    const err = fault(() => tok512.piece(512));
    expect(err.code).toBe('bad-argument');
    expect(err.message).toBe('tok512.bin: token id: expected 0..511, got 512');
    expect(fault(() => tok512.decode([1, -1])).code).toBe('bad-argument');
  });
});

describe('Tokenizer format faults', () => {
  const name = 'tok512.bin';
  const parse = (bytes: Uint8Array, vocabSize?: number) => () => Tokenizer.fromBytes(bytes, name, vocabSize);

  it('truncated file', () => {
    const cut = tok512Bytes.subarray(0, tok512Bytes.byteLength - 2);
    for (const vocabSize of [undefined, 512]) {
      const err = fault(parse(cut, vocabSize));
      expect(err.code).toBe('tokenizer-format');
      expect(err.message).toBe('tok512.bin: piece 511 bytes (truncated file?): expected 3, got 1');
    }
    const tiny = fault(parse(tok512Bytes.subarray(0, 2)));
    expect(tiny.message).toBe('tok512.bin: header (int32 max_token_length): expected 4 bytes, got 2 bytes');
  });

  it('trailing bytes', () => {
    const padded = concat(tok512Bytes, Uint8Array.of(0, 0, 0));
    for (const vocabSize of [undefined, 512]) {
      const err = fault(parse(padded, vocabSize));
      expect(err.code).toBe('tokenizer-format');
      expect(err.message).toBe('tok512.bin: trailing bytes after piece 511: expected 0, got 3');
    }
  });

  it('wrong vocab size given', () => {
    const tooMany = fault(parse(tok512Bytes, 32000));
    expect(tooMany.code).toBe('tokenizer-mismatch');
    expect(tooMany.message).toBe('tok512.bin: vocab size (pieces): expected 32000, got 512');
    const tooFew = fault(parse(tok512Bytes, 500));
    expect(tooFew.code).toBe('tokenizer-mismatch');
    expect(tooFew.message).toBe('tok512.bin: vocab size (pieces): expected 500, got 512');
  });

  it('garbage header: a checkpoint passed as tokenizer', () => {
    const checkpoint = new Uint8Array(shared('models/stories260K/stories260K.bin'));
    const err = fault(() => Tokenizer.fromBytes(checkpoint, 'stories260K.bin'));
    expect(err.code).toBe('tokenizer-format');
    expect(err.message).toMatch(/^stories260K\.bin: /);
    const negative = fault(parse(concat(int32(-7), tok512Bytes.subarray(4))));
    expect(negative.message).toBe(`tok512.bin: max_token_length: expected 1..${tok512Bytes.byteLength} (the file size), got -7`);
  });

  it('a piece longer than max_token_length, or of negative length', () => {
    const short = fault(parse(concat(int32(4), tok512Bytes.subarray(4))));
    expect(short.code).toBe('tokenizer-format');
    expect(short.message).toBe('tok512.bin: piece 0 byte length: expected 1..4 (max_token_length), got 5');
    const bytes = tok512Bytes.slice();
    new DataView(bytes.buffer).setInt32(4 + 4, -3, true); // piece 0's length
    expect(fault(parse(bytes)).message).toBe('tok512.bin: piece 0 byte length: expected 1..7 (max_token_length), got -3');
  });

  it('missing byte-fallback pieces and duplicate pieces', () => {
    const text = Buffer.from(tok512Bytes).toString('latin1');
    const at = text.indexOf('<0x41>'); // id 68
    const badByte = tok512Bytes.slice();
    badByte[at + 4] = 'G'.charCodeAt(0);
    const err = fault(parse(badByte));
    expect(err.code).toBe('tokenizer-format');
    expect(err.message).toBe('tok512.bin: byte-fallback piece at id 68: expected "<0x41>", got "<0x4G>"');

    const tooFewPieces = fault(parse(tok512Bytes.subarray(0, text.indexOf('<0x10>') + 6)));
    expect(tooFewPieces.message).toBe('tok512.bin: byte-fallback piece <0x11> at id 20: expected present, got only 20 pieces');

    // Piece 260 is "he" and piece 264 is "nd": make 264 a second "he".
    expect([tok512.pieceText(260), tok512.pieceText(264)]).toEqual(['he', 'nd']);
    const dup = tok512Bytes.slice();
    dup.set(Buffer.from('he', 'latin1'), pieceOffset(tok512Bytes, 264));
    expect(fault(parse(dup)).message).toBe('tok512.bin: piece 264 "he": expected unique, got duplicate of piece 260');
  });
});

describe('encode', () => {
  it('gives the reference token ids for every public prompt', () => {
    const prompts = parityCases.filter((c) => c.prompt !== '');
    expect(prompts.map((c) => c.prompt)).toContain('Max’s ball was blue');
    for (const c of prompts) {
      expect(c.tokenizer).toBe('stories260K/tok512.bin');
      const ids = tok512.encode(c.prompt);
      expect(ids.length).toBeGreaterThan(1);
      expect(ids, c.prompt).toEqual(c.expected_tokens.slice(0, ids.length));
    }
  });

  it('follows the options and the empty-text rule', () => {
    expect(tok512.encode('')).toEqual([1]);
    expect(tok512.encode('', { bos: false })).toEqual([]);
    expect(tok512.encode('', { eos: true })).toEqual([1, 2]);
    const ids = tok512.encode('Once upon a time');
    expect(tok512.encode('Once upon a time', { bos: false, eos: true })).toEqual([...ids.slice(1), 2]);
  });

  it('counts the tokens of the reference NLL evaluation (40 stories, 12,802 predictions)', () => {
    const stories = shared('data/tinystories/tinystories_valid_first1000.txt')
      .toString('utf8')
      .split('<|endoftext|>')
      .map((s) => s.trim())
      .slice(0, 40);
    const seqLen = 512;
    const predicted = stories.reduce((n, s) => n + Math.min(tok512.encode(s).length, seqLen) - 1, 0);
    const bytes = stories.reduce((n, s) => n + Buffer.byteLength(s), 0);
    expect(predicted).toBe(12802);
    expect(bytes).toBe(27046);
  });

  it('merges exactly like the naive run.c loop on random text', () => {
    const random = prng(42);
    for (const tok of tokenizers) {
      for (let i = 0; i < 12; i++) {
        const text = randomText(random, 20 + Math.floor(random() * 300));
        expect(tok.encode(text), `${tok.name}: ${JSON.stringify(text)}`).toEqual(naiveEncode(tok, text));
      }
      // Long runs of one character: many equal-score pairs, so the leftmost-on-ties rule decides.
      for (const text of ['a'.repeat(37), ' '.repeat(41), '\n'.repeat(9) + 'x' + ' '.repeat(18), 'aaaa '.repeat(20)]) {
        expect(tok.encode(text), `${tok.name}: ${JSON.stringify(text)}`).toEqual(naiveEncode(tok, text));
      }
    }
  });

  it('handles a 1 MB text quickly (O(n log n) merges)', () => {
    const text = shared('data/tinyshakespeare/input.txt').toString('utf8');
    expect(text.length).toBeGreaterThan(1_000_000);
    for (const tok of tokenizers) {
      const started = performance.now();
      const ids = tok.encode(text);
      const seconds = (performance.now() - started) / 1000;
      expect(seconds, `${tok.name} took ${seconds.toFixed(1)} s`).toBeLessThan(20);
      expect(ids.length).toBeLessThan(text.length);
      expect(tok.decode(ids)).toBe(text);
    }
  });
});

describe('decode', () => {
  it("reproduces the reference program's printed text for every public run", () => {
    // Exact only because no public run samples a lone byte token, which the C program would skip.
    for (const c of parityCases) {
      expect(tok512.decode(c.expected_tokens) + '\n').toBe(c.reference_stdout);
    }
  });

  it('drops the dummy-prefix space only right after BOS, and skips BOS/EOS', () => {
    const space = tok512.encode('x')[1]; // the first token after BOS starts with the dummy-prefix space
    expect(tok512.pieceText(space).startsWith(' ')).toBe(true);
    expect(new TextDecoder().decode(tok512.decodeBytes(1, space))).toBe(tok512.pieceText(space).slice(1));
    expect(new TextDecoder().decode(tok512.decodeBytes(5, space))).toBe(tok512.pieceText(space));
    expect(tok512.decode([1, ...tok512.encode('Hi', { bos: false }), 2, 1, ...tok512.encode('there', { bos: false })])).toBe('Hithere');
    expect(tok512.decode(tok512.encode(' lead', { bos: false }))).toBe(' lead');
  });

  it('round-trips random Unicode, also when streamed token by token', () => {
    const random = prng(7);
    for (const tok of tokenizers) {
      const texts = ['', ' ', '\ufeffBOM first', 'Max’s ball was blue', '日本語のテキスト 🦙🦙', 'e\u0301\u0000\n'];
      for (let i = 0; i < 40; i++) texts.push(randomText(random, 1 + Math.floor(random() * 200)));
      for (const text of texts) {
        const ids = tok.encode(text);
        expect(tok.decode(ids), `${tok.name}: ${JSON.stringify(text)}`).toBe(text);

        const stream = new Utf8StreamDecoder();
        let streamed = '';
        for (let i = 1; i < ids.length; i++) {
          const chunk = stream.push(tok.decodeBytes(ids[i - 1], ids[i]));
          expect(chunk.includes('\ufffd'), `${tok.name}: broken character at token ${i}`).toBe(false);
          streamed += chunk;
          expect(text.startsWith(streamed)).toBe(true);
        }
        expect(streamed + stream.flush()).toBe(text);
      }
    }
  });
});

describe('Utf8StreamDecoder', () => {
  it('holds back a character until its last byte arrives', () => {
    const d = new Utf8StreamDecoder();
    const llamaEmoji = new TextEncoder().encode('a🦙b');
    const out = Array.from(llamaEmoji, (b) => d.push(Uint8Array.of(b)));
    expect(out).toEqual(['a', '', '', '', '🦙', 'b']);
    expect(d.flush()).toBe('');
  });

  it('turns leftovers that never complete into U+FFFD on flush, then starts afresh', () => {
    const d = new Utf8StreamDecoder();
    expect(d.push(Uint8Array.of(0x41, 0xe2, 0x82))).toBe('A');
    expect(d.flush()).toBe('\ufffd');
    expect(d.push(Uint8Array.of(0xe2, 0x82, 0xac))).toBe('€');
    expect(d.push(Uint8Array.of(0xff))).toBe('\ufffd');
  });
});
