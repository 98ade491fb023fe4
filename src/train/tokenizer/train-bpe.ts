import { EngineError } from '../../engine/errors.ts';
/**
 * SentencePiece-style BPE training with byte fallback, producing a vocabulary laid out as
 * llama2.c exports SentencePiece models (shared/reference/README.md, "Tokenizer file"):
 * <unk>, BOS, EOS, the 256 byte pieces, the merges in the order learned, then the single
 * characters. Ids run in descending score, as in SentencePiece and tok512.
 */
import { PairHeap } from './pair-heap.ts';
import { countWords } from './words.ts';

export interface TrainedVocab {
  /** Each id's piece as llama2.c stores it: a plain space for ▁, `<0xNN>` for byte pieces. */
  pieces: string[];
  /** run.c merges the highest-scoring pair first: merge i scores -i, characters score below all merges. */
  scores: number[];
  /** How many pieces are merges (from id FIRST_LEARNED_ID) and single characters (after the merges). */
  merges: number;
  characters: number;
}

export interface TrainOptions {
  vocabSize: number;
  /**
   * The share of the text's characters that get a single-character piece, the most frequent
   * first (SentencePiece's character_coverage). Rarer characters are encoded as bytes and cut
   * words in training. Default 0.9995, SentencePiece's default.
   */
  characterCoverage?: number;
  onProgress?: (merges: number, total: number) => void;
}

export const SPECIAL_PIECES = ['<unk>', '\n<s>\n', '\n</s>\n'] as const;
/** The byte piece of byte b (id b + 3), spelled as llama2.c's export stores it. */
export const bytePiece = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
export const FIRST_LEARNED_ID = SPECIAL_PIECES.length + 256;

/** Pair keys are left * KEY_BASE + right: exact in a double for symbol ids below 2^20. */
const KEY_BASE = 2 ** 20;

export function trainBpe(texts: string[], opts: TrainOptions): TrainedVocab {
  const { vocabSize, characterCoverage = 0.9995, onProgress } = opts;
  if (!Number.isInteger(vocabSize) || vocabSize > KEY_BASE) throw new EngineError('bad-argument', `vocabSize must be an integer up to ${KEY_BASE}, got ${vocabSize}`);
  const words = countWords(texts);
  const characters = coveredCharacters(words, characterCoverage);
  const wanted = vocabSize - FIRST_LEARNED_ID - characters.length;
  if (wanted < 0) {
    throw new EngineError('bad-argument', `vocabSize ${vocabSize} is too small: ${FIRST_LEARNED_ID} fixed pieces and ${characters.length} characters`);
  }
  const merges = learnMerges(words, characters, wanted, onProgress);
  const learned = [...merges, ...characters];
  return {
    pieces: [...SPECIAL_PIECES, ...Array.from({ length: 256 }, (_, b) => bytePiece(b)), ...learned],
    scores: [...new Array<number>(FIRST_LEARNED_ID).fill(0), ...learned.map((_, i) => -i)],
    merges: merges.length,
    characters: characters.length,
  };
}

/**
 * The most frequent characters (ties: the smaller code point) until they cover `coverage` of all
 * characters, as SentencePiece picks them. " " is always kept: run.c needs it for the dummy prefix.
 */
function coveredCharacters(words: Map<string, number>, coverage: number): string[] {
  const counts = new Map<string, number>([[' ', 0]]);
  let total = 0;
  for (const [word, n] of words) {
    for (const c of word) {
      counts.set(c, (counts.get(c) ?? 0) + n);
      total += n;
    }
  }
  const byFrequency = [...counts].sort((a, b) => b[1] - a[1] || a[0].codePointAt(0)! - b[0].codePointAt(0)!);
  const kept: string[] = [];
  let covered = 0;
  for (const [c, n] of byFrequency) {
    if (covered >= coverage * total && c !== ' ') continue;
    kept.push(c);
    covered += n;
  }
  return kept;
}

