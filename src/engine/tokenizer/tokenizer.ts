/**
 * The llama2.c tokenizer (`tokenizer.bin` / `tok512.bin`), token-for-token like run.c.
 * Format and algorithm: shared/reference/README.md, "Tokenizer file".
 */
import { EngineError, mismatch } from '../errors.ts';
import { readAllBytes, type ByteSource, type ReadOptions } from '../io/byte-source.ts';
import { BOS_ID, EOS_ID } from './special-ids.ts';
import { Utf8StreamDecoder } from './utf8-stream.ts';

/** Ids 3..258 are the byte-fallback pieces <0x00>..<0xFF>: byte b encodes as id b + 3. */
const BYTE_PIECE_BASE = 3;
/** run.c starts its best-merge search at this score, so a merge scoring at or below it never happens. */
const NO_MERGE_SCORE = Math.fround(-1e10);
/** A piece header: float32 score, int32 byte length. */
const PIECE_HEADER_BYTES = 8;

export interface EncodeOptions {
  /** Start with BOS (id 1). Default true, as for every prompt in run.c. */
  bos?: boolean;
  /** End with EOS (id 2). Default false. */
  eos?: boolean;
}

interface Vocab {
  maxTokenLength: number;
  pieces: Uint8Array[];
  scores: Float32Array;
}

/** Bytes as a string with one char per byte: an exact, cheap Map key for a piece. */
function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

const bytePieceText = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

/** What run.c prints for a piece: `<0xNN>` is the single raw byte NN, anything else itself. */
function printedForm(piece: Uint8Array): Uint8Array {
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(latin1(piece));
  return m ? Uint8Array.of(parseInt(m[1], 16)) : piece;
}

