/**
 * The SentencePiece vocabulary a Llama GGUF carries (tokenizer.ggml.*), to and from our
 * Tokenizer. Pieces are mapped the way llama2.c's tokenizer.py exports the same SentencePiece
 * model to tokenizer.bin: ▁ becomes a space, BOS and EOS become "\n<s>\n" and "\n</s>\n"; so a
 * GGUF's vocabulary and the tokenizer.bin of the same model give identical tokenizers.
 * Token types (SentencePiece's: normal, unknown, control, user-defined, unused, byte) are not
 * stored in tokenizer.bin; run.c's encoder does not need them, but user-defined pieces would be
 * matched whole by SentencePiece and are refused rather than tokenized differently.
 */
import { EngineError, mismatch } from '../errors.ts';
import { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { MetadataReader } from './llama-config.ts';
import type { MetadataValue } from './read-header.ts';

export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;
const UNK_ID = 0;
const BOS_ID = 1;
const EOS_ID = 2;
/** <0x00>..<0xFF> sit at ids 3..258 in every llama2.c vocabulary (Tokenizer checks the pieces). */
const BYTE_IDS = { first: 3, last: 258 };
const SPACE = ' ';
const SP_SPACE = '\u2581';

export function tokenizerFromGguf(m: MetadataReader, file: string): Tokenizer {
  const model = m.string('tokenizer.ggml.model');
  if (model !== 'llama') throw new EngineError('gguf-unsupported', `${file}: tokenizer model "${model}" is not supported: only SentencePiece vocabularies ("llama")`);
  const tokens = m.array('tokenizer.ggml.tokens');
  const scores = m.array('tokenizer.ggml.scores');
  const types = m.has('tokenizer.ggml.token_type') ? m.array('tokenizer.ggml.token_type') : undefined;
  for (const [key, expected] of [['bos', BOS_ID], ['eos', EOS_ID]] as const) {
    const id = m.uint(`tokenizer.ggml.${key}_token_id`, expected);
    if (id !== expected) throw mismatch('gguf-unsupported', file, `tokenizer.ggml.${key}_token_id`, expected, id);
  }
  if (m.has('tokenizer.ggml.add_space_prefix') && m.metadata['tokenizer.ggml.add_space_prefix'] === false)
    throw new EngineError('gguf-unsupported', `${file}: a vocabulary without the leading-space prefix (tokenizer.ggml.add_space_prefix false) is not supported`);
  if (scores.length !== tokens.length) throw mismatch('gguf-format', file, 'tokenizer.ggml.scores length', tokens.length, scores.length);
  if (types && types.length !== tokens.length) throw mismatch('gguf-format', file, 'tokenizer.ggml.token_type length', tokens.length, types.length);

  const encoder = new TextEncoder();
  const pieces = tokens.map((t: MetadataValue, id) => {
    if (typeof t !== 'string') throw mismatch('gguf-format', file, `token ${id}`, 'a string', typeof t);
    const type = types?.[id];
    const isByteId = id >= BYTE_IDS.first && id <= BYTE_IDS.last;
    if (type === TOKEN_TYPE.userDefined) throw new EngineError('gguf-unsupported', `${file}: user-defined token ${id} ${JSON.stringify(t)} is not supported`);
    if (type !== undefined && (type === TOKEN_TYPE.byte) !== isByteId)
      throw mismatch('gguf-unsupported', file, `token ${id} ${JSON.stringify(t)} type`, isByteId ? 'byte (6)' : 'not byte', String(type));
    return encoder.encode(id === BOS_ID || id === EOS_ID ? `\n${t}\n` : t.replaceAll(SP_SPACE, SPACE));
  });
  const scoreArray = Float32Array.from(scores, (s, id) => {
    if (typeof s !== 'number') throw mismatch('gguf-format', file, `score of token ${id}`, 'a number', typeof s);
    return s;
  });
  return Tokenizer.fromPieces(pieces, scoreArray, file);
}

/** The tokenizer.ggml.* arrays for a Tokenizer (the inverse of tokenizerFromGguf). */
export function ggufVocabulary(tok: Tokenizer): { tokens: string[]; scores: number[]; types: number[] } {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  for (let id = 0; id < tok.vocabSize; id++) {
    let text: string;
    try {
      text = decoder.decode(tok.piece(id));
    } catch {
      throw mismatch('tokenizer-format', tok.name, `piece ${id}`, 'valid UTF-8 (GGUF stores pieces as strings)', 'other bytes');
    }
    if (text.includes(SP_SPACE)) throw mismatch('tokenizer-format', tok.name, `piece ${id} ${JSON.stringify(text)}`, 'no ▁ (it stands for a space in GGUF)', 'a ▁');
    const special = id === BOS_ID || id === EOS_ID;
    tokens.push(special ? text.replace(/^\n(.*)\n$/s, '$1') : text.replaceAll(SPACE, SP_SPACE));
    scores.push(tok.score(id));
    types.push(
      id === UNK_ID ? TOKEN_TYPE.unknown
      : special ? TOKEN_TYPE.control
      : id >= BYTE_IDS.first && id <= BYTE_IDS.last ? TOKEN_TYPE.byte
      : TOKEN_TYPE.normal,
    );
  }
  return { tokens, scores, types };
}