interface PairStats {
  /** Occurrences, weighted by word frequency. */
  count: number;
  /** Words that contain the pair, plus some that no longer do (skipped when merging). */
  words: Set<number>;
}

/**
 * Learns `wanted` merges, most frequent pair first. Words are counted once; each merge rewrites
 * only the words holding its pair (found through the pair's word index) and updates the counts
 * of the pairs in those words, re-queueing the ones that changed.
 */
function learnMerges(
  wordCounts: Map<string, number>,
  characters: string[],
  wanted: number,
  onProgress: TrainOptions['onProgress'],
): string[] {
  const pieceOf = [...characters]; // symbol id -> text; merges get ids after the characters
  const idOf = new Map(characters.map((c, id) => [c, id]));

  // Words as symbol sequences. A character without a piece cuts its word: no piece can hold it.
  // Parts of one symbol have no pairs and are left out.
  const seqs: number[][] = [];
  const freqs: number[] = [];
  for (const [word, n] of wordCounts) {
    let seq: number[] = [];
    const endPart = () => {
      if (seq.length > 1) {
        seqs.push(seq);
        freqs.push(n);
      }
      seq = [];
    };
    for (const c of word) {
      const id = idOf.get(c);
      if (id === undefined) endPart();
      else seq.push(id);
    }
    endPart();
  }

  const pairs = new Map<number, PairStats>();
  const touched = new Set<number>();
  const countPairs = (w: number, sign: 1 | -1) => {
    const seq = seqs[w];
    for (let i = 0; i + 1 < seq.length; i++) {
      const key = seq[i] * KEY_BASE + seq[i + 1];
      let stats = pairs.get(key);
      if (!stats) pairs.set(key, (stats = { count: 0, words: new Set() }));
      stats.count += sign * freqs[w];
      if (sign > 0) stats.words.add(w);
      else if (stats.count === 0) pairs.delete(key); // no word holds it any more
      touched.add(key);
    }
  };
  seqs.forEach((_, w) => countPairs(w, 1));

  const heap = new PairHeap();
  const requeueTouched = () => {
    for (const key of touched) {
      const stats = pairs.get(key);
      if (stats) heap.push(stats.count, key);
    }
    touched.clear();
  };
  requeueTouched();

  // Pairs whose text is already a piece, made from other parts ("a"+"bc" after "ab"+"c"): like
  // SentencePiece, never merged, since that would add a duplicate piece.
  const duplicates = new Set<number>();
  const merges: string[] = [];
  while (merges.length < wanted) {
    if (heap.size === 0) {
      throw new EngineError('bad-argument', `the texts allow only ${merges.length} merges, ${wanted} wanted: lower vocabSize or add text`);
    }
    const count = heap.topCount();
    const key = heap.pop();
    const best = pairs.get(key);
    if (best === undefined || best.count !== count || duplicates.has(key)) continue; // stale entry
    const left = Math.floor(key / KEY_BASE);
    const right = key - left * KEY_BASE;
    const piece = pieceOf[left] + pieceOf[right];
    if (idOf.has(piece)) {
      duplicates.add(key);
      continue;
    }
    const merged = pieceOf.length;
    pieceOf.push(piece);
    idOf.set(piece, merged);
    merges.push(piece);
    for (const w of best.words) {
      const seq = mergePair(seqs[w], left, right, merged);
      if (seq === seqs[w]) continue;
      countPairs(w, -1);
      seqs[w] = seq;
      countPairs(w, 1);
    }
    requeueTouched();
    onProgress?.(merges.length, wanted);
  }
  return merges;
}

/** `seq` with each (left, right), scanning left to right, replaced by `merged`; `seq` itself if none. */
function mergePair(seq: number[], left: number, right: number, merged: number): number[] {
  let out: number[] | undefined;
  for (let i = 0; i < seq.length; i++) {
    if (seq[i] === left && seq[i + 1] === right) {
      out ??= seq.slice(0, i);
      out.push(merged);
      i++;
    } else {
      out?.push(seq[i]);
    }
  }
  return out ?? seq;
}
