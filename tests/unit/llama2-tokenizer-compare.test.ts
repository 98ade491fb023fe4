/**
 * The 32,000-piece Llama 2 tokenizer through our tokenizer (llama2.c's tokenizer.bin, run.c's
 * encode) against an independent implementation: llama-tokenizer-js, which embeds Meta's
 * vocabulary with the merge list of the Hugging Face conversion and merges in SentencePiece BPE
 * order. Compared like with like: neither adds BOS here (BOS is checked on its own), both add
 * SentencePiece's dummy-prefix space, as Meta's reference encoder does.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import llamaTokenizer from 'llama-tokenizer-js';
import { Tokenizer } from '../../src/engine/tokenizer/tokenizer.ts';
import { sharedBytes, sharedPath, VALID_STORIES } from '../support/shared.ts';

interface CorpusCase {
  label: string;
  text: string;
}

const ours = Tokenizer.fromBytes(sharedBytes('models/llama2-tokenizer/tokenizer.bin'), 'tokenizer.bin', 32000);
const written: CorpusCase[] = JSON.parse(readFileSync(new URL('../fixtures/tokenizer-corpus.json', import.meta.url), 'utf8')).cases;
/** English prose: the first 150 TinyStories validation stories, whole (paragraphs and all). */
const stories: CorpusCase[] = readFileSync(sharedPath(VALID_STORIES), 'utf8')
  .split('<|endoftext|>')
  .slice(0, 150)
  .map((story, i) => ({ label: `TinyStories ${i}`, text: story.trim() }));
const corpus = [...written, ...stories];

const theirs = (text: string) => llamaTokenizer.encode(text, false, true);
const oursNoBos = (text: string) => ours.encode(text, { bos: false });

/** The byte-fallback ids of a string's UTF-8 bytes (byte b is id b + 3). */
const byteIds = (s: string) => Array.from(new TextEncoder().encode(s), (b) => b + 3);
/** The text as UTF-8 can carry it: a lone surrogate becomes U+FFFD, as in every UTF-8 encoder. */
const wellFormed = (s: string) => new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(s));
const SPACE_MARK = '\u2581';
const REPLACEMENT_ID = ours.encode('\ufffd', { bos: false })[1];

/**
 * The inputs on which the two disagree, and why. Anything else that differs fails the test, and
 * so does either of these agreeing.
 */
const explained: Record<string, (text: string, ourIds: number[], theirIds: number[]) => void> = {
  // SentencePiece writes a space as U+2581 "▁" before tokenizing, so a literal ▁ in the text is
  // read as a space (llama-tokenizer-js does the same). llama2.c's export stores pieces with real
  // spaces, so to run.c (and to us) a literal ▁ is an ordinary character with no piece: its three
  // UTF-8 bytes fall back to byte tokens. Kept for run.c parity.
  'SentencePiece space mark': (text, ourIds, theirIds) => {
    expect(theirIds).toEqual(oursNoBos(text.replaceAll(SPACE_MARK, ' ')));
    const marks = text.split(SPACE_MARK).length - 1;
    const markBytes = byteIds(SPACE_MARK).join(',');
    expect(ourIds.join(',').split(markBytes).length - 1).toBe(marks);
  },
  // Ill-formed UTF-16 (a lone surrogate) has no UTF-8 form; the encoder substitutes U+FFFD, which
  // is a piece. llama-tokenizer-js looks the lone surrogate itself up as a character, finds no
  // piece, and byte-falls-back to the bytes of U+FFFD instead.
  'lone surrogate': (text, ourIds, theirIds) => {
    expect(ourIds).toEqual(oursNoBos(wellFormed(text)));
    expect(ourIds).toContain(REPLACEMENT_ID);
    expect(theirIds).toEqual(ourIds.flatMap((id) => (id === REPLACEMENT_ID ? byteIds('\ufffd') : [id])));
  },
};

describe('Llama 2 tokenizer (32,000 pieces): ours vs llama-tokenizer-js', () => {
  it('reads the same vocabulary (llama2.c stores ▁ as a space and wraps BOS/EOS in newlines)', () => {
    expect(ours.vocabSize).toBe(llamaTokenizer.vocabById.length);
    const stored = (id: number) => ours.pieceText(id).replaceAll(' ', SPACE_MARK);
    const differing = llamaTokenizer.vocabById.flatMap((piece, id) => (stored(id) === piece ? [] : [[id, stored(id), piece]]));
    expect(differing).toEqual([
      [1, '\n<s>\n', '<s>'],
      [2, '\n</s>\n', '</s>'],
    ]);
  });

  it(`encodes ${corpus.length} texts to the same ids, except the explained inputs`, () => {
    const differing: string[] = [];
    for (const { label, text } of corpus) {
      const ourIds = oursNoBos(text);
      const theirIds = theirs(text);
      if (label in explained) explained[label](text, ourIds, theirIds);
      if (ourIds.join() !== theirIds.join()) differing.push(label);
    }
    expect(differing.sort()).toEqual(Object.keys(explained).sort());
  });

  it('adds BOS the same way, except for the empty string', () => {
    for (const { text } of corpus.filter((c) => c.text !== '')) {
      expect(ours.encode(text)).toEqual([ours.bosId, ...oursNoBos(text)]);
      expect(llamaTokenizer.encode(text, true, true)).toEqual([ours.bosId, ...theirs(text)]);
    }
    // Meta's reference encodes "" to [] and then prepends BOS, as we do; llama-tokenizer-js
    // returns [] for empty text whatever it is asked.
    expect(ours.encode('')).toEqual([ours.bosId]);
    expect(llamaTokenizer.encode('', true, true)).toEqual([]);
  });

  it('decodes back to the text (lossless for us; llama-tokenizer-js reads ▁ as a space)', () => {
    for (const { label, text } of corpus) {
      expect(ours.decode(ours.encode(text)), label).toBe(wellFormed(text));
      expect(llamaTokenizer.decode(theirs(text), false, true), label).toBe(wellFormed(text).replaceAll(SPACE_MARK, ' '));
      // The same ids through both decoders give the same text.
      expect(ours.decode(theirs(text)), label).toBe(llamaTokenizer.decode(theirs(text), false, true));
    }
  });
});
