/** Writing a trained vocabulary as a llama2.c tokenizer file and as a SentencePiece-like `.vocab` listing. */
import type { TrainedVocab } from './train-bpe.ts';

/**
 * The llama2.c tokenizer file (shared/reference/README.md, "Tokenizer file"): int32
 * max_token_length, then per id float32 score, int32 byte length and the UTF-8 bytes.
 */
export function toLlama2cBytes(vocab: TrainedVocab): Uint8Array {
  const encoder = new TextEncoder();
  const pieces = vocab.pieces.map((p) => encoder.encode(p));
  const out = new Uint8Array(4 + pieces.reduce((n, p) => n + 8 + p.length, 0));
  const view = new DataView(out.buffer);
  view.setInt32(0, Math.max(...pieces.map((p) => p.length)), true);
  let at = 4;
  pieces.forEach((piece, id) => {
    view.setFloat32(at, vocab.scores[id], true);
    view.setInt32(at + 4, piece.length, true);
    out.set(piece, at + 8);
    at += 8 + piece.length;
  });
  return out;
}

const SHOWN_AS = new Map([
  ['\n<s>\n', '<s>'],
  ['\n</s>\n', '</s>'],
]);

/**
 * One `piece<TAB>score` line per id, as SentencePiece's `.vocab` shows it: ▁ for a space,
 * `<s>` and `</s>` for BOS and EOS; line breaks and tabs escaped so each piece stays on its line.
 */
export function toVocabText(vocab: TrainedVocab): string {
  const shown = (piece: string) =>
    SHOWN_AS.get(piece) ?? piece.replaceAll(' ', '▁').replaceAll('\n', '\\n').replaceAll('\r', '\\r').replaceAll('\t', '\\t');
  return vocab.pieces.map((piece, id) => `${shown(piece)}\t${vocab.scores[id]}\n`).join('');
}