function parseVocab(bytes: Uint8Array, file: string, vocabSize: number | undefined): Vocab {
  const format = (what: string, expected: string | number, actual: string | number) =>
    mismatch('tokenizer-format', file, what, expected, actual);
  const end = bytes.byteLength;
  if (end < 4) throw format('header (int32 max_token_length)', '4 bytes', `${end} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, end);
  const maxTokenLength = view.getInt32(0, true);
  // No piece can be longer than the file; a bigger value means this is not a tokenizer file.
  if (maxTokenLength < 1 || maxTokenLength > end) {
    throw format('max_token_length', `1..${end} (the file size)`, maxTokenLength);
  }

  /** The piece at byte `at`, or the fault that stops it being one. */
  const pieceAt = (at: number, id: number) => {
    const left = end - at;
    if (left < PIECE_HEADER_BYTES) {
      return format(`piece ${id} header (truncated file?)`, `${PIECE_HEADER_BYTES} bytes`, `${left}`);
    }
    const score = view.getFloat32(at, true);
    const length = view.getInt32(at + 4, true);
    if (!Number.isFinite(score)) return format(`piece ${id} score`, 'a finite float32', score);
    if (length < 1 || length > maxTokenLength) {
      return format(`piece ${id} byte length`, `1..${maxTokenLength} (max_token_length)`, length);
    }
    const start = at + PIECE_HEADER_BYTES;
    if (length > end - start) {
      return format(`piece ${id} bytes (truncated file?)`, length, end - start);
    }
    return { score, piece: bytes.slice(start, start + length), next: start + length };
  };

  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let at = 4;
  while (at < end && (vocabSize === undefined || pieces.length < vocabSize)) {
    // Without a known count, a tail too short for a piece header can only be junk after the last piece.
    if (vocabSize === undefined && end - at < PIECE_HEADER_BYTES) {
      throw format(`trailing bytes after piece ${pieces.length - 1}`, 0, end - at);
    }
    const p = pieceAt(at, pieces.length);
    if (p instanceof EngineError) throw p;
    pieces.push(p.piece);
    scores.push(p.score);
    at = p.next;
  }

  if (vocabSize !== undefined) {
    const vocabMismatch = (found: number) =>
      mismatch('tokenizer-mismatch', file, 'vocab size (pieces)', vocabSize, found);
    if (pieces.length < vocabSize) throw vocabMismatch(pieces.length);
    if (at < end) {
      // More whole pieces means a different vocabulary; anything else is junk after the last piece.
      for (let pos = at, found = vocabSize; ; ) {
        const p = pieceAt(pos, found);
        if (p instanceof EngineError) break;
        found++;
        pos = p.next;
        if (pos === end) throw vocabMismatch(found);
      }
      throw format(`trailing bytes after piece ${vocabSize - 1}`, 0, end - at);
    }
  }

  return { maxTokenLength, pieces, scores: Float32Array.from(scores) };
}

/** Ids 3..258 must be the byte-fallback pieces <0x00>..<0xFF>, which encode relies on. */
function checkBytePieces(pieces: Uint8Array[], file: string): void {
  for (let b = 0; b < 256; b++) {
    const id = BYTE_PIECE_BASE + b;
    const want = bytePieceText(b);
    const fault = (what: string, expected: string, actual: string) => mismatch('tokenizer-format', file, what, expected, actual);
    if (id >= pieces.length) throw fault(`byte-fallback piece ${want} at id ${id}`, 'present', `only ${pieces.length} pieces`);
    const got = latin1(pieces[id]);
    if (got !== want) throw fault(`byte-fallback piece at id ${id}`, JSON.stringify(want), JSON.stringify(got));
  }
}

/** Queue order: higher score first, then the smaller item (the leftmost pair), as run.c's scan picks. */
const ahead = (scoreA: number, itemA: number, scoreB: number, itemB: number): boolean =>
  scoreA > scoreB || (scoreA === scoreB && itemA < itemB);

/**
 * Binary heap of candidate merges. Parallel typed arrays instead of objects: a 1 MB text queues
 * millions of candidates, and objects would spend most of the time allocating and collecting.
 */
class MergeQueue {
  private scores = new Float64Array(1024);
  private items = new Float64Array(1024);
  private size = 0;

  push(score: number, item: number): void {
    if (this.size === this.scores.length) {
      const scores = new Float64Array(2 * this.size);
      const items = new Float64Array(2 * this.size);
      scores.set(this.scores);
      items.set(this.items);
      this.scores = scores;
      this.items = items;
    }
    const { scores, items } = this;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!ahead(score, item, scores[parent], items[parent])) break;
      scores[i] = scores[parent];
      items[i] = items[parent];
      i = parent;
    }
    scores[i] = score;
    items[i] = item;
  }

  /** Removes and returns the best item, or -1 when empty. */
  pop(): number {
    if (this.size === 0) return -1;
    const { scores, items } = this;
    const top = items[0];
    const n = --this.size;
    const score = scores[n];
    const item = items[n];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && ahead(scores[child + 1], items[child + 1], scores[child], items[child])) child++;
      if (!ahead(scores[child], items[child], score, item)) break;
      scores[i] = scores[child];
      items[i] = items[child];
      i = child;
    }
    scores[i] = score;
    items[i] = item;
    return top;
  }
}

export class Tokenizer {
  readonly bosId = BOS_ID;
  readonly eosId = EOS_ID;
  readonly vocabSize: number;
  readonly maxTokenLength: number;
  private readonly pieces: Uint8Array[];
  private readonly scores: Float32Array;
  /** The id of each piece, by its latin1 key (see latin1). */
  private readonly idOfKey = new Map<string, number>();
  /** Every possible merge: left id * vocabSize + right id -> id of the concatenated piece. */
  private readonly mergeOf = new Map<number, number>();
  /** What decodeBytes returns, after an ordinary token and right after BOS. */
  private readonly printed: Uint8Array[];
  private readonly printedAfterBos: Uint8Array[];
  /** The piece " " that run.c prepends to non-empty text. */
  private readonly dummyPrefixId: number;

  private constructor(
    /** The file name, for messages. */
    readonly name: string,
    vocab: Vocab,
  ) {
    checkBytePieces(vocab.pieces, name);
    this.vocabSize = vocab.pieces.length;
    this.maxTokenLength = vocab.maxTokenLength;
    this.pieces = vocab.pieces;
    this.scores = vocab.scores;
    const keys = vocab.pieces.map(latin1);
    keys.forEach((key, id) => {
      const other = this.idOfKey.get(key);
      // run.c's binary search would pick either of two equal pieces; refuse the ambiguity.
      if (other !== undefined) {
        throw mismatch('tokenizer-format', name, `piece ${id} ${JSON.stringify(this.pieceText(id))}`, 'unique', `duplicate of piece ${other}`);
      }
      this.idOfKey.set(key, id);
    });
    const space = this.idOfKey.get(' ');
    if (space === undefined) throw mismatch('tokenizer-format', name, 'dummy-prefix piece " "', 'present', 'missing');
    this.dummyPrefixId = space;
    // A pair merges iff its concatenation is a piece, so splitting every piece at every point
    // finds all merges up front; merging then needs no string building at all.
    keys.forEach((key, merged) => {
      for (let cut = 1; cut < key.length; cut++) {
        const a = this.idOfKey.get(key.slice(0, cut));
        const b = this.idOfKey.get(key.slice(cut));
        if (a !== undefined && b !== undefined) this.mergeOf.set(a * this.vocabSize + b, merged);
      }
    });
    this.printed = vocab.pieces.map(printedForm);
    this.printedAfterBos = vocab.pieces.map((p, id) => (p[0] === 0x20 ? printedForm(p.subarray(1)) : this.printed[id]));
  }

  /**
   * Parses a llama2.c tokenizer file. The file does not store its vocabulary size, so pieces are
   * read to the end; pass `vocabSize` (the model's) to require exactly that many.
   */
  static fromBytes(bytes: Uint8Array, name: string, vocabSize?: number): Tokenizer {
    return new Tokenizer(name, parseVocab(bytes, name, vocabSize));
  }

  /**
   * A tokenizer from pieces and scores held elsewhere (a GGUF file's tokenizer arrays), in the
   * form tokenizer.bin stores them: a space for SentencePiece's ▁, BOS and EOS as "\n<s>\n" and
   * "\n</s>\n". max_token_length is the longest piece, as llama2.c's tokenizer.py writes it.
   */
  static fromPieces(pieces: Uint8Array[], scores: Float32Array, name: string): Tokenizer {
    if (scores.length !== pieces.length) throw mismatch('tokenizer-format', name, 'scores', `one per piece (${pieces.length})`, scores.length);
    pieces.forEach((p, id) => {
      if (p.length === 0) throw mismatch('tokenizer-format', name, `piece ${id} byte length`, 'at least 1', 0);
    });
    const maxTokenLength = pieces.reduce((m, p) => Math.max(m, p.length), 0);
    return new Tokenizer(name, { maxTokenLength, pieces, scores });
  }

  static async load(source: ByteSource, opts: ReadOptions & { vocabSize?: number }): Promise<Tokenizer> {
    return Tokenizer.fromBytes(await readAllBytes(source, opts), opts.name, opts.vocabSize);
  }

  /** The piece's bytes as stored (a space where SentencePiece shows ▁). */
  piece(id: number): Uint8Array {
    return this.pieces[this.checkId(id)].slice();
  }

  /** The piece as text for display: byte pieces show as `<0xNN>`, BOS as `\n<s>\n`. */
  pieceText(id: number): string {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(this.pieces[this.checkId(id)]);
  }

  score(id: number): number {
    return this.scores[this.checkId(id)];
  }

  /** run.c's encode: dummy prefix, one token per code point (bytes as fallback), then greedy merges. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const { bos = true, eos = false } = opts;
    const tokens: number[] = [];
    if (bos) tokens.push(BOS_ID);
    if (text.length > 0) tokens.push(this.dummyPrefixId);
    const bytes = new TextEncoder().encode(text);
    for (let start = 0; start < bytes.length; ) {
      // A lead byte plus at most 3 continuation bytes, as run.c groups them.
      let end = start + 1;
      while (end < bytes.length && end - start < 4 && (bytes[end] & 0xc0) === 0x80) end++;
      const id = this.idOfKey.get(latin1(bytes.subarray(start, end)));
      if (id !== undefined) tokens.push(id);
      else for (let i = start; i < end; i++) tokens.push(bytes[i] + BYTE_PIECE_BASE);
      start = end;
    }
    const merged = this.merge(tokens);
    if (eos) merged.push(EOS_ID);
    return merged;
  }

  /**
   * The same merges as run.c's loop (rescan all pairs, merge the best, repeat) in O(n log n):
   * the tokens form a linked list and candidate merges wait in a heap as (score, position *
   * vocabSize + merged id). A candidate is stale once the pair at its position no longer makes
   * that id; it is skipped when popped.
   */
  private merge(tokens: number[]): number[] {
    const n = tokens.length;
    if (n === 0) return [];
    const vocabSize = this.vocabSize;
    const id = Int32Array.from(tokens);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const dead = new Uint8Array(n);
    const mergeAt = (left: number) => {
      const right = next[left];
      return right < 0 ? undefined : this.mergeOf.get(id[left] * vocabSize + id[right]);
    };
    const queue = new MergeQueue();
    const offer = (left: number) => {
      const merged = left < 0 ? undefined : mergeAt(left);
      if (merged !== undefined && this.scores[merged] > NO_MERGE_SCORE) {
        queue.push(this.scores[merged], left * vocabSize + merged);
      }
    };
    for (let i = 0; i < n - 1; i++) offer(i);

    for (let item = queue.pop(); item >= 0; item = queue.pop()) {
      const left = Math.floor(item / vocabSize);
      const merged = item - left * vocabSize;
      if (dead[left] || mergeAt(left) !== merged) continue;
      const right = next[left];
      id[left] = merged;
      dead[right] = 1;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      offer(prev[left]);
      offer(left);
    }

    // Position 0 is never the right half of a merge, so it heads the list to the end.
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(id[i]);
    return out;
  }

  /**
   * The bytes run.c prints for `id` following `prev`: after BOS one leading space (the dummy
   * prefix) is dropped; a byte piece is its raw byte. A shared view: do not modify it.
   */
  decodeBytes(prev: number, id: number): Uint8Array {
    this.checkId(id);
    return prev === BOS_ID ? this.printedAfterBos[id] : this.printed[id];
  }

  /**
   * A whole sequence as text. Its start counts as following BOS (as encode's output does, with or
   * without the BOS token), and BOS/EOS print nothing.
   */
  decode(ids: readonly number[]): string {
    const utf8 = new Utf8StreamDecoder();
    let text = '';
    let prev = BOS_ID;
    for (const id of ids) {
      if (id !== BOS_ID && id !== EOS_ID) text += utf8.push(this.decodeBytes(prev, id));
      prev = id;
    }
    return text + utf8.flush();
  }

  private checkId(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw mismatch('bad-argument', this.name, 'token id', `0..${this.vocabSize - 1}`, id);
    }
    return id;
  }
}
